"""Against the lab: pre/post node scripts from the library run on each node as their own steps,
their output goes to the job log, a failing one stops its node; and the run report says what the
lab's own event log says happened (VMs moved and where, updates installed, per node)."""
import csv
import io

import pytest
from django.test import Client

from compliance.orchestration import submit_cluster_remediation
from compliance.remediation import RemediationOptions
from jobs.models import JobStep
from nodescripts.models import NodeScript

from .labenv import Watcher, bring_in, describe, finish, scan_all

pytestmark = [pytest.mark.lab, pytest.mark.slow]
NEEDY = {"R-N1", "R-N2", "R-N4"}  # R-N3 has every baseline update
TRACE = """try {{ New-EventLog -LogName Application -Source FerryPatching }} catch {{ }}
Write-EventLog -LogName Application -Source FerryPatching -EventId {event_id} -Message "{what} on $env:COMPUTERNAME"
Write-Output "{what} done on $env:COMPUTERNAME"
"""


@pytest.fixture
def fabric(lab):
    cluster, _, _ = bring_in(lab, standalone=None)
    scan_all()
    return cluster


def _script(name, body, timeout=60):
    return NodeScript.objects.create(name=name, body=body, timeout_seconds=timeout)


def test_scripts_run_around_each_drained_node_and_the_report_matches_the_lab(lab, fabric, administrator):
    _script("drain-checks", TRACE.format(event_id=100, what="pre-checks"))
    _script("health-checks", TRACE.format(event_id=200, what="post-checks"))
    since = lab.events()[-1]["seq"]
    job, _ = submit_cluster_remediation(fabric, RemediationOptions(pre_script="drain-checks",
                                                                   post_script="health-checks"))
    job = finish(job)
    assert job.status == "succeeded", describe(job)
    events = lab.events(since)

    # each drained node: the pre-script before it was paused, the post-script after it was resumed
    for node in NEEDY:
        seq = {e["event"] + ":" + str(e.get("event_id", "")): e["seq"] for e in events
               if e.get("host") == node or e.get("node") == node}
        assert seq["eventlog-written:100"] < seq["node-paused:"], node
        assert seq["node-resumed:"] < seq["eventlog-written:200"], node
    traced = {e["host"] for e in events if e["event"] == "eventlog-written"}
    assert traced == NEEDY  # the compliant node was not drained and ran no script
    assert JobStep.objects.get(job=job, name="compliance.pre_node_script", target="R-N3").status == "skipped"
    assert job.log.filter(message__contains="pre-checks done on R-N1").exists()
    assert job.log.filter(message__contains="post-checks done on R-N4").exists()

    # the run report, against the lab's event log
    client = Client()
    client.force_login(administrator)
    rows = list(csv.DictReader(io.StringIO(client.get(f"/jobs/{job.pk}/report.csv").content.decode())))
    moved = {(row["node"], vm.strip()) for row in rows if row["vms_moved"] for vm in row["vms_moved"].split(";")}
    paused = {e["node"]: e["seq"] for e in events if e["event"] == "node-paused"}
    resumed = {e["node"]: e["seq"] for e in events if e["event"] == "node-resumed"}
    evacuations = {(e["source"], f"{e['vm']} -> {e['target']}") for e in events if e["event"] == "migration-finished"
                   and e["source"] in paused and paused[e["source"]] < e["seq"] < resumed[e["source"]]}
    assert moved and moved == evacuations
    installed = {row["node"]: set(row["updates_installed"].split("; ")) for row in rows if row["updates_installed"]}
    lab_installed = {e["host"]: {f"KB{kb}" for kb in e["installed"]} for e in events
                     if e["event"] == "wu-install-finished"}
    assert installed == lab_installed and set(installed) == NEEDY
    page = client.get(f"/jobs/{job.pk}/report/").content.decode()
    assert all(kb in page for kbs in lab_installed.values() for kb in kbs)


@pytest.mark.parametrize("body, timeout, reason", [
    ("Write-Output 'checking'\nthrow 'the backup of this node has not finished'", 60,
     "the backup of this node has not finished"),
    ("Start-Sleep -Seconds 3600", 2, "did not finish within 2 s"),
], ids=["throws", "times-out"])
def test_a_failing_pre_script_stops_its_node_before_it_is_paused(lab, fabric, body, timeout, reason):
    _script("gate", body, timeout)
    running = sorted(vm["name"] for vm in lab.state()["vms"] if vm["state"] == "Running")
    with Watcher(lab) as watch:
        job = finish(submit_cluster_remediation(fabric, RemediationOptions(pre_script="gate"))[0])
    assert job.status == "failed", describe(job)
    failed = JobStep.objects.get(job=job, status="failed", is_group=False)
    assert failed.name == "compliance.pre_node_script" and reason in failed.message
    assert job.log.filter(level="error", message__contains=reason).exists()
    assert watch.paused_nodes() == set()  # no node was paused, no VM moved
    assert watch.not_running(running) == {}
    assert not JobStep.objects.filter(job=job, name="compliance.evacuate_node").exclude(status="pending").exists()
