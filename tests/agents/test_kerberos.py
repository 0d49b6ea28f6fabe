"""Kerberos and CredSSP from Ferry's side: the policy on which transport may carry what, tickets
obtained from the Run As password, and the second hop (operations that act on other machines)."""
import socket
from urllib.parse import urlsplit

import pytest
from django.forms.models import model_to_dict

from fabric import agents
from fabric.agents.errors import InsecureTransportRefused, SecondHopDenied, TransportUnavailable
from lab.kdc import missing_for_kerberos
from tests.helpers import require


def missing_kerberos() -> list[str]:
    """What Kerberos against the lab needs and this machine lacks: the lab's KDC and acceptor, and
    Ferry's transport (pykerberos)."""
    from winrm import transport

    return missing_for_kerberos() + ([] if transport.HAVE_KERBEROS else ["Python package pykerberos"])


def test_credssp_goes_only_over_https_even_to_a_machine_allowed_to_be_insecure():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    conn = agents.Connection("127.0.0.1", port=port, https=False, transport="credssp", allow_insecure=True,
                             username="CONTOSO\\svc", password="secret-pw")
    with pytest.raises(InsecureTransportRefused) as refused:
        agents.run_script(conn, "$result = 1", operation="probe", retry_window=0)
    listener.settimeout(0.2)
    with pytest.raises(socket.timeout):
        listener.accept()             # nothing was sent
    listener.close()
    assert "CredSSP" in str(refused.value) and "HTTPS" in str(refused.value)
    assert "secret-pw" not in str(refused.value)
    agents.Connection("hv01.contoso.com", transport="credssp", username="u").check_policy()   # HTTPS: fine


def test_kerberos_needs_the_machines_dns_name():
    with pytest.raises(TransportUnavailable, match="DNS name"):
        agents.Connection("127.0.10.1", transport="kerberos", username="u").check_policy()
    agents.Connection("127.0.10.1", transport="kerberos", username="u", fqdn="hv01.contoso.com").check_policy()
    agents.Connection("hv01.contoso.com", transport="kerberos", username="u").check_policy()
    node = agents.Connection("10.0.0.5", transport="kerberos", username="u", fqdn="cl01.contoso.com")
    assert node.with_address("10.0.0.6").kerberos_hostname == ""     # another machine: not the cluster's name
    assert node.with_address("10.0.0.6", "hv02.contoso.com").kerberos_hostname == "hv02.contoso.com"


@pytest.mark.django_db
@pytest.mark.parametrize("changes,field", [
    ({"winrm_transport": "credssp", "winrm_https": False, "allow_insecure": True}, "winrm_transport"),
    ({"credssp_second_hop": True, "winrm_https": False, "allow_insecure": True}, "credssp_second_hop"),
])
def test_the_host_form_refuses_credssp_without_https(changes, field):
    from fabric.forms.servers import HostForm
    from fabric.models import Host, HostGroup

    host = Host.objects.create(name="HV01", address="hv01.contoso.com", host_group=HostGroup.root())
    data = {k: v for k, v in model_to_dict(host, fields=HostForm.Meta.fields).items() if v is not None}
    form = HostForm(data={**data, **changes}, instance=host)
    assert not form.is_valid()
    assert "HTTPS" in " ".join(form.errors[field])
    ok = HostForm(data={**data, "credssp_second_hop": True}, instance=host)
    assert ok.is_valid(), ok.errors


# -- against the lab --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab():
    from lab.testing import LabProcess

    missing = missing_kerberos()
    require(not missing, f"Kerberos is not installed ({', '.join(missing)} missing; apt-get install krb5-kdc "
                         f"krb5-admin-server libkrb5-dev, then pip install '.[kerberos]')")
    with LabProcess("tests", speed=100) as running:
        assert running.endpoints["kerberos"], running.endpoints["kerberos_unavailable"]
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("FERRY_KRB5_CONFIG", running.endpoints["kerberos"]["krb5_config"])
            yield running
        running.assert_invariants_held()


def connection(lab, name, transport="ntlm", **overrides) -> agents.Connection:
    entry = lab.entry(name)
    url = urlsplit(entry["winrm"]["https_url"])
    values = dict(address=url.hostname, port=url.port, https=True, ca_path=lab.endpoints["ca_path"],
                  transport=transport, username=entry["winrm"]["username"], password=entry["winrm"]["password"],
                  account="lab", fqdn=entry["fqdn"])
    return agents.Connection(**{**values, **overrides})


def members(lab) -> list[str]:
    cluster = next(c for c in lab.state()["clusters"] if c["name"] == "TCL19")
    return sorted(n["name"] for n in cluster["nodes"])


def evict_and_add_back(conn, node="T19-N3"):
    agents.cluster.suspend_node(conn, node, drain=True)
    agents.cluster.remove_node(conn, node)
    assert node not in [n.name for n in agents.cluster.get_cluster_nodes(conn)]
    added = agents.cluster.add_node(conn, node)
    assert (added.name, added.state) == (node, "Up")


def test_kerberos_reads_a_host_with_a_ticket_for_the_run_as_account(lab):
    facts = agents.hostinfo.get_host_facts(connection(lab, "T19-N2", "kerberos"), hyperv=True)
    assert facts.os.computer_name == "T19-N2"


def test_a_wrong_password_is_refused_by_the_kdc_and_never_shown(lab):
    conn = connection(lab, "T19-N2", "kerberos", password="Not-The-Passw0rd!")
    with pytest.raises(agents.AccessDenied) as refused:
        agents.hostinfo.get_os(conn)
    assert "KDC rejected the password" in str(refused.value) and "svc-ferry@CONTOSO.COM" in str(refused.value)
    assert "Not-The-Passw0rd!" not in str(refused.value)


def test_ntlm_cannot_add_a_node_and_says_what_to_configure(lab):
    with pytest.raises(SecondHopDenied) as denied:
        agents.cluster.add_node(connection(lab, "T19-N1"), "T-SPARE")
    message = str(denied.value)
    assert "Access is denied" in message and denied.value.category == "PermissionDenied"
    assert "CredSSP for operations that reach other machines" in message and "trusted for delegation" in message
    assert members(lab) == ["T19-N1", "T19-N2", "T19-N3"]


def test_kerberos_to_a_host_not_trusted_for_delegation_is_denied(lab):
    with pytest.raises(SecondHopDenied) as denied:
        agents.cluster.remove_node(connection(lab, "T19-N2", "kerberos"), "T19-N3")
    assert "trust its computer account for delegation" in str(denied.value)
    assert members(lab) == ["T19-N1", "T19-N2", "T19-N3"]


def test_ntlm_host_with_credssp_chosen_for_the_second_hop_evicts_and_adds(lab):
    evict_and_add_back(connection(lab, "T19-N1", credssp_second_hop=True))
    assert members(lab) == ["T19-N1", "T19-N2", "T19-N3"]


def test_kerberos_forwards_its_ticket_to_a_trusted_host_to_evict_and_add(lab):
    evict_and_add_back(connection(lab, "T19-N1", "kerberos"))
    assert members(lab) == ["T19-N1", "T19-N2", "T19-N3"]


def test_the_discovery_form_refuses_credssp_without_https(admin_client_ferry):
    from django.urls import reverse

    from fabric.models import RunAsAccount
    from jobs.models import Job

    run_as = RunAsAccount.objects.create(name="svc", username="CONTOSO\\svc-ferry", password="Very-Secret-1")
    response = admin_client_ferry.post(reverse("fabric:host_add"), {
        "address": "hv01.contoso.com", "run_as": run_as.pk, "winrm_transport": "credssp",
        "allow_insecure": "on",  # HTTPS box left unticked; "allow insecure" does not cover CredSSP
    })
    assert response.status_code == 200
    assert "CredSSP hands the Run As account&#x27;s password" in response.content.decode()
    assert not Job.objects.exists()


def test_credssp_chosen_for_a_host_that_does_not_accept_it_says_how_to_enable_it(lab):
    with pytest.raises(agents.AccessDenied) as refused:
        agents.cluster.remove_node(connection(lab, "T19-N2", credssp_second_hop=True), "T19-N3")
    assert "does not accept CredSSP" in str(refused.value) and "Enable-WSManCredSSP" in str(refused.value)
    assert members(lab) == ["T19-N1", "T19-N2", "T19-N3"]


def test_one_ticket_serves_many_scripts(lab):
    log = lab.workdir / "state" / "kdc" / "kdc.log"
    conn = connection(lab, "T19-N2", "kerberos")
    agents.hostinfo.get_os(conn)
    asked = log.read_text().count("AS_REQ")
    assert asked >= 1
    for _ in range(3):
        agents.hostinfo.get_os(conn)
    assert log.read_text().count("AS_REQ") == asked    # no new logon at the KDC, only service tickets
