"""kill -9 of a real worker during provisioning's waits (the deployment, then the restart that
finishes the features): the job resumes on a new worker and every node gets exactly one power cycle
and one feature restart, as the lab's event log shows. A node that hangs after its deployment gets
one more power cycle through its BMC."""
from collections import Counter

import pytest
from django.db import close_old_connections

from jobs.choices import TERMINAL
from tests.compliance.labenv import finish
from tests.helpers import wait_for
from tests.jobs.conftest import live_db, procs  # noqa: F401  (real workers sharing the database)
from tests.upgrades.rolling_lab import TOPOLOGY, bring_in, request_for

pytestmark = [pytest.mark.slow, pytest.mark.lab, pytest.mark.usefixtures("live_db")]

SLOW_DEPLOY = TOPOLOGY.replace("deploy_seconds = 60.0", "deploy_seconds = 500.0").replace(
    "reboot_seconds = 20.0", "reboot_seconds = 300.0")
ENV = {"FERRY_COMPLIANCE_POLL_SECONDS": "0.1", "FERRY_DEPLOY_TIMEOUT_SECONDS": "120",
       "FERRY_RESTART_TIMEOUT_SECONDS": "120"}


@pytest.fixture
def slow_lab():
    from lab.testing import LabProcess

    with LabProcess(topology_text=SLOW_DEPLOY, speed=100.0) as running:
        yield running


def _stopped(job) -> bool:
    close_old_connections()
    job.refresh_from_db()
    return job.status in TERMINAL


def _state(job) -> str:
    from tests.upgrades.test_rolling_job import _why

    job.refresh_from_db()
    return f"job {job.status}: {job.error}\n{_why(job)}"


def _events(lab, name):
    return Counter(e["host"] for e in lab.events() if e["event"] == name)


def test_kill_9_during_each_provisioning_wait_repeats_no_power_cycle(slow_lab, procs):
    from upgrades.orchestration import submit_upgrade

    lab = slow_lab
    cluster, profile, bmc_run_as, subnet = bring_in(lab)
    job, _ = submit_upgrade(request_for(lab, cluster, profile, bmc_run_as, subnet, names=["RU-N1", "RU-N2"],
                                        functional_level=False))
    first = procs.qcluster(env=ENV)
    # RU-N1: killed while it deploys (the power cycle was sent, the node is not back)
    wait_for(lambda: _stopped(job) or _events(lab, "pxe-deployment-started")["RU-N1"], "RU-N1 to be deploying",
             120, detail=procs.logs)
    assert not _stopped(job), _state(job)
    procs.kill9(first)
    second = procs.qcluster(env=ENV)
    # RU-N2: killed while it restarts to finish installing Hyper-V and Failover Clustering
    wait_for(lambda: _stopped(job) or _events(lab, "restart-requested")["RU-N2"],
             "RU-N2 to restart for its features", 180, detail=procs.logs)
    assert not _stopped(job), _state(job)
    procs.kill9(second)
    procs.qcluster(env=ENV)

    wait_for(lambda: _stopped(job), "the job to finish on the third worker", 300, detail=procs.logs)
    assert job.status == "succeeded", _state(job)
    assert _events(lab, "bmc-cycle") == {"RU-N1": 1, "RU-N2": 1}
    assert _events(lab, "restart-requested") == {"RU-N1": 1, "RU-N2": 1}
    assert _events(lab, "pxe-deployment-started") == {"RU-N1": 1, "RU-N2": 1}
    assert job.log.filter(message__contains="stopped renewing its lease; resuming the job").count() >= 2
    builds = {h["name"]: h["os"]["build"] for h in lab.state()["hosts"] if h["cluster"] == "RU19"}
    assert builds == {"RU-N1": 20348, "RU-N2": 20348, "RU-N3": 17763, "RU-N4": 17763}
    lab.assert_invariants_held()


def test_a_node_that_hangs_after_its_deployment_gets_one_power_cycle(settings, monkeypatch):
    from lab.testing import LabProcess
    from tests.jobs.conftest import FAST
    from upgrades.orchestration import submit_upgrade

    settings.FERRY_JOBS = dict(FAST)
    monkeypatch.setenv("FERRY_COMPLIANCE_POLL_SECONDS", "0.05")
    monkeypatch.setenv("FERRY_DEPLOY_TIMEOUT_SECONDS", "5")
    with LabProcess(topology_text=TOPOLOGY, speed=100.0) as lab:
        cluster, profile, bmc_run_as, subnet = bring_in(lab)
        lab.fault("host_stays_down", host="RU-N1", count=1)
        job = finish(submit_upgrade(request_for(lab, cluster, profile, bmc_run_as, subnet, names=["RU-N1"],
                                                functional_level=False))[0], limit=300)
        assert job.status == "succeeded", job.error
        assert _events(lab, "bmc-cycle") == {"RU-N1": 2}       # the deployment's, and one for the hang
        assert job.log.filter(level="warning", message__contains="RU-N1 is powered on but its OS does not answer"
                              ).exists()
        lab.assert_invariants_held()
