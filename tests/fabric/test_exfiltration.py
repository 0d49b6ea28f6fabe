"""No way to send a Run As secret where it must not go: transports, addresses, stored values.

The lab lives on loopback, so the test settings allow insecure WinRM; these tests turn it off.
"""
from unittest import mock

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.urls import reverse

from core.crypto import PREFIX
from core.models import AuditEntry
from fabric import agents
from fabric.agents.connection import forbidden_reason
from fabric.models import Host, RunAsAccount
from tests.fabric.test_secrets import stored_password

FORBIDDEN = ["127.0.0.1", "127.8.9.10", "::1", "169.254.169.254", "169.254.10.1", "fe80::1", "fd00:ec2::254",
             "100.100.100.200", "0.0.0.0", "::ffff:127.0.0.1", "localhost"]
ALLOWED = ["10.2.0.1", "192.0.2.15", "2001:db8::5", "100.100.100.201"]


@pytest.fixture
def production(settings):
    settings.FERRY_ALLOW_INSECURE_WINRM = False
    return settings


def conn(**values) -> agents.Connection:
    return agents.Connection(**{"address": "10.2.0.1", "username": "CONTOSO\\svc", "password": "pw", **values})


@pytest.mark.parametrize("address", FORBIDDEN)
def test_loopback_link_local_and_metadata_addresses_are_refused(production, address):
    with pytest.raises(agents.InsecureTransportRefused, match="FERRY_ALLOW_INSECURE_WINRM"):
        conn(address=address).check_policy()


def test_a_name_that_resolves_to_a_metadata_address_is_refused(production):
    answer = [(2, 1, 6, "", ("169.254.169.254", 0))]
    with mock.patch("socket.getaddrinfo", return_value=answer):
        with pytest.raises(agents.InsecureTransportRefused, match="169.254.169.254"):
            conn(address="metadata.google.internal").check_policy()


@pytest.mark.parametrize("address", ALLOWED)
def test_management_addresses_are_allowed(production, address):
    assert forbidden_reason(address) == ""
    conn(address=address).check_policy()


def test_the_installation_setting_lets_the_lab_be_reached(settings):
    settings.FERRY_ALLOW_INSECURE_WINRM = True
    conn(address="127.0.10.1").check_policy()


@pytest.mark.parametrize("values", [{"https": False}, {"transport": "basic"}, {"https": False, "transport": "basic"}])
def test_basic_or_http_need_the_installation_setting_even_on_a_machine_marked_insecure(production, values):
    with pytest.raises(agents.InsecureTransportRefused, match="FERRY_ALLOW_INSECURE_WINRM"):
        conn(allow_insecure=True, **values).check_policy()


@pytest.mark.parametrize("values", [{"https": False}, {"transport": "basic"}])
def test_with_the_setting_the_machine_must_still_be_marked(settings, values):
    settings.FERRY_ALLOW_INSECURE_WINRM = True
    with pytest.raises(agents.InsecureTransportRefused, match="Allow insecure"):
        conn(**values).check_policy()
    conn(allow_insecure=True, **values).check_policy()


def test_an_address_a_cluster_reports_is_reached_without_allow_insecure(settings):
    settings.FERRY_ALLOW_INSECURE_WINRM = True
    cluster = conn(https=False, allow_insecure=True)
    assert cluster.with_address(cluster.address).allow_insecure
    node = cluster.with_address("10.2.0.99")
    assert not node.allow_insecure and node.password == "pw"
    with pytest.raises(agents.InsecureTransportRefused):
        node.check_policy()


def _host_form_data(client, host) -> dict:
    from tests.fabric.test_audit import form_values

    return form_values(client.get(reverse("fabric:host_edit", args=[host.pk])).context["form"])


@pytest.mark.parametrize("change,field", [
    ({"allow_insecure": "on"}, "allow_insecure"),
    ({"winrm_transport": "basic", "allow_insecure": "on"}, "winrm_transport"),
    ({"address": "169.254.169.254"}, "address"),
    ({"address": "127.0.0.1"}, "address"),
    ({"bmc_address": "169.254.169.254"}, "bmc_address"),
])
def test_host_form_refuses_what_the_installation_does_not_allow(production, admin_client_ferry, inventory,
                                                                 change, field):
    data = {**_host_form_data(admin_client_ferry, inventory.standalone), **change}
    data.pop("winrm_https", None) if field == "allow_insecure" else None
    before = AuditEntry.objects.count()
    response = admin_client_ferry.post(reverse("fabric:host_edit", args=[inventory.standalone.pk]), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors, response.context["form"].errors
    assert "FERRY_ALLOW_INSECURE_WINRM" in response.content.decode() or "does not send credentials" in \
        response.content.decode()
    host = Host.objects.get(pk=inventory.standalone.pk)
    assert (host.address, host.allow_insecure, host.winrm_transport) == (
        inventory.standalone.address, False, inventory.standalone.winrm_transport)
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize("address", ["169.254.169.254", "127.0.0.1", "fd00:ec2::254"])
def test_discovery_of_a_forbidden_address_is_refused_before_a_job_starts(production, admin_client_ferry, inventory,
                                                                         address):
    from jobs.models import Job

    response = admin_client_ferry.post(reverse("fabric:cluster_add"), {
        "address": address, "run_as": inventory.runas.pk, "winrm_https": "on", "winrm_transport": "ntlm"})
    assert response.status_code == 200
    assert "address" in response.context["form"].errors
    assert not Job.objects.exists()
    assert AuditEntry.objects.get(detail__contains="discovery refused").object_repr == address


def test_discovery_over_http_is_refused_when_the_installation_does_not_allow_it(production, admin_client_ferry,
                                                                                inventory):
    response = admin_client_ferry.post(reverse("fabric:host_add"), {
        "address": "10.2.9.9", "run_as": inventory.runas.pk, "winrm_transport": "ntlm", "allow_insecure": "on"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "winrm_https" in errors and "allow_insecure" in errors
    form_page = admin_client_ferry.get(reverse("fabric:host_add")).content.decode()
    assert "Not available: this installation allows only HTTPS" in form_page


def test_a_password_that_looks_like_ciphertext_is_encrypted_like_any_other(admin_client_ferry, settings, db):
    typed = PREFIX + "gAAAAABlooks-like-a-token"
    response = admin_client_ferry.post(reverse("fabric:runas_add"), {
        "name": "tricky", "username": "svc", "password": typed, "confirm_password": typed})
    assert response.status_code == 302
    account = RunAsAccount.objects.get(name="tricky")
    assert stored_password(account) != typed and typed not in stored_password(account)
    assert account.password == typed
    # and key rotation reads it like every other secret
    new = Fernet.generate_key().decode()
    settings.FERRY_ENCRYPTION_KEY = f"{new},{settings.FERRY_ENCRYPTION_KEY}"
    call_command("rotate_encryption_key", stdout=mock.Mock())
    settings.FERRY_ENCRYPTION_KEY = new
    assert RunAsAccount.objects.get(name="tricky").password == typed


@pytest.mark.parametrize("address", ["169.254.169.254", "127.0.0.1"])
def test_a_bmc_login_is_not_sent_to_a_loopback_or_metadata_address(production, address):
    from fabric.agents import bmc

    target = bmc.BMCTarget(address=address, username="ADMIN", password="bmc-secret", account="BMC")
    with mock.patch("subprocess.run") as child, pytest.raises(agents.InsecureTransportRefused):
        bmc.power_state(target)
    child.assert_not_called()
