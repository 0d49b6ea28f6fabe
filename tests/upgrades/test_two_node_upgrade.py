"""A 2-node 2019 cluster with a file share witness, the shape of a branch office, upgraded to 2022
node by node against the lab: with one node out (and then evicted) the witness keeps the cluster's
quorum, its VMs run throughout."""
import pytest

from tests.compliance.labenv import finish
from tests.upgrades.rolling_lab import TOPOLOGY, bring_in, request_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.lab, pytest.mark.slow]

# RU19 without its third and fourth nodes (and their VMs)
TWO_NODES = (TOPOLOGY
             .replace(',\n       { name = "ru-vm4", owner = "RU-N3", memory_gb = 6.0 },\n'
                      '       { name = "ru-vm5", owner = "RU-N4", memory_gb = 4.0 }]', "]")
             .replace('\n[[clusters.nodes]]\nname = "RU-N3"\nos = "2019"\n', "")
             .replace('\n[[clusters.nodes]]\nname = "RU-N4"\nos = "2019"\n', ""))


@pytest.fixture
def lab(transactional_db, settings, monkeypatch):
    from django.contrib.auth.models import Group

    from lab.testing import LabProcess
    from tests.jobs.conftest import FAST

    assert "RU-N3" not in TWO_NODES and "ru-vm5" not in TWO_NODES
    for role in ("viewer", "operator", "administrator"):
        Group.objects.get_or_create(name=role)
    settings.FERRY_JOBS = dict(FAST)
    monkeypatch.setenv("FERRY_COMPLIANCE_POLL_SECONDS", "0.05")
    monkeypatch.setenv("FERRY_DEPLOY_TIMEOUT_SECONDS", "30")
    monkeypatch.setenv("FERRY_RESTART_TIMEOUT_SECONDS", "30")
    with LabProcess(topology_text=TWO_NODES, speed=100.0) as running:
        yield running
        running.assert_invariants_held()


def running_vms(lab):
    return sorted(vm["name"] for vm in lab.state()["vms"] if vm["state"] == "Running")


def test_a_two_node_cluster_with_a_witness_is_upgraded_with_its_vms_running(lab):
    from upgrades.orchestration import submit_upgrade
    from upgrades.rolling import check_prerequisites

    cluster, profile, bmc_run_as, subnet = bring_in(lab)
    assert (cluster.witness_kind, cluster.witness_votes) == ("file_share", True)
    request = request_for(lab, cluster, profile, bmc_run_as, subnet)
    quorum = next(v for v in check_prerequisites(request) if v.name == "quorum")
    assert quorum.ok and quorum.message == "Quorum holds while RU-N1 is out: 2 of 3 votes with the witness."
    before = running_vms(lab)
    assert before == ["ru-vm1", "ru-vm2", "ru-vm3"]
    job = finish(submit_upgrade(request)[0], limit=600)
    assert job.status == "succeeded", [(s.target, s.title, s.status, s.message)
                                       for s in job.steps.filter(is_group=False).order_by("order")]
    nodes = {h["name"]: h for h in lab.state()["hosts"] if h["cluster"] == "RU19"}
    assert sorted(nodes) == ["RU-N1", "RU-N2"] and {h["os"]["build"] for h in nodes.values()} == {20348}
    assert {h["node_state"] for h in nodes.values()} == {"Up"}
    assert running_vms(lab) == before
    assert lab.run_json("RU-N1", "(Get-Cluster).ClusterFunctionalLevel | ConvertTo-Json") == 11
