"""Against the lab: a Hyper-V cluster whose nodes hold Storage Spaces Direct storage. Remediation
live-migrates the VMs as usual and, like for a file server, lets the next node leave only once
the storage resync after the previous node's restart has ended."""
from pathlib import Path

import pytest

from compliance.choices import ComplianceState
from compliance.models import HostCompliance
from compliance.orchestration import submit_cluster_remediation
from compliance.remediation import RemediationOptions

from .labenv import Watcher, bring_in, describe, finish, scan_all

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture
def lab_topology():
    return Path(__file__).resolve().parent / "lab" / "s2d_hyperv.toml"


def test_the_next_node_leaves_only_after_the_resync(lab):
    cluster, _, _ = bring_in(lab, cluster="HCI", standalone=None)
    scan_all()
    job, _ = submit_cluster_remediation(cluster, RemediationOptions())
    with Watcher(lab) as watch:
        job = finish(job)
    assert job.status == "succeeded", describe(job)
    states = dict(HostCompliance.objects.filter(host__cluster=cluster).values_list("host__name", "state"))
    assert set(states.values()) == {ComplianceState.COMPLIANT}
    assert watch.not_running(["h-app1", "h-app2", "h-app3"]) == {}     # live-migrated, never stopped
    events = lab.events()
    resyncs = [e for e in events if e["event"] == "storage-resync-started"]
    assert len(resyncs) == 3
    for resync in resyncs:
        ends = resync["elapsed"] + resync["resync_seconds"]
        later = [e for e in events if e["event"] == "node-paused" and e["seq"] > resync["seq"]]
        assert all(e["elapsed"] >= ends for e in later), (resync, later)
    assert "Waiting for storage resync on HCI" in "\n".join(job.log.values_list("message", flat=True))
