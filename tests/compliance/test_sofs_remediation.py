"""Against the lab: remediating a Scale-Out File Server on Storage Spaces Direct, as an operator would.

Its nodes run no VMs: each node's SOFS role and cluster shared volumes move to other nodes before
it is paused, so every share stays available (the lab's share-unavailable invariant, checked after
every test); the next node leaves only once the storage resync after the previous restart ended.
"""
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from compliance.choices import ComplianceState
from compliance.models import HostCompliance
from compliance.orchestration import submit_cluster_remediation
from compliance.remediation import RemediationOptions
from jobs.models import JobStep

from .labenv import bring_in, describe, finish, scan_all

pytestmark = [pytest.mark.lab, pytest.mark.slow]
NODES = ("RF-N1", "RF-N2", "RF-N3")


@pytest.fixture
def lab_topology():
    return Path(__file__).resolve().parent / "lab" / "sofs.toml"


@pytest.fixture
def file_server(lab):
    cluster, _, _ = bring_in(lab, cluster="RFS", standalone=None)
    assert cluster.kind == "sofs"
    scan_all()
    return cluster


def states(cluster):
    return dict(HostCompliance.objects.filter(host__cluster=cluster).values_list("host__name", "state"))


def share_outages(lab):
    return [v for v in lab.invariants()["violations"] if v["rule"] == "share-unavailable"]


def test_a_file_server_is_remediated_with_every_share_available(lab, file_server):
    job, _ = submit_cluster_remediation(file_server, RemediationOptions())
    titles = list(JobStep.objects.filter(job=job, is_group=False).values_list("title", flat=True))
    assert "Pause RF-N1 and move its file-server roles and volumes" in titles
    assert not any("VMs" in t for t in titles)
    job = finish(job)
    assert job.status == "succeeded", describe(job)
    assert states(file_server) == {n: ComplianceState.COMPLIANT for n in NODES}
    assert share_outages(lab) == []
    events = lab.events()
    restarted = [e["host"] for e in events if e["event"] == "restart-requested"]
    assert sorted(restarted) == list(NODES)
    # The next node leaves (is paused) only after the resync the previous node's return started has ended.
    resyncs = [e for e in events if e["event"] == "storage-resync-started"]
    assert [r["node"] for r in resyncs] == restarted
    for resync in resyncs:
        ends = resync["elapsed"] + resync["resync_seconds"]
        later = [e for e in events if e["event"] == "node-paused" and e["seq"] > resync["seq"]]
        assert all(e["elapsed"] >= ends for e in later), (resync, later)
    log = "\n".join(job.log.values_list("message", flat=True))
    assert "Waiting for storage resync on RFS" in log and "Repair job" in log
    assert "Moved the volume Cluster Disk 1 from RF-N1" in log
    lab.assert_invariants_held()


def test_a_volume_that_cannot_move_fails_the_node_with_its_name_and_reason(lab, file_server):
    lab.fault("csv_move_fails", csv="Cluster Disk 1", cluster="RFS",
              message="The volume is in redirected access and cannot change owner.")
    job, _ = submit_cluster_remediation(file_server, RemediationOptions(max_retries_per_node=1))
    job = finish(job)
    assert job.status == "failed", describe(job)
    step = JobStep.objects.get(job=job, name="compliance.evacuate_node", target="RF-N1")
    assert step.status == "failed"
    assert "volume Cluster Disk 1 could not be moved from RF-N1" in step.message
    assert "redirected access" in step.message
    node = next(n for c in lab.state()["clusters"] for n in c["nodes"] if n["name"] == "RF-N1")
    assert node["state"] == "Up"                 # resumed after the failed evacuation, never restarted
    assert share_outages(lab) == []


def test_a_volume_that_fails_to_move_once_is_retried(lab, file_server):
    lab.fault("csv_move_fails", csv="Cluster Disk 1", cluster="RFS", count=1)
    job, _ = submit_cluster_remediation(file_server, RemediationOptions())
    job = finish(job)
    assert job.status == "succeeded", describe(job)
    step = JobStep.objects.get(job=job, name="compliance.evacuate_node", target="RF-N1")
    assert step.attempts == 2
    assert states(file_server) == {n: ComplianceState.COMPLIANT for n in NODES}
    assert share_outages(lab) == []


def test_the_dialog_and_the_command_show_which_roles_and_volumes_move_where(lab, file_server, operator_client):
    page = operator_client.get(reverse("compliance:remediate"), {"selected": f"cluster:{file_server.pk}"},
                               HTTP_HX_REQUEST="true").content.decode()
    assert "no live migration or save state choice" in page and "runs no VMs" in page
    assert 'name="evacuation" value="save"' not in page
    assert re.search(r"role RSOFS → RF-N\d", page) and re.search(r"volume Cluster Disk 1 → RF-N\d", page)
    assert "will not start" not in page
    out = StringIO()
    call_command("remediate", "RFS", "--dry-run", stdout=out)
    plan = out.getvalue()
    assert "Plan for file server RFS" in plan and re.search(
        r"1\. RF-N1: role RSOFS → RF-N\d, volume Cluster Disk 1", plan
    )
    with pytest.raises(CommandError, match="runs no VMs|run no VMs"):
        call_command("remediate", "RFS", "--save-state", "--dry-run", stdout=StringIO())
