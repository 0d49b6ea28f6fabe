"""Settings › Notifications and the delivery log: one's own subscriptions, checked addresses, the
secret never shown again, every change audited once, deliveries seen by their owner (and admins)."""
import pytest
from django.test import Client
from django.urls import reverse

from core.models import AuditEntry
from notifications.models import Delivery, DeliveryAttempt, Subscription
from tests import factories as f
from tests.fabric.test_audit import ADDRESS, assert_one_row, post_and_count
from tests.fabric.test_lists import csv_rows
from tests.helpers import database_text

pytestmark = pytest.mark.django_db
SECRET = "a-webhook-secret-of-some-length"
HOOK = {"scope": "everything", "on_failed": "on", "channel": "webhook", "url": "https://hooks.example.com/ferry",
        "secret": SECRET, "active": "on"}


@pytest.fixture
def ada(administrator):
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(administrator)
    return client


def test_add_change_and_delete_a_subscription_each_audited_once(ada, administrator):
    cluster = f.cluster("HV-P", nodes=0)
    response, rows = post_and_count(ada, reverse("notifications:subscription_list"), HOOK)
    assert response.status_code == 302
    created = assert_one_row(rows, "subscription_list")
    assert created.action == "create" and "https://hooks.example.com/…" in created.object_repr
    assert "/ferry" not in created.object_repr  # a webhook's path may hold the receiver's own secret
    subscription = Subscription.objects.get(user=administrator)
    assert subscription.secret == SECRET and SECRET not in database_text()

    edit = reverse("notifications:subscription_edit", args=[subscription.pk])
    page = ada.get(edit).content.decode()
    assert SECRET not in page
    changed = dict(HOOK, scope="cluster", cluster=cluster.pk, secret="")
    response, rows = post_and_count(ada, edit, changed)
    assert response.status_code == 302
    row = assert_one_row(rows, "subscription_edit")
    assert row.action == "change" and "secret" not in row.detail and SECRET not in row.detail
    subscription.refresh_from_db()
    assert subscription.cluster == cluster and subscription.secret == SECRET  # kept when left empty

    response, rows = post_and_count(ada, reverse("notifications:subscription_delete", args=[subscription.pk]))
    assert response.status_code == 302 and assert_one_row(rows, "subscription_delete").action == "delete"
    assert not Subscription.objects.exists()
    assert SECRET not in "".join(AuditEntry.objects.values_list("detail", flat=True))


@pytest.mark.parametrize("change, field", [
    ({"url": "ftp://hooks.example.com/x"}, "url"),
    ({"url": "https://user:pw@hooks.example.com/x"}, "url"),
    ({"url": ""}, "url"),
    ({"secret": ""}, "secret"),
    ({"secret": "short"}, "secret"),
    ({"scope": "cluster"}, "cluster"),
    ({"scope": "host"}, "host"),
    ({"channel": "email"}, "email"),
])
def test_bad_input_shows_field_errors_and_saves_nothing(viewer_client, change, field):
    response = viewer_client.post(reverse("notifications:subscription_list"), dict(HOOK, **change))
    assert response.status_code == 400 and field in response.context["form"].errors
    assert not Subscription.objects.exists() and not AuditEntry.objects.exclude(detail="logged in").exists()


def test_no_event_chosen_is_refused(viewer_client):
    data = {k: v for k, v in HOOK.items() if k != "on_failed"}
    response = viewer_client.post(reverse("notifications:subscription_list"), data)
    assert response.status_code == 400 and "at least one event" in response.content.decode()


def test_one_sees_and_changes_only_ones_own(viewer, viewer_client, operator):
    mine = Subscription.objects.create(user=viewer, email="vera@example.com")
    theirs = Subscription.objects.create(user=operator, email="otto@example.com")
    page = viewer_client.get(reverse("notifications:subscription_list")).content.decode()
    assert "vera@example.com" in page and "otto@example.com" not in page
    assert viewer_client.get(reverse("notifications:subscription_edit", args=[theirs.pk])).status_code == 404
    assert viewer_client.post(reverse("notifications:subscription_delete", args=[theirs.pk])).status_code == 404
    assert Subscription.objects.filter(pk__in=[mine.pk, theirs.pk]).count() == 2


def test_the_delivery_log_shows_each_attempt_to_its_owner_and_to_administrators(viewer, viewer_client, operator,
                                                                                 admin_client_ferry):
    def delivery(user, target):
        row = Delivery.objects.create(user=user, event="failed", target=target, channel="webhook",
                                      destination="https://hooks.example.com/ferry", status="delivered", attempts=2)
        DeliveryAttempt.objects.create(delivery=row, number=1, status_code=500, error="The receiver answered HTTP 500.")
        DeliveryAttempt.objects.create(delivery=row, number=2, status_code=200, ok=True)
        return row

    delivery(viewer, "HV-MINE")
    delivery(operator, "HV-THEIRS")
    page = viewer_client.get(reverse("notifications:delivery_list")).content.decode()
    assert "HV-MINE" in page and "HV-THEIRS" not in page
    assert "The receiver answered HTTP 500." in page and "delivered (HTTP 200)" in page
    everyone = admin_client_ferry.get(reverse("notifications:delivery_list")).content.decode()
    assert "HV-MINE" in everyone and "HV-THEIRS" in everyone


def test_the_delivery_log_is_a_sorted_filtered_counted_table_exported_as_its_owner_sees_it(
        viewer, viewer_client, operator, admin_client_ferry):
    def delivery(user, target, **fields):
        row = {"event": "failed", "channel": "webhook", "destination": "https://hooks.example.com:8443",
               "payload": {"url": "https://hooks.example.com:8443/ferry?key=sesame"}, "status": "delivered",
               "attempts": 1, **fields}
        return Delivery.objects.create(user=user, target=target, **row)

    delivery(viewer, "HV-B", event="succeeded")
    delivery(viewer, "=HV-A", status="failed", error="The receiver answered HTTP 500.")
    delivery(viewer, "HV-C", channel="email", destination="ops@example.com")
    delivery(operator, "HV-THEIRS")
    url = reverse("notifications:delivery_list")
    page = viewer_client.get(url, {"sort": "target"}).content.decode()
    assert "3 deliveries" in page and "HV-THEIRS" not in page
    assert page.index("=HV-A") < page.index("HV-B") < page.index("HV-C")
    assert all(f'name="{name}"' in page for name in ("q", "event", "status", "channel"))
    for params, count in (({"event": "succeeded"}, "1 delivery"), ({"status": "failed"}, "1 delivery"),
                          ({"channel": "email"}, "1 delivery"), ({"q": "hv-"}, "3 deliveries")):
        assert count in viewer_client.get(url, params).content.decode(), params
    partial = viewer_client.get(url, {"sort": "-target"}, HTTP_HX_TARGET="results", HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "3 deliveries" in partial.content.decode()

    rows = csv_rows(viewer_client.get(url, {"_export": "csv", "sort": "target"}))
    assert rows[0] == ["Created", "Event", "Job", "Target", "To", "Status", "Attempts"]
    assert [row[3] for row in rows[1:]] == ["'=HV-A", "HV-B", "HV-C"]
    assert rows[1][4] == "Webhook https://hooks.example.com:8443"
    export = "\n".join(",".join(row) for row in rows)
    assert "sesame" not in export and "/ferry" not in export and "HV-THEIRS" not in export

    everyone = csv_rows(admin_client_ferry.get(url, {"_export": "csv", "channel": "webhook", "sort": "target"}))
    assert everyone[0][1] == "User" and [row[4] for row in everyone[1:]] == ["'=HV-A", "HV-B", "HV-THEIRS"]
    assert viewer_client.get(url, {"_export": "csv", "q": "THEIRS"}).content.decode().count("\n") == 1
    assert Client().get(url, {"_export": "csv"}).status_code == 302


def test_ones_subscriptions_are_a_sorted_counted_table_exported_without_the_webhooks_secret_or_path(
        viewer, viewer_client, operator):
    Subscription.objects.create(user=viewer, channel="webhook", url="https://hooks.example.com:8443/ferry?key=sesame",
                                secret=SECRET, on_succeeded=True)
    Subscription.objects.create(user=viewer, channel="email", email="ada@example.com", active=False)
    Subscription.objects.create(user=operator, channel="email", email="theirs@example.com")
    url = reverse("notifications:subscription_list")
    page = viewer_client.get(url, {"sort": "channel"}).content.decode()
    assert "2 subscriptions" in page and "theirs@example.com" not in page
    assert page.index("ada@example.com") < page.index("https://hooks.example.com:8443")
    descending = viewer_client.get(url, {"sort": "-channel"}).content.decode()
    assert descending.index("https://hooks.example.com:8443") < descending.index("ada@example.com")

    rows = csv_rows(viewer_client.get(url, {"_export": "csv", "sort": "channel"}))
    assert rows[0] == ["For", "Events", "Channel", "To", "State"]
    assert rows[1] == ["everything", "failed, needs attention", "E-mail", "ada@example.com", "Paused"]
    assert rows[2] == ["everything", "succeeded, failed, needs attention", "Webhook",
                       "https://hooks.example.com:8443/…", "Active"]
    export = "\n".join(",".join(row) for row in rows)
    for hidden in (SECRET, "sesame", ":8443/ferry", "theirs@example.com"):
        assert hidden not in export and hidden not in page
    assert Client().get(url, {"_export": "csv"}).status_code == 302


def test_the_pages_are_in_the_menu(viewer_client):
    page = viewer_client.get(reverse("notifications:subscription_list")).content.decode()
    for url in ("/notifications/", "/notifications/deliveries/", "/api/tokens/"):
        assert f'href="{url}"' in page
