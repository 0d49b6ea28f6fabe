"""Discovery and a remediation over Kerberos, with tickets from the lab's real MIT KDC: the
production default in a domain."""
import pytest

from compliance.choices import ComplianceState
from compliance.models import HostCompliance
from compliance.orchestration import submit_cluster_remediation
from compliance.remediation import RemediationOptions
from tests.agents.test_kerberos import missing_kerberos
from tests.helpers import require

from .labenv import bring_in, describe, finish, scan_all

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture
def kerberos(lab, monkeypatch):
    missing = missing_kerberos()
    require(not missing, f"Kerberos is not installed ({', '.join(missing)} missing; apt-get install krb5-kdc "
                         f"krb5-admin-server libkrb5-dev, then pip install '.[kerberos]')")
    assert lab.endpoints["kerberos"], lab.endpoints["kerberos_unavailable"]
    monkeypatch.setenv("FERRY_KRB5_CONFIG", lab.endpoints["kerberos"]["krb5_config"])
    return lab.endpoints["kerberos"]


def test_discovery_and_remediation_over_kerberos(lab, kerberos):
    cluster, lone, _ = bring_in(lab, transport="kerberos")
    nodes = list(cluster.nodes.order_by("name"))
    assert [(n.name, n.fqdn, n.winrm_transport, n.status) for n in nodes] == [
        (f"R-N{i}", f"r-n{i}.contoso.com", "kerberos", "responding") for i in range(1, 5)]
    assert (lone.fqdn, lone.winrm_transport, lone.status) == ("r-sa1.contoso.com", "kerberos", "responding")
    assert sorted(cluster.vms.values_list("name", flat=True))[:3] == ["r-app1", "r-app2", "r-app3"]

    scan_all()
    running = sorted(vm["name"] for vm in lab.state()["vms"] if vm["state"] == "Running")
    job, _ = submit_cluster_remediation(cluster, RemediationOptions())
    job = finish(job)
    assert job.status == "succeeded", describe(job)
    states = dict(HostCompliance.objects.filter(host__cluster=cluster).values_list("host__name", "state"))
    assert states == {f"R-N{i}": ComplianceState.COMPLIANT for i in range(1, 5)}
    assert sorted(vm["name"] for vm in lab.state()["vms"] if vm["state"] == "Running") == running
