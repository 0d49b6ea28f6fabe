"""Settings › Users and roles: administrators add users, set their role, disable and enable them
and reset their passwords; every change is audited without a password; some active
administrator always remains; viewers and operators are refused."""
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from core.models import AuditEntry
from core.roles import ADMINISTRATOR, OPERATOR, VIEWER, has_role
from tests.conftest import PASSWORD
from tests.fabric.test_audit import ADDRESS, assert_one_row, post_and_count
from users.roles import role_of

User = get_user_model()
NEW_PASSWORD = "ferry-river-crossing-42"


@pytest.fixture
def admin(administrator):
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(administrator)
    return client


def edit(client, user, role, active=True, **extra):
    data = {"role": role, "first_name": user.first_name, "last_name": user.last_name, **extra}
    if active:
        data["is_active"] = "on"
    return post_and_count(client, reverse("users:user_edit", args=[user.pk]), data)


def rows_of(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr[^>]*data-user="([^"]+)"[^>]*>(.*?)</tr>', page, re.S))


def signs_in(username, password) -> bool:
    response = Client().post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


def test_the_list_shows_every_user_with_role_and_state(admin, make_user):
    make_user("vera", VIEWER)
    otto = make_user("otto", OPERATOR)
    otto.is_active = False
    otto.save()
    User.objects.create_superuser("root", password=PASSWORD)
    page = admin.get(reverse("users:user_list")).content.decode()
    rows = rows_of(page)
    assert "Viewer" in rows["vera"] and "active" in rows["vera"]
    assert "Operator" in rows["otto"] and "disabled" in rows["otto"]
    assert "Administrator (superuser)" in rows["root"]
    assert "Administrator" in rows["ada"]
    assert f'href="{reverse("users:user_add")}"' in page
    filtered = admin.get(reverse("users:user_list"), {"role": OPERATOR}).content.decode()
    assert set(rows_of(filtered)) == {"otto"}
    assert set(rows_of(admin.get(reverse("users:user_list"), {"role": ADMINISTRATOR}).content.decode())) == {
        "ada", "root"}


def test_add_a_user_with_a_role_and_an_initial_password(admin):
    response, rows = post_and_count(admin, reverse("users:user_add"), {
        "username": "nina", "first_name": "Nina", "last_name": "Berg", "role": OPERATOR,
        "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
    })
    assert response.status_code == 302
    nina = User.objects.get(username="nina")
    assert role_of(nina) == OPERATOR and nina.is_active and not nina.is_staff
    row = assert_one_row(rows, "user_add")
    assert (row.action, row.object_type, row.object_repr, row.detail) == ("create", "user", "nina", "Role: operator")
    assert NEW_PASSWORD not in row.detail
    assert signs_in("nina", NEW_PASSWORD)


@pytest.mark.parametrize("password, message", [
    ("short-1", "at least 12 characters"),
    ("123456789012345", "entirely numeric"),
    ("password1234", "too common"),
    ("nina-berg-nina", "too similar"),
])
def test_a_weak_initial_password_is_refused_and_nothing_is_saved(admin, password, message):
    response, rows = post_and_count(admin, reverse("users:user_add"), {
        "username": "nina-berg", "role": VIEWER, "password1": password, "password2": password,
    })
    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not User.objects.filter(username="nina-berg").exists() and rows == []


def test_a_taken_user_name_or_an_unknown_role_is_a_field_error(admin, make_user):
    make_user("vera", VIEWER)
    for data in ({"username": "vera", "role": VIEWER}, {"username": "ivan", "role": "root"}):
        response, rows = post_and_count(admin, reverse("users:user_add"),
                                        {**data, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
        assert response.status_code == 200 and rows == []
        assert "errorlist" in response.content.decode()
    assert not User.objects.filter(username="ivan").exists()


def test_set_a_role_and_the_audit_log_says_who_changed_whose_role(admin, make_user):
    vera = make_user("vera", VIEWER)
    response, rows = edit(admin, vera, ADMINISTRATOR)
    assert response.status_code == 302
    vera = User.objects.get(pk=vera.pk)
    assert role_of(vera) == ADMINISTRATOR and has_role(vera, ADMINISTRATOR)
    assert set(vera.groups.values_list("name", flat=True)) == {ADMINISTRATOR}
    row = assert_one_row(rows, "user_edit")
    assert (row.username, row.action, row.object_repr, row.detail) == (
        "ada", "change", "vera", "Role: viewer → administrator")
    log = admin.get(reverse("fabric:audit_list"), {"q": "vera"}).content.decode()
    assert "Role: viewer → administrator" in log


def test_a_changed_name_is_audited_with_its_values(admin, make_user):
    vera = make_user("vera", VIEWER)
    _, rows = edit(admin, vera, VIEWER, first_name="Vera", last_name="Holm")
    assert assert_one_row(rows, "name").detail == "First name: — → Vera; Last name: — → Holm"
    assert User.objects.get(pk=vera.pk).get_full_name() == "Vera Holm"


def test_disable_and_enable_a_user(admin, make_user):
    otto = make_user("otto", OPERATOR)
    otto_client = Client()
    otto_client.force_login(otto)
    assert otto_client.get(reverse("jobs:job_list")).status_code == 200

    _, rows = edit(admin, otto, OPERATOR, active=False)
    assert assert_one_row(rows, "disable").detail == "May sign in: Yes → No"
    assert not signs_in("otto", PASSWORD)
    response = otto_client.get(reverse("jobs:job_list"))  # the open session ended too
    assert response.status_code == 302 and response.url.startswith("/login/")

    _, rows = edit(admin, User.objects.get(pk=otto.pk), OPERATOR, active=True)
    assert assert_one_row(rows, "enable").detail == "May sign in: No → Yes"
    assert signs_in("otto", PASSWORD)
    assert role_of(User.objects.get(pk=otto.pk)) == OPERATOR


def test_reset_a_password_audited_without_the_password(admin, make_user):
    vera = make_user("vera", VIEWER)
    vera_client = Client()
    vera_client.force_login(vera)
    url = reverse("users:user_password", args=[vera.pk])
    page = admin.get(url).content.decode()
    assert "tell the user this password yourself" in page
    assert 'aria-describedby="id_new_password2_helptext"' in page

    response, rows = post_and_count(admin, url, {"new_password1": "short", "new_password2": "short"})
    assert response.status_code == 200 and rows == [] and signs_in("vera", PASSWORD)

    response, rows = post_and_count(admin, url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    row = assert_one_row(rows, "user_password")
    assert (row.action, row.object_repr, row.detail) == ("change", "vera", "Password: reset by an administrator")
    assert signs_in("vera", NEW_PASSWORD) and not signs_in("vera", PASSWORD)
    assert vera_client.get(reverse("jobs:job_list")).status_code == 302  # her old session ended
    assert not AuditEntry.objects.filter(detail__contains=NEW_PASSWORD).exists()
    assert NEW_PASSWORD not in admin.get(reverse("fabric:audit_list")).content.decode()


def test_resetting_ones_own_password_keeps_one_signed_in(admin, administrator):
    url = reverse("users:user_password", args=[administrator.pk])
    response, _ = post_and_count(admin, url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert admin.get(reverse("users:user_list")).status_code == 200


def test_the_last_active_administrator_cannot_be_demoted_or_disabled(admin, administrator, make_user):
    make_user("otto", OPERATOR)
    for role, active in ((OPERATOR, True), (VIEWER, True), (ADMINISTRATOR, False)):
        response, rows = edit(admin, administrator, role, active=active)
        assert response.status_code == 200 and rows == [], (role, active)
        assert "would leave no active administrator" in response.content.decode()
        ada = User.objects.get(pk=administrator.pk)
        assert ada.is_active and role_of(ada) == ADMINISTRATOR

    # A disabled administrator does not count: the last active one still may not go.
    other = make_user("root2", ADMINISTRATOR)
    other.is_active = False
    other.save()
    response, rows = edit(admin, administrator, VIEWER)
    assert response.status_code == 200 and rows == []


def test_an_administrator_may_step_down_when_another_remains(admin, administrator, make_user):
    make_user("bea", ADMINISTRATOR)
    response, rows = edit(admin, administrator, OPERATOR)
    assert response.status_code == 302 and response.url == "/"
    assert assert_one_row(rows, "step down").detail == "Role: administrator → operator"
    assert admin.get(reverse("users:user_list")).status_code == 403
    bea = User.objects.get(username="bea")
    bea_client = Client()
    bea_client.force_login(bea)
    _, rows = edit(bea_client, bea, VIEWER)  # now bea is the last one
    assert rows == [] and role_of(User.objects.get(pk=bea.pk)) == ADMINISTRATOR


def test_demoting_a_superuser_makes_the_role_mean_what_it_says(admin):
    root = User.objects.create_superuser("root", password=PASSWORD)
    _, rows = edit(admin, root, VIEWER)
    root = User.objects.get(pk=root.pk)
    assert not root.is_superuser and not root.is_staff and role_of(root) == VIEWER
    assert assert_one_row(rows, "superuser").detail == "Role: administrator → viewer; Superuser: Yes → No"


@pytest.mark.parametrize("who", ["viewer_client", "operator_client"])
def test_viewers_and_operators_are_refused(request, who, make_user):
    client = request.getfixturevalue(who)
    target = make_user("ivan", VIEWER)
    before = AuditEntry.objects.count()
    for name, args in (("users:user_list", []), ("users:user_add", []), ("users:user_edit", [target.pk]),
                       ("users:user_password", [target.pk])):
        assert client.get(reverse(name, args=args)).status_code == 403, name
        data = {"username": "x", "role": ADMINISTRATOR, "is_active": "on", "password1": NEW_PASSWORD,
                "password2": NEW_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        assert client.post(reverse(name, args=args), data).status_code in (403, 405), name
    assert AuditEntry.objects.count() == before
    assert role_of(User.objects.get(pk=target.pk)) == VIEWER and signs_in("ivan", PASSWORD)
    assert "Users and roles" not in client.get(reverse("jobs:job_list")).content.decode()


def test_an_unknown_user_is_404_not_500(admin):
    assert admin.get(reverse("users:user_edit", args=[9999])).status_code == 404
    assert admin.post(reverse("users:user_password", args=[9999]), {}).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_administrators_stepping_down_at_once_leave_one(monkeypatch):
    """Each request, having counted the other administrator, waits for the other request to count
    too (for at most a moment): without the lock both would see the other and both step down."""
    import threading

    from django.contrib.auth.models import Group
    from django.db import connection

    import users.views
    from users.roles import another_active_administrator

    for role in (VIEWER, OPERATOR, ADMINISTRATOR):
        Group.objects.get_or_create(name=role)
    admins = []
    for name in ("ada", "bea"):
        user = User.objects.create_user(name, password=PASSWORD)
        user.groups.add(Group.objects.get(name=ADMINISTRATOR))
        admins.append(user)
    counted = threading.Barrier(2)

    def count_then_wait(user):
        answer = another_active_administrator(user)
        try:
            counted.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass  # the other request is held by the lock: as it should be
        return answer

    monkeypatch.setattr(users.views, "another_active_administrator", count_then_wait)
    start = threading.Barrier(2)
    answers = []

    def step_down(user):
        client = Client()
        client.force_login(user)
        start.wait()
        try:
            answers.append(client.post(reverse("users:user_edit", args=[user.pk]),
                                       {"role": OPERATOR, "is_active": "on"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=step_down, args=(u,)) for u in admins]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(answers) == [200, 302]  # one stepped down, the other was refused
    assert [role_of(u) for u in User.objects.filter(is_active=True).order_by("username")].count(ADMINISTRATOR) == 1
