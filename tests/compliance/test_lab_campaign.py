"""Against the lab: a campaign over a file server and three Hyper-V clusters, two at once, the file
server before the cluster whose VMs live on its share; and a maintenance window that closes during
a run."""
from pathlib import Path

import pytest

from compliance.campaigns import plan_waves, submit_campaign
from compliance.choices import ComplianceState
from compliance.models import HostCompliance
from fabric.models import Cluster
from jobs.models import Job

from .labenv import (
    Watcher,
    bring_in,
    describe,
    discover_more,
    finish_with_workers,
    scan_all,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture
def lab_topology():
    return Path(__file__).resolve().parent / "lab" / "campaign.toml"


def _spans(children):
    return {j.target_label: (j.started, j.finished) for j in children}


def test_a_campaign_remediates_the_file_server_first_two_clusters_at_once(lab):
    bring_in(lab, cluster="CFS", standalone=None)
    discover_more(lab, "CHV1", "CHV2", "CHV3")
    scan_all()
    clusters = list(Cluster.objects.order_by("name"))
    waves = plan_waves(clusters)
    assert [w.names for w in waves] == [["CFS", "CHV2", "CHV3"], ["CHV1"]]

    job, _ = submit_campaign(clusters, parallel=2)
    with Watcher(lab) as watch:
        job = finish_with_workers(job)
    assert job.status == "succeeded", describe(job)
    children = list(Job.objects.filter(kind="remediation", params__campaign_step__isnull=False))
    assert sorted(j.target_label for j in children) == ["CFS", "CHV1", "CHV2", "CHV3"]
    assert all(j.status == "succeeded" for j in children), [describe(j) for j in children]
    states = set(HostCompliance.objects.values_list("state", flat=True))
    assert states == {ComplianceState.COMPLIANT}
    assert watch.not_running(["c1-app1", "c1-app2", "c2-app1", "c2-app2", "c3-app1"]) == {}

    events = lab.events()
    paused = [e for e in events if e["event"] == "node-paused"]
    last_file_server = max(e["seq"] for e in events if e["event"] == "node-resumed" and e["cluster"] == "CFS")
    assert all(e["seq"] > last_file_server for e in paused if e["cluster"] == "CHV1")
    # never more than two clusters in the works at once
    spans = _spans(children)
    for name, (start, _) in spans.items():
        at_once = [n for n, (s, f) in spans.items() if s <= start < f]
        assert len(at_once) <= 2, (name, at_once)
    assert spans["CHV1"][0] >= spans["CFS"][1]

