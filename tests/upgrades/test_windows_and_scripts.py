"""A rolling upgrade with maintenance windows and node scripts, against the lab (two nodes of a
three-node 2019 cluster, three VMs): a window that closes while a node is re-imaged lets that node finish and stops
the job before the next node starts, and the job goes on in the next window; a post-script's output
is in the job log; a failing pre-script stops its node before anything moved, and the job fails."""
import threading
import time
from datetime import datetime
from datetime import time as day_time
from zoneinfo import ZoneInfo

import pytest

from fabric.models import Host, MaintenanceWindow
from jobs.models import JobStep
from nodescripts.models import NodeScript
from tests.compliance.labenv import Watcher, close_db, describe, finish
from tests.helpers import wait_for
from tests.upgrades.rolling_lab import bring_in, request_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.lab, pytest.mark.slow]

BERLIN = ZoneInfo("Europe/Berlin")
TOPOLOGY = """
[lab]
name = "upgrade-windows"
domain = "contoso.com"
speed = 100.0
paused_vm_grace_seconds = 600.0

[defaults]
memory_gb = 64.0
reboot_seconds = 20.0
boot_seconds = 20.0
deploy_seconds = 60.0
shutdown_seconds = 2.0
credssp = true

[[clusters]]
name = "RU19"
kind = "hyperv"
witness = true
vms = [{ name = "ru-vm1", owner = "RU-N1", memory_gb = 8.0 },
       { name = "ru-vm2", owner = "RU-N1", memory_gb = 4.0 },
       { name = "ru-vm3", owner = "RU-N2", memory_gb = 8.0 }]

[[clusters.nodes]]
name = "RU-N1"
os = "2019"

[[clusters.nodes]]
name = "RU-N2"
os = "2019"

[[clusters.nodes]]
name = "RU-N3"
os = "2019"

[deployment_server]
name = "RUWDS"
os = "2022"
bmc = false
images = [{ name = "Windows Server 2022 SERVERDATACENTER", os = "2022", group = "WS2022", file = "WS2022.vhdx" }]
"""
VMS = ["ru-vm1", "ru-vm2", "ru-vm3"]
UPGRADED = ["RU-N1", "RU-N2"]
HEALTH = "Write-Output \"post-checks done on $env:COMPUTERNAME\"\n"


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


def _set_clock(settings, when: datetime):
    settings.FERRY_CLOCK = {"start": when, "speed": 1.0, "anchor": time.time()}


def _lab_nodes(lab) -> dict[str, dict]:
    return {h["name"]: h for h in lab.state()["hosts"] if h["name"].startswith("RU-N")}


def _step(job, name: str, node: str) -> JobStep:
    return JobStep.objects.get(job=job, name=name, target=node)


def test_a_window_closing_mid_upgrade_pauses_between_nodes_and_the_job_goes_on_in_the_next(lab, settings):
    from upgrades.orchestration import submit_upgrade
    from upgrades.rolling import EVACUATE, EVICT, JOIN, POST_SCRIPT, RECORD

    cluster, profile, bmc_run_as, subnet = bring_in(lab)
    NodeScript.objects.create(name="health-checks", body=HEALTH, timeout_seconds=60)
    MaintenanceWindow.objects.create(cluster=cluster, weekday=5, start=day_time(2), end=day_time(4),
                                     time_zone="Europe/Berlin")
    _set_clock(settings, datetime(2026, 12, 12, 2, 30, tzinfo=BERLIN))   # a Saturday, inside the window
    job, _ = submit_upgrade(request_for(lab, cluster, profile, bmc_run_as, subnet, names=UPGRADED,
                                        functional_level=False, post_script="health-checks"))
    outcome = {}

    def run():
        try:
            outcome["job"] = finish(job, limit=400)
        finally:
            close_db()

    with Watcher(lab) as watch:
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        # the window closes while RU-N1 is out of the cluster: it is re-imaged and comes back all the same
        wait_for(lambda: _step(job, EVICT, "RU-N1").status == "succeeded", "RU-N1 evicted", 120)
        _set_clock(settings, datetime(2026, 12, 12, 4, 30, tzinfo=BERLIN))
        waiting = wait_for(lambda: JobStep.objects.filter(job=job, waiting_for__contains="maintenance window")
                           .first(), "the job to wait for the window", 240, detail=lambda: describe(job))
        assert waiting.name == RECORD and waiting.target == "RU-N2"
        assert waiting.message == "Paused until Sat 02:00 (maintenance window)"
        assert waiting.waiting_for == "the maintenance window to open (Sat 02:00)"
        assert _step(job, JOIN, "RU-N1").status == "succeeded"
        assert _step(job, POST_SCRIPT, "RU-N1").status == "succeeded"
        assert _step(job, EVACUATE, "RU-N2").status == "pending"       # RU-N2 has not started
        nodes = _lab_nodes(lab)
        assert nodes["RU-N1"]["os"]["build"] == 20348 and nodes["RU-N2"]["os"]["build"] == 17763
        assert {h["node_state"] for h in nodes.values()} == {"Up"} and len(nodes) == 3
        job.refresh_from_db()
        assert job.status == "running" and job.lease_owner          # it keeps its lease and the cluster
        _set_clock(settings, datetime(2026, 12, 19, 2, 0, 30, tzinfo=BERLIN))  # the next window
        worker.join(300)
    job = outcome["job"]
    assert job.status == "succeeded", describe(job)
    nodes = _lab_nodes(lab)
    assert {name: h["os"]["build"] for name, h in nodes.items()} == {"RU-N1": 20348, "RU-N2": 20348,
                                                                      "RU-N3": 17763}
    assert {h["cluster"] for h in nodes.values()} == {"RU19"}
    assert watch.not_running(VMS) == {}
    assert sorted(vm["name"] for vm in lab.state()["vms"] if vm["state"] == "Running") == VMS
    assert sorted(Host.objects.filter(cluster=cluster).values_list("os_build", flat=True)) == [17763, 20348, 20348]
    log = "\n".join(job.log.values_list("message", flat=True))
    assert "RU-N2: paused until Sat 02:00 (maintenance window), set on cluster RU19." in log
    assert "post-checks done on RU-N1" in log and "post-checks done on RU-N2" in log
    lab.assert_invariants_held()


def test_a_failing_pre_script_stops_its_node_before_anything_moved(lab):
    from upgrades.orchestration import submit_upgrade
    from upgrades.rolling import EVACUATE, PRE_SCRIPT, RECORD

    cluster, profile, bmc_run_as, subnet = bring_in(lab)
    NodeScript.objects.create(name="backup-gate", timeout_seconds=60,
                              body="Write-Output 'checking'\nthrow 'the backup of this node has not finished'")
    with Watcher(lab) as watch:
        job, _ = submit_upgrade(request_for(lab, cluster, profile, bmc_run_as, subnet, names=UPGRADED,
                                            functional_level=False, pre_script="backup-gate"))
        job = finish(job, limit=200)
    assert job.status == "failed", describe(job)
    failed = JobStep.objects.get(job=job, status="failed", is_group=False)
    assert (failed.name, failed.target) == (PRE_SCRIPT, "RU-N1")
    assert "the backup of this node has not finished" in failed.message
    assert job.log.filter(level="error", message__contains="the backup of this node has not finished").exists()
    assert _step(job, EVACUATE, "RU-N1").status != "succeeded"
    assert not JobStep.objects.filter(job=job, target="RU-N2", name=RECORD, status="succeeded").exists()
    nodes = _lab_nodes(lab)   # not evicted, not paused, not re-imaged; no VM moved or stopped
    assert {(h["cluster"], h["node_state"], h["os"]["build"]) for h in nodes.values()} == {("RU19", "Up", 17763)}
    assert watch.paused_nodes() == set() and watch.not_running(VMS) == {}
    assert {vm["name"]: vm["host"] for vm in lab.state()["vms"]} == {"ru-vm1": "RU-N1", "ru-vm2": "RU-N1",
                                                                    "ru-vm3": "RU-N2"}
    # the failure policy (no failed node allowed) stops the job; the node's state is named where operators look
    assert "1 node(s) failed (RU-N1); the failure policy allows 0." in job.error
    state = "in service, still a node of RU19; its pre-script failed before anything moved"
    assert f"RU-N1 is {state}. Next: Retry from the failed step, or Skip the failed node and go on." in job.error
    assert Host.objects.get(name="RU-N1").failure_state == state
    lab.assert_invariants_held()


TRACE = """try {{ New-EventLog -LogName Application -Source FerryUpgrade }} catch {{ }}
Write-EventLog -LogName Application -Source FerryUpgrade -EventId {event_id} -Message "{what} on $env:COMPUTERNAME"
Write-Output "{what} done on $env:COMPUTERNAME"
"""


def test_a_file_server_node_runs_its_scripts_before_it_leaves_and_once_it_is_back(monkeypatch, settings):
    """The same steps on a Scale-Out File Server: the pre-script before the node's roles move, the
    post-script once it has joined again and been resumed, each seen in the node's own event log."""
    from lab.testing import LabProcess
    from tests.jobs.conftest import FAST
    from tests.upgrades.sofs_lab import TOPOLOGY as SOFS_TOPOLOGY
    from tests.upgrades.sofs_lab import bring_in_file_server
    from upgrades.orchestration import submit_upgrade

    settings.FERRY_JOBS = dict(FAST)
    for name, value in (("FERRY_COMPLIANCE_POLL_SECONDS", "0.05"), ("FERRY_DEPLOY_TIMEOUT_SECONDS", "30"),
                        ("FERRY_RESTART_TIMEOUT_SECONDS", "30")):
        monkeypatch.setenv(name, value)
    NodeScript.objects.create(name="drain-checks", body=TRACE.format(event_id=100, what="pre-checks"))
    NodeScript.objects.create(name="health-checks", body=TRACE.format(event_id=200, what="post-checks"))
    with LabProcess(topology_text=SOFS_TOPOLOGY, speed=100.0) as lab:
        cluster, profile, bmc_run_as, subnet = bring_in_file_server(lab)
        job = finish(submit_upgrade(request_for(lab, cluster, profile, bmc_run_as, subnet, names=["FSU-N1"],
                                                functional_level=False, pre_script="drain-checks",
                                                post_script="health-checks"))[0], limit=300)
        assert job.status == "succeeded", describe(job)
        events = [e for e in lab.events() if "FSU-N1" in (e.get("host"), e.get("node"))]
        seq = {f"{e['event']}:{e.get('event_id', '')}": e["seq"] for e in events}
        assert seq["eventlog-written:100"] < seq["node-paused:"] < seq["node-evicted:"]
        assert seq["host-reimaged:"] < seq["node-added:"] < seq["eventlog-written:200"]   # joins Up, nothing to resume
        assert next(h for h in lab.state()["hosts"] if h["name"] == "FSU-N1")["os"]["build"] == 20348
        lab.assert_invariants_held()     # no share went unavailable
    assert job.log.filter(message__contains="pre-checks done on FSU-N1").exists()
    assert job.log.filter(message__contains="post-checks done on FSU-N1").exists()
