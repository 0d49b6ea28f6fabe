"""The engine with django-q2 in sync mode (tasks run inline): order, retries, failure policy,
cancel, fencing, resume, restart, planner steps, bounded parallelism, one job per lock key."""
import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from jobs.choices import ACTIVE, FailureKind, InvalidTransition, JobStatus, StepStatus
from jobs.engine import PlanStep, UnknownStep, cancel_job, restart_job, submit_job
from jobs.engine.reaper import reap
from jobs.engine.runner import run_job
from jobs.models import Job, JobStep
from tests.helpers import wait_for
from tests.jobs import sample_steps
from tests.jobs.sample_steps import lines

pytestmark = [pytest.mark.usefixtures("live_db", "fast_jobs")]

RECORD = "tests.jobs.sample_steps.record"
GATED = "tests.jobs.sample_steps.gated"
FLAKY = "tests.jobs.sample_steps.flaky"


def steps_of(job):
    return list(JobStep.objects.filter(job=job, is_group=False).order_by("order"))


def runs_of(trace, key):
    return [line for line in lines(trace["runs"]) if line.split()[0] == key]


def in_thread(func, *args):
    """Run engine code in another thread (its own database connection), as a worker would."""
    result = {}

    def target():
        try:
            result["value"] = func(*args)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            result["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, result


def test_plan_runs_in_order_and_is_recorded(sync_q, trace, operator):
    plan = [PlanStep(RECORD, title=f"Step {n}", group=node, params={"key": f"s{n}"})
            for n, node in ((1, "hv01"), (2, "hv01"), (3, "hv02"))]
    job, created = submit_job(kind="test", title="Three steps", plan=plan, params=trace, requested_by=operator)
    assert created
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.progress == 100 and job.started and job.finished and not job.lease_owner
    assert lines(trace["effects"]) == ["s1", "s2", "s3"]
    for step in steps_of(job):
        assert step.status == StepStatus.SUCCEEDED and step.attempts == 1 and step.started <= step.finished
    lanes = JobStep.objects.filter(job=job, is_group=True).order_by("order")
    assert [(lane.title, lane.status) for lane in lanes] == [("hv01", "succeeded"), ("hv02", "succeeded")]
    log = list(job.log.values_list("message", flat=True))
    assert log[0] == "Queued by otto with 3 steps."
    assert "Succeeded: done" in log and log[-1] == "Job succeeded."
    assert job.log.filter(step__title="Step 2", message="Succeeded: done").exists()
    seqs = list(job.log.values_list("seq", flat=True))
    assert seqs == sorted(seqs) and seqs[-1] == job.seq


def test_a_flaky_step_is_retried_with_backoff(sync_q, trace):
    plan = [PlanStep(FLAKY, title="Flaky", params={"key": "f", "failures": 2}, retries=2, retry_delay=0.05)]
    job, _ = submit_job(kind="test", title="Flaky", plan=plan, params=trace)
    job.refresh_from_db()
    step = steps_of(job)[0]
    assert job.status == JobStatus.SUCCEEDED
    assert step.attempts == 3 and len(runs_of(trace, "f")) == 3
    log = "\n".join(job.log.values_list("message", flat=True))
    assert "Attempt 1 failed: f: the host did not answer (run 1) Retrying in 0.05 s." in log
    assert "Attempt 2 failed" in log and "Retrying in 0.1 s." in log  # the delay doubles


def test_out_of_retries_fails_the_job_and_says_why(sync_q, trace):
    plan = [
        PlanStep(FLAKY, title="Pause node", params={"key": "p", "failures": 5}, retries=1),
        PlanStep(RECORD, title="Never reached", params={"key": "after"}),
    ]
    job, _ = submit_job(kind="test", title="Doomed", plan=plan, params=trace)
    job.refresh_from_db()
    first, second = steps_of(job)
    assert job.status == JobStatus.FAILED
    assert first.status == StepStatus.FAILED and first.failure_kind == FailureKind.FAILED and first.attempts == 2
    assert job.error == "Pause node failed: p: the host did not answer (run 2)"
    assert second.status == StepStatus.PENDING and "after" not in lines(trace["effects"])


def test_an_unexpected_exception_is_reported_apart_from_a_step_failure(sync_q, trace):
    plan = [PlanStep("tests.jobs.sample_steps.broken", title="Buggy", params={"key": "b"})]
    job, _ = submit_job(kind="test", title="Bug", plan=plan, params=trace)
    step = steps_of(job)[0]
    assert step.failure_kind == FailureKind.ERROR
    assert step.message == "Unexpected error: KeyError: 'missing'"


def test_wait_until_gives_up_at_its_deadline(sync_q, trace):
    plan = [PlanStep("tests.jobs.sample_steps.wait_forever", title="Wait", params={"deadline": 0.2})]
    job, _ = submit_job(kind="test", title="Wait", plan=plan, params=trace)
    step = steps_of(job)[0]
    assert step.status == StepStatus.FAILED and step.failure_kind == FailureKind.TIMEOUT
    assert step.message == "Gave up after 0.2 s waiting for something that never happens."
    assert step.waiting_for == "" and not any(k.startswith("_wait") for k in step.data)


def _three_nodes(trace, policy):
    plan = []
    for node in ("hv01", "hv02", "hv03"):
        kind = FLAKY if node == "hv02" else RECORD
        plan.append(PlanStep(kind, title=f"Update {node}", group=node, params={"key": f"u-{node}", "failures": 9}))
        plan.append(PlanStep(RECORD, title=f"Resume {node}", group=node, params={"key": f"r-{node}"}))
    job, _ = submit_job(kind="test", title="Nodes", plan=plan, params=trace, failure_policy=policy)
    job.refresh_from_db()
    return job


def test_max_failed_nodes_lets_other_nodes_finish(sync_q, trace):
    job = _three_nodes(trace, {"max_failed_nodes": 1})
    assert lines(trace["effects"]) == ["u-hv01", "r-hv01", "u-hv03", "r-hv03"]
    lanes = dict(JobStep.objects.filter(job=job, is_group=True).values_list("title", "status"))
    assert lanes == {"hv01": "succeeded", "hv02": "failed", "hv03": "succeeded"}
    assert job.status == JobStatus.FAILED and job.error == "Finished, but 1 node(s) failed: hv02."


def test_the_first_failed_node_stops_the_job_by_default(sync_q, trace):
    job = _three_nodes(trace, {})
    assert lines(trace["effects"]) == ["u-hv01", "r-hv01"]
    assert job.status == JobStatus.FAILED
    assert job.error == "1 node(s) failed (hv02); the failure policy allows 0."


def test_max_retries_per_node_counts_retries_across_a_nodes_steps(sync_q, trace):
    plan = [
        PlanStep(FLAKY, title="Drain", group="hv01", params={"key": "d", "failures": 1}, retries=3),
        PlanStep(FLAKY, title="Patch", group="hv01", params={"key": "p", "failures": 1}, retries=3),
    ]
    job, _ = submit_job(kind="test", title="Budget", plan=plan, params=trace,
                        failure_policy={"max_retries_per_node": 1})
    drain, patch = steps_of(job)
    assert drain.status == StepStatus.SUCCEEDED and drain.attempts == 2
    assert patch.status == StepStatus.FAILED and patch.attempts == 1
    assert job.log.filter(message__contains="hv01 has used its 1 retries").exists()


def test_cancel_stops_at_the_next_safe_point(trace, operator):
    plan = [PlanStep(GATED, title="Gate A", params={"key": "a"}),
            PlanStep(RECORD, title="After", params={"key": "after"})]
    job, _ = submit_job(kind="test", title="Cancel me", plan=plan, params=trace)
    thread, result = in_thread(run_job, job.pk)
    wait_for(lambda: JobStep.objects.filter(job=job, waiting_for="gate a").exists(), "the step to wait")
    cancel_job(job, operator)
    assert Job.objects.get(pk=job.pk).status == JobStatus.CANCELLING
    thread.join(15)
    job.refresh_from_db()
    gate, after = steps_of(job)
    assert job.status == JobStatus.CANCELLED and job.error == "Cancelled by otto."
    assert gate.status == StepStatus.CANCELLED and after.status == StepStatus.PENDING
    assert lines(trace["effects"]) == []


def test_cancel_does_not_interrupt_a_step_that_is_not_at_a_safe_point(trace, operator):
    plan = [
        PlanStep(GATED, title="Live migration", params={"key": "m", "cancellable": False}),
        PlanStep(RECORD, title="After", params={"key": "after"}),
    ]
    job, _ = submit_job(kind="test", title="Migrate", plan=plan, params=trace)
    thread, _ = in_thread(run_job, job.pk)
    wait_for(lambda: JobStep.objects.filter(job=job, waiting_for="gate m").exists(), "the migration to wait")
    cancel_job(job, operator)
    time.sleep(0.3)
    assert steps_of(job)[0].status == StepStatus.RUNNING  # still migrating
    Path(trace["gates"], "m").touch()
    thread.join(15)
    job.refresh_from_db()
    migration, after = steps_of(job)
    assert migration.status == StepStatus.SUCCEEDED and after.status == StepStatus.PENDING
    assert job.status == JobStatus.CANCELLED and lines(trace["effects"]) == ["m"]


def test_a_queued_job_is_cancelled_at_once(trace, operator):
    job, _ = submit_job(kind="test", title="Never started", plan=[PlanStep(RECORD, params={"key": "x"})], params=trace)
    cancel_job(job, operator)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.finished
    with pytest.raises(InvalidTransition, match="already finished"):
        cancel_job(job, operator)


def test_a_worker_that_lost_its_lease_stops_before_acting(trace):
    plan = [PlanStep(GATED, title="Gate", params={"key": "g"}), PlanStep(RECORD, title="Next", params={"key": "n"})]
    job, _ = submit_job(kind="test", title="Fenced", plan=plan, params=trace)
    thread, result = in_thread(run_job, job.pk)
    wait_for(lambda: JobStep.objects.filter(job=job, waiting_for="gate g").exists(), "the step to wait")
    Job.objects.filter(pk=job.pk).update(lease_owner="other-host:1:abc",
                                         lease_expires=timezone.now() + timezone.timedelta(minutes=5))
    Path(trace["gates"], "g").touch()
    thread.join(15)
    assert result["value"] == "lease lost"
    job.refresh_from_db()
    assert lines(trace["effects"]) == []  # the gate opened, but the fenced worker did nothing
    assert job.status == JobStatus.RUNNING and job.lease_owner == "other-host:1:abc"
    assert steps_of(job)[0].status == StepStatus.RUNNING


def test_the_reaper_resumes_a_job_whose_worker_died(sync_q, trace):
    plan = [PlanStep(RECORD, title=f"Step {n}", params={"key": f"s{n}"}) for n in (1, 2, 3)]
    from django_q.conf import Conf

    Conf.SYNC = False  # queue only: we play the worker that dies
    job, _ = submit_job(kind="test", title="Crash", plan=plan, params=trace)
    first = steps_of(job)[0]
    Path(trace["effects"]).write_text("s1\n")  # the dead worker did step 1's action ...
    first.transition(StepStatus.RUNNING, attempts=1)  # ... but died before recording it
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, lease_owner="dead-host:4242:abcd",
        lease_expires=timezone.now() - timezone.timedelta(seconds=1),
    )
    Conf.SYNC = True
    assert reap() == [job.pk]
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert lines(trace["effects"]) == ["s1", "s2", "s3"]
    first.refresh_from_db()
    assert first.resumes == 1 and first.status == StepStatus.SKIPPED  # it looked and found it done
    log = "\n".join(job.log.values_list("message", flat=True))
    assert "Worker dead-host:4242 stopped renewing its lease; resuming the job at “Step 1”." in log
    assert reap() == []


def test_a_live_lease_is_not_reaped(trace):
    job, _ = submit_job(kind="test", title="Alive", plan=[PlanStep(RECORD, params={"key": "a"})], params=trace)
    Job.objects.filter(pk=job.pk).update(lease_owner="w:1:x",
                                         lease_expires=timezone.now() + timezone.timedelta(minutes=1))
    assert reap() == []


def test_one_active_job_per_lock_key_under_concurrent_requests(trace):
    barrier = threading.Barrier(6)
    results = []

    def request():
        barrier.wait()
        job, created = submit_job(kind="remediation", title="Remediate hv-a", lock_key="cluster:1",
                                  plan=[PlanStep(RECORD, params={"key": "x"})], params=trace)
        results.append((job.pk, created))

    threads = [in_thread(request)[0] for _ in range(6)]
    for thread in threads:
        thread.join(30)
    assert len(results) == 6
    assert sum(created for _, created in results) == 1
    assert len({pk for pk, _ in results}) == 1
    assert Job.objects.filter(lock_key="cluster:1", status__in=ACTIVE).count() == 1
    Job.objects.filter(lock_key="cluster:1").update(status=JobStatus.SUCCEEDED)
    _, created = submit_job(kind="remediation", title="Again", lock_key="cluster:1",
                            plan=[PlanStep(RECORD, params={"key": "y"})], params=trace)
    assert created  # a finished job does not hold the lock


def test_restart_runs_from_the_last_good_step(sync_q, trace, operator):
    plan = [
        PlanStep(RECORD, title="Prepare", params={"key": "prep"}),
        PlanStep("tests.jobs.sample_steps.broken", title="Patch", params={"key": "patch"}),
        PlanStep(RECORD, title="Finish", params={"key": "fin"}),
    ]
    job, _ = submit_job(kind="test", title="Restartable", plan=plan, params=trace)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    Path(trace["gates"], "fixed-patch").touch()
    job = restart_job(job, operator)
    assert job.status == JobStatus.SUCCEEDED and job.restarts == 1
    assert len(runs_of(trace, "prep")) == 1 and len(runs_of(trace, "patch")) == 2
    assert lines(trace["effects"]) == ["prep", "patch", "fin"]
    with pytest.raises(InvalidTransition, match="Only a failed or cancelled job"):
        restart_job(job, operator)


def test_restart_skipping_the_failed_step(sync_q, trace, operator):
    plan = [
        PlanStep("tests.jobs.sample_steps.broken", title="Patch", params={"key": "patch"}),
        PlanStep(RECORD, title="Finish", params={"key": "fin"}),
    ]
    job, _ = submit_job(kind="test", title="Skip", plan=plan, params=trace)
    job = restart_job(job, operator, skip_failed=True)
    patch, fin = steps_of(job)
    assert job.status == JobStatus.SUCCEEDED
    assert patch.status == StepStatus.SKIPPED and patch.message == "Skipped on restart by otto"
    assert len(runs_of(trace, "patch")) == 1 and lines(trace["effects"]) == ["fin"]


def test_restart_is_refused_while_another_job_holds_the_lock(trace, operator):
    job, _ = submit_job(kind="t", title="First", lock_key="host:9", plan=[PlanStep(RECORD, params={"key": "a"})],
                        params=trace)
    cancel_job(job, operator)
    other, created = submit_job(kind="t", title="Second", lock_key="host:9",
                                plan=[PlanStep(RECORD, params={"key": "b"})], params=trace)
    assert created
    with pytest.raises(InvalidTransition, match=f"Job #{other.pk} \\(Second\\) is already active"):
        restart_job(job, operator)


def test_a_planner_step_adds_swimlanes_once(sync_q, trace):
    plan = [
        PlanStep("tests.jobs.sample_steps.discover", title="Discover nodes"),
        PlanStep(RECORD, title="Report", params={"key": "report"}),
    ]
    job, _ = submit_job(kind="discovery", title="Discover", plan=plan, params={**trace, "nodes": ["hv01", "hv02"]})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert [s.title for s in steps_of(job)] == ["Discover nodes", "Update hv01", "Update hv02", "Report"]
    assert lines(trace["effects"]) == ["update-hv01", "update-hv02", "report"]
    discover = steps_of(job)[0]
    from jobs.engine.plan import insert_steps

    again = insert_steps(discover, [PlanStep(RECORD, group="hv09")])
    assert [s.title for s in again] == ["Update hv01", "Update hv02"]  # a re-run adds nothing
    assert job.plan_seq > 1


def test_a_parallel_group_respects_its_limit(sync_q, trace):
    sample_steps.concurrency.update(now=0, max=0)
    plan = [PlanStep("tests.jobs.sample_steps.busy", title=f"Move vm{n}", params={"key": f"vm{n}", "seconds": 0.15},
                     parallel_group="evacuate-hv01", max_parallel=2) for n in range(6)]
    plan.append(PlanStep(RECORD, title="After", params={"key": "after"}))
    job, _ = submit_job(kind="test", title="Evacuate", plan=plan, params=trace)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert sample_steps.concurrency["max"] == 2
    assert sorted(lines(trace["effects"])[:6]) == [f"vm{n}" for n in range(6)]
    assert lines(trace["effects"])[-1] == "after"


def test_a_used_time_slice_hands_the_job_to_a_fresh_task(sync_q, trace, fast_jobs):
    fast_jobs["SLICE_SECONDS"] = 0.0
    plan = [PlanStep(RECORD, title=f"Step {n}", params={"key": f"s{n}"}) for n in (1, 2, 3)]
    job, _ = submit_job(kind="test", title="Sliced", plan=plan, params=trace)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempt == 3  # one task per step
    assert lines(trace["effects"]) == ["s1", "s2", "s3"]


def test_stop_after_cancels_at_the_next_safe_point(trace):
    job, _ = submit_job(kind="test", title="Late", plan=[PlanStep(RECORD, params={"key": "x"})], params=trace,
                        failure_policy={"stop_after_minutes": 1})
    Job.objects.filter(pk=job.pk).update(deadline=timezone.now() - timezone.timedelta(seconds=1))
    assert run_job(job.pk) == JobStatus.CANCELLED
    job.refresh_from_db()
    assert job.error == "Stopped: the job ran past its stop-after limit of 1 minutes."


def test_bad_plans_are_refused_and_nothing_is_saved(trace):
    with pytest.raises(UnknownStep, match="no.such.step"):
        submit_job(kind="t", title="Bad", plan=[PlanStep("no.such.step")])
    with pytest.raises(ValueError, match="must be JSON"):
        submit_job(kind="t", title="Bad", plan=[PlanStep(RECORD, params={"when": object()})])
    with pytest.raises(ValueError, match="Unknown failure policy setting"):
        submit_job(kind="t", title="Bad", plan=[PlanStep(RECORD)], failure_policy={"max_failed": 1})
    with pytest.raises(ValueError, match="at least one step"):
        submit_job(kind="t", title="Bad", plan=[])
    assert not Job.objects.exists()


def test_the_status_vocabulary_guards_transitions(trace):
    job, _ = submit_job(kind="t", title="T", plan=[PlanStep(RECORD, params={"key": "x"})], params=trace)
    with pytest.raises(InvalidTransition, match="A queued job cannot become succeeded"):
        job.transition(JobStatus.SUCCEEDED)
    stale = Job.objects.get(pk=job.pk)
    job.transition(JobStatus.RUNNING)
    with pytest.raises(InvalidTransition, match="no longer queued"):
        stale.transition(JobStatus.RUNNING)
    step = steps_of(job)[0]
    with pytest.raises(InvalidTransition):
        step.transition(StepStatus.SUCCEEDED)
