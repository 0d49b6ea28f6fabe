"""Run As passwords: encrypted at rest, never in a page, kept when the placeholder comes back."""
import pytest
from django.db import connection
from django.urls import reverse

from core.crypto import PREFIX, decrypt
from core.models import AuditEntry
from fabric.forms import PASSWORD_PLACEHOLDER
from fabric.models import RunAsAccount
from tests.fabric.routes import every_route
from tests.factories import RUNAS_PASSWORD


def stored_password(account) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM fabric_runasaccount WHERE id = %s", [account.pk])
        return cursor.fetchone()[0]


def _edit(client, account, **changes):
    data = {"name": account.name, "username": account.username, "description": account.description,
            "password": PASSWORD_PLACEHOLDER, "confirm_password": PASSWORD_PLACEHOLDER}
    data.update(changes)
    return client.post(reverse("fabric:runas_edit", args=[account.pk]), data)


def test_password_is_encrypted_at_rest(inventory):
    stored = stored_password(inventory.runas)
    assert stored.startswith(PREFIX) and RUNAS_PASSWORD not in stored
    assert decrypt(stored) == RUNAS_PASSWORD


def test_no_page_shows_the_password_or_its_ciphertext(admin_client_ferry, inventory):
    ciphertext = stored_password(inventory.runas)
    token = ciphertext[len(PREFIX):]
    for name, url in every_route(inventory):
        html = admin_client_ferry.get(url).content.decode()
        assert RUNAS_PASSWORD not in html, name
        assert token[:24] not in html, name
    form = admin_client_ferry.get(reverse("fabric:runas_edit", args=[inventory.runas.pk])).content.decode()
    assert f'value="{PASSWORD_PLACEHOLDER}"' in form


def test_edit_with_placeholder_or_empty_keeps_the_password(admin_client_ferry, inventory):
    account = inventory.runas
    before = stored_password(account)
    assert _edit(admin_client_ferry, account, username="CONTOSO\\svc-new").status_code == 302
    account.username = "CONTOSO\\svc-new"
    assert _edit(admin_client_ferry, account, password="", confirm_password="").status_code == 302
    account = RunAsAccount.objects.get(pk=account.pk)
    assert account.username == "CONTOSO\\svc-new"
    assert account.password == RUNAS_PASSWORD
    assert stored_password(account) == before
    assert "Password" not in AuditEntry.objects.filter(action="change").first().detail


def test_edit_with_a_new_password_replaces_it_and_audits_without_it(admin_client_ferry, inventory):
    response = _edit(admin_client_ferry, inventory.runas, password="N3w-Secret!", confirm_password="N3w-Secret!")
    assert response.status_code == 302
    assert RunAsAccount.objects.get(pk=inventory.runas.pk).password == "N3w-Secret!"
    detail = AuditEntry.objects.filter(action="change").first().detail
    assert detail == "Password: changed"


def test_mismatched_confirmation_saves_nothing_and_echoes_nothing(admin_client_ferry, inventory):
    response = _edit(admin_client_ferry, inventory.runas, password="Typed-Secret-1", confirm_password="Typed-Secret-2")
    assert response.status_code == 200
    assert "confirm_password" in response.context["form"].errors
    html = response.content.decode()
    assert "Typed-Secret-1" not in html and "Typed-Secret-2" not in html
    assert RunAsAccount.objects.get(pk=inventory.runas.pk).password == RUNAS_PASSWORD


@pytest.mark.parametrize("password", ["", PASSWORD_PLACEHOLDER])
def test_a_new_account_needs_a_password(admin_client_ferry, db, password):
    response = admin_client_ferry.post(reverse("fabric:runas_add"), {
        "name": "nopass", "username": "svc", "password": password, "confirm_password": password,
    })
    assert response.status_code == 200
    assert "password" in response.context["form"].errors
    assert not RunAsAccount.objects.filter(name="nopass").exists()
