"""Every state-changing URL and management command leaves exactly one audit row: who, what, which
object, when and from which address."""
from io import StringIO

import pytest
from django import forms
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.urls import reverse

from core.models import AuditEntry
from fabric.models import Host, HostGroup
from tests.fabric.routes import change_routes, operator_routes
from tests.fabric.test_crud import SPECS

ADDRESS = "198.51.100.44"
MACHINE = {"address": "hv-new.contoso.example", "winrm_https": "on", "winrm_transport": "ntlm", "wsus_port": "8530"}
DISCOVERY_ROUTES = {"cluster_add", "fileserver_add", "host_add", "updateserver_add", "deploymentserver_discover_add"}


@pytest.fixture
def admin(administrator):
    from django.test import Client

    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(administrator)
    return client


def form_values(form) -> dict:
    """What a browser would send back for an unchanged form."""
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field.widget, forms.CheckboxInput):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    return data


def add_data(name: str, url: str, inv) -> dict:
    if name in DISCOVERY_ROUTES:
        return dict(MACHINE, run_as=inv.runas.pk)
    spec = next(s for s in SPECS if s.add_url(inv) == url)
    return spec.data(inv)


def post_and_count(client, url, data=None):
    before = AuditEntry.objects.count()
    response = client.post(url, data or {})
    return response, list(AuditEntry.objects.order_by("id")[before:])


def assert_one_row(rows, name, who="ada"):
    assert len(rows) == 1, (name, [str(r) for r in rows])
    row = rows[0]
    assert (row.username, row.source_address) == (who, ADDRESS), name
    assert row.time is not None and row.object_type and row.object_repr, name
    return row


def test_every_changing_fabric_url_writes_one_audit_row(admin, inventory):
    routes = change_routes(inventory)
    deletes = [(n, u) for n, u in routes if n.endswith("_delete")]
    refused_deletes = 0
    for name, url in [(n, u) for n, u in routes if not n.endswith("_delete")]:
        if name.endswith("_add"):
            data = add_data(name, url, inventory)
        else:
            data = form_values(admin.get(url).context["form"])
        response, rows = post_and_count(admin, url, data)
        assert response.status_code == 302, (name, response.context["form"].errors if response.context else "")
        assert_one_row(rows, name)
    for name, url in deletes:
        response, rows = post_and_count(admin, url)
        if response.status_code == 409:  # still in use: nothing changed, nothing to audit
            assert rows == [], name
            refused_deletes += 1
            continue
        assert response.status_code == 302, name
        assert assert_one_row(rows, name).action == "delete"
    assert refused_deletes < len(deletes)


def test_refresh_writes_one_audit_row(operator, inventory):
    from django.test import Client

    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(operator)
    for name, url in operator_routes(inventory):
        response, rows = post_and_count(client, url)
        assert response.status_code == 302, name
        assert "refresh requested" in assert_one_row(rows, name, who="otto").detail


def test_a_refused_discovery_request_is_audited_too(admin, inventory):
    response, rows = post_and_count(admin, reverse("fabric:host_add"),
                                    dict(MACHINE, address="not an address!", run_as=inventory.runas.pk))
    assert response.status_code == 200
    row = assert_one_row(rows, "host_add")
    assert "discovery refused" in row.detail and row.object_repr == "not an address!"


def test_user_and_group_changes_on_the_admin_pages_are_audited(superuser_client):
    client, user = superuser_client
    response, rows = post_and_count(client, "/admin/auth/group/add/", {"name": "auditors"})
    assert response.status_code == 302
    row = assert_one_row(rows, "group add", who=user.username)
    assert (row.action, row.object_type, row.object_repr) == ("create", "group", "auditors")

    target = User.objects.create_user("mallory", password="x-Initial-Passw0rd")
    response, rows = post_and_count(client, f"/admin/auth/user/{target.pk}/password/",
                                    {"password1": "Brand-new-Passw0rd", "password2": "Brand-new-Passw0rd",
                                     "usable_password": "true"})
    assert response.status_code == 302
    row = assert_one_row(rows, "password change", who=user.username)
    assert row.object_repr == "mallory" and "Brand-new" not in row.detail

    group = Group.objects.get(name="auditors")
    response, rows = post_and_count(client, f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert assert_one_row(rows, "group delete", who=user.username).action == "delete"


@pytest.fixture
def superuser_client(db):
    from django.test import Client

    user = User.objects.create_superuser("root-ada", password="x-Initial-Passw0rd")
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(user)
    return client, user


def run_command(*args, stdin=None):
    before = AuditEntry.objects.count()
    out = StringIO()
    try:
        if stdin is not None:
            import sys

            saved, sys.stdin = sys.stdin, StringIO(stdin)
            try:
                call_command(*args, stdout=out, stderr=StringIO())
            finally:
                sys.stdin = saved
        else:
            call_command(*args, stdout=out, stderr=StringIO())
    except CommandError:
        pass
    return list(AuditEntry.objects.order_by("id")[before:])


def test_every_state_changing_command_writes_one_audit_row(inventory, settings):
    from compliance.models import UpdateServer

    unreachable = Host.objects.create(name="hv-gone", address="192.0.2.200", host_group=HostGroup.root())
    UpdateServer.objects.create(name="wsus01", address="10.3.0.5", run_as=inventory.runas)
    settings.FERRY_ALLOW_INSECURE_WINRM = False  # the discovery below is refused before any packet
    commands = [
        ("add_runas", "svc-audit", "--username", "CONTOSO\\svc-audit"),
        ("rotate_encryption_key",),
        ("refresh", "--schedule", "30"),
        ("refresh", "--schedule", "0"),
        ("refresh", unreachable.name),
        ("generate_fabric", "--hosts", "2", "--vms", "2", "--cluster-size", "2", "--sofs-clusters", "0",
         "--prefix", "aud"),
        ("add_host", "127.0.0.1", "--run-as", inventory.runas.name),
        ("add_cluster", "169.254.169.254", "--run-as", inventory.runas.name),
        ("add_update_server", "127.0.0.1", "--run-as", inventory.runas.name),
        ("add_deployment_server", "127.0.0.1", "--run-as", inventory.runas.name),
        ("sync_updates",),
    ]
    for command in commands:
        rows = run_command(*command, stdin="S3cret-typed-in\n" if command[0] == "add_runas" else None)
        assert len(rows) == 1, (command, [str(r) for r in rows])
        assert rows[0].username == "system" and rows[0].object_repr, command
        assert "S3cret-typed-in" not in rows[0].detail
