"""Against the lab: a maintenance window that closes during a remediation pauses the job between
nodes ('paused until Sat 02:00 (maintenance window)'), and the job goes on in the next window."""
import threading
import time
from datetime import datetime
from datetime import time as day_time
from zoneinfo import ZoneInfo

import pytest

from compliance.choices import ComplianceState
from compliance.models import HostCompliance
from compliance.orchestration import submit_cluster_remediation
from compliance.remediation import RemediationOptions
from fabric.models import MaintenanceWindow
from jobs.models import JobStep

from .labenv import Watcher, bring_in, close_db, describe, finish, scan_all

pytestmark = [pytest.mark.lab, pytest.mark.slow]

BERLIN = ZoneInfo("Europe/Berlin")


def _set_clock(settings, when: datetime):
    settings.FERRY_CLOCK = {"start": when, "speed": 1.0, "anchor": time.time()}


def _wait_for(predicate, limit=120.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("gave up waiting")


def test_a_closing_window_pauses_between_nodes_and_the_job_resumes_in_the_next(lab, settings):
    cluster, _, _ = bring_in(lab, standalone=None)
    scan_all()
    MaintenanceWindow.objects.create(cluster=cluster, weekday=5, start=day_time(2), end=day_time(4),
                                     time_zone="Europe/Berlin")
    _set_clock(settings, datetime(2026, 12, 12, 2, 30, tzinfo=BERLIN))   # a Saturday, inside the window
    job, _ = submit_cluster_remediation(cluster, RemediationOptions())
    outcome = {}

    def run():
        try:
            outcome["job"] = finish(job)
        finally:
            close_db()

    with Watcher(lab) as watch:
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        verify = JobStep.objects.filter(job=job, name="compliance.verify_node")
        _wait_for(lambda: verify.filter(status="succeeded").exists())
        _set_clock(settings, datetime(2026, 12, 12, 4, 30, tzinfo=BERLIN))  # the window has closed
        waiting = _wait_for(lambda: JobStep.objects.filter(job=job, waiting_for__contains="maintenance window").first())
        done_nodes = verify.filter(status__in=("succeeded", "skipped")).count()
        time.sleep(0.5)
        nodes = next(c["nodes"] for c in lab.state()["clusters"] if c["name"] == "RCL")
        assert [n["name"] for n in nodes if n["state"] != "Up"] == []   # stopped between nodes, none left out
        waiting.refresh_from_db()
        assert waiting.message == "Paused until Sat 02:00 (maintenance window)"
        assert waiting.waiting_for == "the maintenance window to open (Sat 02:00)"
        assert verify.filter(status__in=("succeeded", "skipped")).count() == done_nodes   # nothing started
        job.refresh_from_db()
        assert job.status == "running" and job.lease_owner         # still holds its lease while it waits
        _set_clock(settings, datetime(2026, 12, 19, 2, 0, 30, tzinfo=BERLIN))  # the next window
        worker.join(240)
    job = outcome["job"]
    assert job.status == "succeeded", describe(job)
    states = set(HostCompliance.objects.filter(host__cluster=cluster).values_list("state", flat=True))
    assert states == {ComplianceState.COMPLIANT}
    assert watch.not_running(["r-app1", "r-db1", "r-web1", "r-file1"]) == {}
    log = "\n".join(job.log.values_list("message", flat=True))
    assert "paused until Sat 02:00 (maintenance window), set on cluster RCL" in log
