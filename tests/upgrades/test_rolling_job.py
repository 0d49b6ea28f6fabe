"""The rolling upgrade as a job, against the lab: a 4-node 2019 cluster to 2022 with its VMs running
throughout, a subset of nodes, refusals, and faults that stop one node at a named step."""
import pytest

from tests.compliance.labenv import finish
from tests.upgrades.rolling_lab import TOPOLOGY, bring_in, request_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.lab]


@pytest.fixture
def lab(transactional_db, settings, monkeypatch):
    from django.contrib.auth.models import Group

    from lab.testing import LabProcess
    from tests.jobs.conftest import FAST

    for role in ("viewer", "operator", "administrator"):
        Group.objects.get_or_create(name=role)
    settings.FERRY_JOBS = dict(FAST)
    monkeypatch.setenv("FERRY_COMPLIANCE_POLL_SECONDS", "0.05")
    monkeypatch.setenv("FERRY_DEPLOY_TIMEOUT_SECONDS", "30")
    monkeypatch.setenv("FERRY_RESTART_TIMEOUT_SECONDS", "30")
    with LabProcess(topology_text=TOPOLOGY, speed=100.0) as running:
        yield running


def _why(job) -> str:
    from jobs.models import JobLogEntry

    steps = [f"{s.name} {s.target}: {s.status} {s.message} {s.error if hasattr(s, 'error') else ''}"
             for s in job.steps.filter(is_group=False).order_by("order")]
    logs = [e.message for e in JobLogEntry.objects.filter(job=job).order_by("seq")]
    return "\n".join(steps + logs[-15:])


def _running_vms(lab):
    return sorted(vm["name"] for vm in lab.state()["vms"] if vm["state"] == "Running")


def test_a_four_node_2019_cluster_is_upgraded_to_2022_with_its_vms_running(lab):
    from upgrades.orchestration import submit_upgrade

    cluster, profile, bmc_run_as, subnet = bring_in(lab)
    before = _running_vms(lab)
    assert len(before) == 5
    job, created = submit_upgrade(request_for(lab, cluster, profile, bmc_run_as, subnet))
    assert created
    job = finish(job, limit=600)
    failed = job.steps.filter(status="failed").first()
    assert job.status == "succeeded", _why(job)
    state = lab.state()
    nodes = {h["name"]: h for h in state["hosts"] if h["cluster"] == "RU19"}
    assert sorted(nodes) == ["RU-N1", "RU-N2", "RU-N3", "RU-N4"]
    assert {h["os"]["build"] for h in nodes.values()} == {20348}
    assert lab.run_json("RU-N1", "(Get-Cluster).ClusterFunctionalLevel | ConvertTo-Json") == 11
    assert _running_vms(lab) == before
    assert state["stagings"] == []
    lab.assert_invariants_held()
    cluster.refresh_from_db()
    assert cluster.functional_level == 11 and cluster.mixed_mode_since is None
    assert sorted(cluster.nodes.values_list("os_build", flat=True)) == [20348] * 4
    one = job.steps.filter(name="upgrades.record_configuration").first()
    assert one.data["template"]["image_name"] == "Windows Server 2022 SERVERDATACENTER"
