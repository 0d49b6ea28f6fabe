"""The engine under a real `manage.py qcluster`, including kill -9 of the worker mid-job."""
from collections import Counter

import pytest

from jobs.choices import TERMINAL, JobStatus, StepStatus
from jobs.engine import PlanStep, submit_job
from jobs.models import JobStep
from tests.helpers import wait_for
from tests.jobs.sample_steps import lines

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("live_db")]

RECORD = "tests.jobs.sample_steps.record"


def finished(job):
    job.refresh_from_db()
    return job.status in TERMINAL


def test_a_real_worker_runs_a_planned_job_with_retries(procs, trace):
    plan = [
        PlanStep("tests.jobs.sample_steps.discover", title="Discover nodes"),
        PlanStep("tests.jobs.sample_steps.flaky", title="Flaky", params={"key": "flaky", "failures": 1}, retries=1),
    ]
    job, _ = submit_job(kind="discovery", title="Discover", plan=plan, params={**trace, "nodes": ["hv01", "hv02"]})
    procs.qcluster()
    wait_for(lambda: finished(job), "the job to finish", 60, detail=procs.logs)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert lines(trace["effects"]) == ["update-hv01", "update-hv02", "flaky"]
    assert job.log.filter(message="Started.").exists()
    assert not job.log.filter(message__contains="Started on").exists()  # no worker ids on the page


def test_a_job_survives_kill_9_of_its_worker(procs, trace):
    keys = [f"step{n}" for n in range(1, 7)]
    plan = [PlanStep(RECORD, title=f"Step {n}", group=f"hv0{(n + 1) // 2}", params={"key": key, "seconds": 0.5})
            for n, key in enumerate(keys, start=1)]
    job, _ = submit_job(kind="remediation", title="Survive kill -9", plan=plan, params=trace)
    first = procs.qcluster()
    wait_for(lambda: len(lines(trace["effects"])) >= 2, "two steps to be done", 60, detail=procs.logs)
    procs.kill9(first)
    job.refresh_from_db()
    dead_owner = job.lease_owner
    assert job.status == JobStatus.RUNNING and dead_owner  # the dead worker still holds the lease
    assert len(lines(trace["effects"])) < len(keys)

    procs.qcluster()
    wait_for(lambda: finished(job), "the job to finish on the new worker", 60, detail=procs.logs)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert lines(trace["effects"]) == keys  # every action once, in plan order
    runs = Counter(line.split()[0] for line in lines(trace["runs"]))
    again = [key for key, count in runs.items() if count > 1]
    assert len(again) <= 1 and all(runs[key] == 1 for key in keys if key not in again)
    if again:  # the step the kill interrupted ran again, looked, and did not act twice
        step = JobStep.objects.get(job=job, params__key=again[0])
        assert step.resumes == 1
    assert job.log.filter(message__contains="stopped renewing its lease; resuming the job").exists()
    assert all(s.status in (StepStatus.SUCCEEDED, StepStatus.SKIPPED) for s in JobStep.objects.filter(job=job))
    pids = {line.split()[1] for line in lines(trace["runs"])}
    assert len(pids) >= 2  # two different worker processes did the work
