"""Against the lab: WinRM faults in the middle of a cluster remediation. Injected three times,
each transport fault is ridden out and the job succeeds with every VM kept running; a fault that
never clears fails the node it hits, with the fault in the message, once the retry window is over."""
import threading

import pytest

from compliance.choices import ComplianceState
from compliance.models import HostCompliance
from compliance.orchestration import submit_cluster_remediation
from compliance.remediation import RemediationOptions
from fabric.agents import runner
from jobs.models import JobStep
from tests.lab.waiting import until

from .labenv import Watcher, bring_in, describe, finish, scan_all

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture
def fabric(lab, monkeypatch):
    # Receives poll every second and an unanswered request is given up after 3 s, so that three
    # unanswered requests cost seconds, not minutes (production: 20 s polls, 10 s margin).
    monkeypatch.setattr(runner, "OPERATION_POLL", 1)
    monkeypatch.setattr(runner, "READ_MARGIN", 2.0)
    cluster, _, _ = bring_in(lab)
    scan_all()
    return cluster


def inject_when_paused(lab, node: str, spec: dict) -> threading.Thread:
    """Add the fault once `node` is paused for its updates: the middle of the remediation."""
    since = len(lab.events())

    def wait_and_inject():
        until(lambda: any(e["event"] == "node-paused" and e.get("node", e.get("host")) == node
                          for e in lab.events(since)), timeout=180)
        spec["id"] = lab.fault(host=node, **spec)["id"]

    thread = threading.Thread(target=wait_and_inject, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("kind", ["winrm_http500", "winrm_timeout"])
def test_a_transport_fault_three_times_mid_remediation_is_ridden_out(lab, fabric, kind):
    cluster = fabric
    running = sorted(vm["name"] for vm in lab.state()["vms"] if vm["state"] == "Running")
    spec = {"kind": kind, "count": 3}
    injector = inject_when_paused(lab, "R-N2", spec)
    job, _ = submit_cluster_remediation(cluster, RemediationOptions(max_retries_per_node=0))
    with Watcher(lab) as watch:
        job = finish(job)
    injector.join(5)
    assert job.status == "succeeded", describe(job)
    assert "id" in spec and lab.control("GET", "/faults")["faults"] == []       # it fired, all three times
    fired = [e for e in lab.events() if e["event"] == "fault-fired" and e["id"] == spec["id"]]
    assert len(fired) == 3
    states = dict(HostCompliance.objects.filter(host__cluster=cluster).values_list("host__name", "state"))
    assert set(states.values()) == {ComplianceState.COMPLIANT}
    assert watch.not_running(running) == {}


def test_faults_at_the_jobs_first_step_are_ridden_out_too(lab, fabric):
    cluster = fabric
    since = len(lab.events())
    first = lab.fault("winrm_http500", host="RCL", count=3)        # the cluster name: the first step asks it
    job = finish(submit_cluster_remediation(cluster, RemediationOptions())[0])
    assert job.status == "succeeded", describe(job)
    assert sum(1 for e in lab.events(since) if e["event"] == "fault-fired" and e["id"] == first["id"]) == 3
    first_step = job.steps.filter(is_group=False).order_by("order").first()
    assert first_step.status == "succeeded" and first_step.attempts == 1        # no step retry was needed


def test_a_fault_that_never_clears_fails_the_node_with_its_message(lab, fabric, monkeypatch):
    cluster = fabric
    monkeypatch.setenv("FERRY_WINRM_RETRY_WINDOW_SECONDS", "3")
    spec = {"kind": "winrm_http500"}
    injector = inject_when_paused(lab, "R-N2", spec)
    job = finish(submit_cluster_remediation(cluster, RemediationOptions(max_retries_per_node=0))[0])
    injector.join(5)
    lab.control("DELETE", "/faults")
    assert job.status == "failed"
    failed = JobStep.objects.get(job=job, status="failed", is_group=False)
    assert failed.target == "R-N2" and "HTTP 500" in failed.message, describe(job)
    nodes = {h["name"]: h["node_state"] for h in lab.state()["hosts"] if h["cluster"]}
    assert nodes["R-N2"] == "Up"                                   # resumed after the failure
