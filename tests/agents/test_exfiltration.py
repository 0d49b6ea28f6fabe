"""No transport, address or discovered node can carry a Run As password where it must not go
(through the lab: a cluster that answers over plain HTTP, on loopback)."""
import pytest

from fabric import agents
from fabric.choices import HostStatus
from fabric.inventory import discover_cluster, discover_host
from fabric.models import Cluster, Host
from tests.agents.conftest import https_target, inventory_snapshot


def http_target(lab, name: str) -> dict:
    return dict(https_target(lab, name), https=False, ca_path="", port=lab.endpoints["lab"]["ports"]["winrm_http"])


def test_nodes_found_through_an_insecure_cluster_do_not_inherit_allow_insecure(lab, lab_run_as):
    cluster = discover_cluster(run_as=lab_run_as, allow_insecure=True, **http_target(lab, "A19-N1"))
    assert cluster.allow_insecure and not cluster.winrm_https
    nodes = list(Host.objects.filter(cluster=cluster))
    assert len(nodes) >= 2
    for node in nodes:
        # Reached securely or not at all: no password went over HTTP to an address the cluster named.
        assert not node.allow_insecure and node.winrm_https and node.winrm_port == 5986, node.name
        if node.address != cluster.address:
            assert node.status == HostStatus.NOT_RESPONDING, node.name
            assert "plain HTTP" in node.status_reason and "Allow insecure" in node.status_reason
    # Re-adding the cluster keeps what an administrator set on a node itself.
    marked = next(n for n in nodes if n.address != cluster.address)
    Host.objects.filter(pk=marked.pk).update(allow_insecure=True, winrm_https=False, winrm_port=5985)
    discover_cluster(run_as=lab_run_as, allow_insecure=True, **http_target(lab, "A19-N1"))
    marked.refresh_from_db()
    assert marked.allow_insecure and not marked.winrm_https
    agents.Connection.for_endpoint(marked).check_policy()  # reached as the administrator chose


def test_without_the_installation_setting_the_lab_is_refused_before_any_packet(lab, lab_run_as, settings):
    settings.FERRY_ALLOW_INSECURE_WINRM = False
    before = inventory_snapshot()
    # Loopback (where the lab lives) even over HTTPS with NTLM ...
    with pytest.raises(agents.InsecureTransportRefused, match="loopback"):
        discover_cluster(run_as=lab_run_as, **https_target(lab, "A19-N1"))
    # ... and Basic or HTTP even to a machine marked "Allow insecure" on a routable address.
    with pytest.raises(agents.InsecureTransportRefused, match="FERRY_ALLOW_INSECURE_WINRM"):
        discover_host(run_as=lab_run_as, transport="basic", allow_insecure=True,
                      **dict(https_target(lab, "A-SA1"), address="192.0.2.10"))
    assert inventory_snapshot() == before
    assert not Cluster.objects.exists()
