"""One task invocation of a job: take the lease, run steps from the first unfinished one, stop at
the end, on failure, on cancel, or when the time slice is used (then hand over to a fresh task)."""
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from jobs import conf
from jobs.choices import STEP_DONE, FailureKind, InvalidTransition, JobStatus, LogLevel, StepStatus
from jobs.engine import lease
from jobs.engine.context import JobContext, StepResult
from jobs.engine.errors import CancelRequested, LeaseLost, StepFailed, Suspended, UnknownStep, WaitTimedOut
from jobs.engine.plan import enqueue
from jobs.engine.registry import NodeFailure, get_step, job_failure_hook, node_failure_describer
from jobs.events import bump
from jobs.models import Job, JobStep

logger = logging.getLogger("ferry.jobs")

DONE, RETRY, FAILED, CANCELLED, SUSPENDED = "done", "retry", "failed", "cancelled", "suspended"


def run_job(job_id: int) -> str:
    return JobRunner(job_id).run()


class JobRunner:
    def __init__(self, job_id: int):
        self.job_id = job_id
        self.token = lease.new_token()
        self.began = time.monotonic()
        self.slice_seconds = float(conf.get("SLICE_SECONDS"))
        self.heartbeat: lease.Heartbeat | None = None
        self.job: Job | None = None
        self.batches_run = 0
        self._progress_lock = threading.Lock()

    # -- the invocation ----------------------------------------------------------------------
    def run(self) -> str:
        if not lease.acquire(self.job_id, self.token):
            return "another worker holds this job, or it is not active"
        self.heartbeat = lease.Heartbeat(self.job_id, self.token).start()
        try:
            return self._run()
        except LeaseLost:
            logger.warning("Job %s: lease lost by %s; stopping without touching anything", self.job_id, self.token)
            return "lease lost"
        finally:
            self.heartbeat.stop()

    def _run(self) -> str:
        self.job = Job.objects.get(pk=self.job_id)
        if self.job.status == JobStatus.QUEUED:
            self._start()
        self._count_steps()
        while True:
            self.job.refresh_from_db(
                fields=["status", "cancel_requested", "cancel_requested_by", "deadline", "failure_policy", "params"]
            )
            if self.job.cancel_requested or self.job.status == JobStatus.CANCELLING:
                return self._finish_cancelled()
            if self.job.deadline and timezone.now() >= self.job.deadline:
                return self._finish_stopped_after()
            batch = self._next_batch()
            if not batch:
                return self._finish()
            if self.batches_run and self.slice_used():
                return self._hand_over()  # (each task runs at least one batch, so a job always advances)
            outcomes = self._run_batch(batch)
            self.batches_run += 1
            if CANCELLED in outcomes:
                return self._finish_cancelled()
            if FAILED in outcomes:
                verdict = self._apply_failure_policy([s for s, o in zip(batch, outcomes) if o == FAILED])
                if verdict:
                    return verdict
            if SUSPENDED in outcomes:
                return self._hand_over()

    def _start(self) -> None:
        fields = {}
        if self.job.started is None:
            fields["started"] = timezone.now()
        minutes = self.job.failure_policy.get("stop_after_minutes")
        if minutes and self.job.deadline is None:
            fields["deadline"] = timezone.now() + timedelta(minutes=minutes)
        try:
            logger.info("Job %s started on %s", self.job_id, self._worker())
            self.job.transition(JobStatus.RUNNING, expect={JobStatus.QUEUED}, log="Started.", **fields)
        except InvalidTransition:
            self.job.refresh_from_db()  # cancelled in between: the loop sees it

    def _worker(self) -> str:
        return self.token.rsplit(":", 1)[0]

    def ensure_lease(self) -> None:
        if self.heartbeat.lost.is_set() or not lease.holds(self.job_id, self.token):
            raise LeaseLost()

    def slice_used(self) -> bool:
        return time.monotonic() - self.began >= self.slice_seconds

    def plan_changed(self) -> None:
        self._count_steps()

    def _count_steps(self) -> None:
        counts = JobStep.objects.filter(job_id=self.job_id, is_group=False).aggregate(
            total=Count("pk"), done=Count("pk", filter=Q(status__in=STEP_DONE))
        )
        with self._progress_lock:
            self.total_steps, self.done_steps = counts["total"], counts["done"]

    def job_progress(self, *, extra: float = 0.0, finishing: bool = False) -> int:
        with self._progress_lock:
            done = self.done_steps + (1 if finishing else 0) + extra
            return int(100 * min(done, self.total_steps) / max(self.total_steps, 1))

    # -- choosing what runs next ---------------------------------------------------------------
    def _next_batch(self) -> list[JobStep]:
        """The first unfinished step outside a failed swimlane (with the rest of its parallel group)."""
        remaining = (
            JobStep.objects.filter(
                job_id=self.job_id, is_group=False, status__in=(StepStatus.PENDING, StepStatus.RUNNING)
            )
            .exclude(parent__status=StepStatus.FAILED)
            .select_related("parent")
            .order_by("order")
        )
        first = remaining.first()
        if first is None or not first.parallel_group:
            return [first] if first else []
        batch = []
        for step in remaining.filter(order__gte=first.order)[:1000]:
            if step.parallel_group != first.parallel_group:
                break
            batch.append(step)
        return batch

    def _run_batch(self, batch: list[JobStep]) -> list[str]:
        if len(batch) == 1:
            return [self._run_step(batch[0])]
        with ThreadPoolExecutor(
            max_workers=min(batch[0].max_parallel, len(batch)), thread_name_prefix="ferry-step"
        ) as pool:
            futures = [pool.submit(self._run_step_in_thread, step) for step in batch]
            results = [f.exception() or f.result() for f in futures]
        for result in results:
            if isinstance(result, BaseException):
                raise result  # LeaseLost or an engine bug: nothing more may be written
        return results

    def _run_step_in_thread(self, step: JobStep) -> str:
        try:
            return self._run_step(step)
        finally:
            connection.close()

    # -- one step, with its retries ------------------------------------------------------------
    def _run_step(self, step: JobStep) -> str:
        fresh = True  # just read by _next_batch
        while True:
            if not fresh:
                step.refresh_from_db()
            fresh = False
            try:
                if not self._wait_for_retry_time(step):
                    return CANCELLED  # cancelled while waiting to retry: the step stays pending
                outcome = self._attempt(step)
            except CancelRequested:
                step.transition(
                    StepStatus.CANCELLED, message="Cancelled at a safe point.",
                    log="Cancelled at a safe point.", log_level=LogLevel.WARNING,
                )
                return CANCELLED
            except Suspended:
                if step.status == StepStatus.RUNNING:
                    step.report(suspended=True)
                return SUSPENDED
            if outcome != RETRY:
                return outcome

    def _wait_for_retry_time(self, step: JobStep) -> bool:
        """Sleep until a retried step may run again, keeping the lease. False if cancelled meanwhile."""
        while step.not_before and timezone.now() < step.not_before:
            self.ensure_lease()
            if Job.objects.filter(pk=self.job_id, cancel_requested=True).exists():
                return False
            left = (step.not_before - timezone.now()).total_seconds()
            if self.slice_used() and left > 1:
                raise Suspended()
            time.sleep(max(0.0, min(left, 1.0)))
        return True

    def _attempt(self, step: JobStep) -> str:
        policy = self.job.failure_policy or {}
        self.ensure_lease()
        try:
            registered = get_step(step.name)
        except UnknownStep as exc:
            return self._failed(step, str(exc), FailureKind.ERROR, retry=False, started=False)
        if step.status == StepStatus.RUNNING:
            if step.suspended:
                step.report(suspended=False)
            else:
                limit = policy.get("max_resumes_per_step", conf.get("MAX_RESUMES_PER_STEP"))
                if step.resumes + 1 > limit:
                    return self._failed(
                        step, f"The worker running this step was lost {step.resumes + 1} times; not trying again.",
                        FailureKind.LOST, retry=False,
                    )
                step.report(resumes=step.resumes + 1)
                step_log = "Its worker was lost; running it again (it checks the real state first)."
                self.job.write_log(step_log, LogLevel.WARNING, step=step)
        else:
            attempt = step.attempts + 1
            note = f" (attempt {attempt} of {step.retries + 1})" if attempt > 1 else ""
            lane_running = step.parent_id is not None and step.parent.status == StepStatus.RUNNING
            step.transition(
                StepStatus.RUNNING, attempts=F("attempts") + 1, message="", failure_kind="", progress=0,
                not_before=None, log=f"Started{note}.", roll_up=not lane_running,
            )
            step.attempts = attempt
        ctx = JobContext(self, step)
        try:
            result = registered.func(ctx)
        except WaitTimedOut as exc:
            return self._failed(step, exc.message, FailureKind.TIMEOUT, retry=exc.retry, node_state=exc.node_state)
        except StepFailed as exc:
            return self._failed(step, exc.message, FailureKind.FAILED, retry=exc.retry, node_state=exc.node_state)
        except (LeaseLost, CancelRequested, Suspended):
            raise
        except Exception as exc:
            logger.exception("Job %s step %s (%s) raised", self.job_id, step.pk, step.name)
            return self._failed(step, f"Unexpected error: {type(exc).__name__}: {exc}", FailureKind.ERROR)
        if result is not None and not isinstance(result, StepResult):
            return self._failed(
                step, f"Step returned {type(result).__name__}, not StepResult", FailureKind.ERROR, retry=False
            )
        result = result or StepResult()
        self.ensure_lease()
        new = StepStatus.SKIPPED if result.skipped else StepStatus.SUCCEEDED
        fields = {"message": result.message[:500], "progress": 100 if new == StepStatus.SUCCEEDED else step.progress}
        if result.data:
            fields["data"] = {**step.data, **result.data}
        verb = "Skipped" if result.skipped else "Succeeded"
        text = f"{verb}: {result.message}" if result.message else f"{verb}."
        step.transition(new, job_progress=self.job_progress(finishing=True), log=text, **fields)
        with self._progress_lock:
            self.done_steps += 1
        return DONE

    def _failed(self, step, message: str, kind: str, *, retry: bool = True, started: bool = True,
                node_state: str = "") -> str:
        self.ensure_lease()
        if not started and step.status != StepStatus.RUNNING:
            step.transition(StepStatus.RUNNING, attempts=F("attempts") + 1)
            step.attempts += 1
        if retry and step.attempts <= step.retries and self._take_node_retry(step):
            base = step.retry_delay if step.retry_delay is not None else float(conf.get("RETRY_DELAY_SECONDS"))
            delay = min(base * 2 ** max(step.attempts - 1, 0), float(conf.get("RETRY_DELAY_MAX_SECONDS")))
            text = f"Attempt {step.attempts} failed: {message} Retrying in {delay:g} s."
            step.transition(
                StepStatus.PENDING, not_before=timezone.now() + timedelta(seconds=delay), failure_kind=kind,
                message=text[:500], log=text, log_level=LogLevel.WARNING,
            )
            return RETRY
        step.transition(
            StepStatus.FAILED, failure_kind=kind, message=message[:500],
            log=f"Failed: {message}", log_level=LogLevel.ERROR,
        )
        self._record_node_failure(step, node_state)
        return FAILED

    def _record_node_failure(self, step: JobStep, stated: str) -> None:
        """A node step failed for good: name the state its node is left in, on the lane (the job page,
        the recovery actions) and, through the step's app, on the host."""
        if not step.parent_id:
            return
        describe = node_failure_describer(step.name)
        failure = NodeFailure(stated) if stated else None
        if describe is not None:
            try:
                failure = describe(self.job, step, stated) or failure
            except (LeaseLost, CancelRequested, Suspended):
                raise
            except Exception:
                logger.exception("Job %s: describing the failed node of step %s raised", self.job_id, step.pk)
        if failure is None or not failure.state:
            return
        self.ensure_lease()
        with transaction.atomic():
            seq = bump(self.job_id)
            lane = JobStep.objects.select_for_update().get(pk=step.parent_id)
            data = {**lane.data, "node_state": failure.state, "in_service": failure.in_service,
                    "resumable": failure.resumable, "host_id": failure.host_id, "failed_step": step.pk}
            JobStep.objects.filter(pk=lane.pk).update(data=data, message=failure.state[:500], changed_seq=seq)
        self.job.write_log(f"{lane.title} is left {failure.state}.", LogLevel.ERROR, step=step)

    def _take_node_retry(self, step: JobStep) -> bool:
        """MaxRetriesPerNode: retries are counted per swimlane (node), across its steps."""
        limit = (self.job.failure_policy or {}).get("max_retries_per_node")
        if limit is None or not step.parent_id:
            return True
        with transaction.atomic():
            allowed = JobStep.objects.filter(pk=step.parent_id, attempts__lt=limit).update(attempts=F("attempts") + 1)
        if not allowed:
            self.job.write_log(
                f"{step.parent.title} has used its {limit} retries (max retries per node); not retrying {step.title}.",
                LogLevel.WARNING, step=step,
            )
        return bool(allowed)

    # -- endings -------------------------------------------------------------------------------
    def _apply_failure_policy(self, failed: list[JobStep]) -> str | None:
        """MaxFailedNodes: a failed step fails its node; the job stops once more nodes failed than allowed.
        A failed step outside any node fails the job."""
        if any(not s.parent_id for s in failed):
            step = next(s for s in failed if not s.parent_id)
            return self._end(JobStatus.FAILED, f"{step.title} failed: {step.message}")
        allowed = (self.job.failure_policy or {}).get("max_failed_nodes") or 0
        failed_nodes = list(
            JobStep.objects.filter(job_id=self.job_id, is_group=True, status=StepStatus.FAILED)
            .values_list("title", flat=True)
        )
        if len(failed_nodes) > allowed:
            return self._end(
                JobStatus.FAILED,
                f"{len(failed_nodes)} {self._lane()}(s) failed ({', '.join(failed_nodes)}); the failure policy allows "
                f"{allowed}."
                + self._failed_nodes_text(),
            )
        for step in failed:
            self.job.write_log(
                f"{step.parent.title} failed; going on with the other {self._lane()}s "
                f"({len(failed_nodes)} of {allowed} allowed failed {self._lane()}s).", LogLevel.WARNING,
            )
        return None

    def _lane(self) -> str:
        """What one swimlane is, in the failure messages: a node, or a campaign's cluster."""
        return "cluster" if self.job.kind == "campaign" else "node"

    def _finish(self) -> str:
        failed_nodes = list(
            JobStep.objects.filter(job_id=self.job_id, is_group=True, status=StepStatus.FAILED)
            .values_list("title", flat=True)
        )
        if failed_nodes:
            return self._end(JobStatus.FAILED, f"Finished, but {len(failed_nodes)} {self._lane()}(s) failed: "
                             f"{', '.join(failed_nodes)}." + self._failed_nodes_text())
        return self._end(JobStatus.SUCCEEDED, "")

    def _failed_nodes_text(self) -> str:
        """What happened to each failed node and what the operator can do next."""
        lanes = JobStep.objects.filter(job_id=self.job_id, is_group=True, status=StepStatus.FAILED).order_by("order")
        text = ""
        for lane in lanes:
            state = lane.data.get("node_state")
            if not state:
                continue
            text += f" {lane.title} is {state}."
            if lane.data.get("in_service"):
                text += " Next: Retry from the failed step, or Skip the failed node and go on."
            elif lane.data.get("resumable"):
                text += (f" Next: once the machine is fixed, Resume node brings {lane.title} back into the"
                         " cluster with its VMs; or Retry from the failed step.")
            else:
                text += " Next: once the machine is fixed, Retry from the failed step."
        return text

    def _finish_cancelled(self) -> str:
        self.job.refresh_from_db(fields=["cancel_requested_by"])
        running = JobStep.objects.filter(job_id=self.job_id, is_group=False, status=StepStatus.RUNNING)
        for step in running:
            step.transition(StepStatus.CANCELLED, message="Cancelled at a safe point.")
        who = self.job.cancel_requested_by.get_username() if self.job.cancel_requested_by_id else "an operator"
        return self._end(JobStatus.CANCELLED, f"Cancelled by {who}.")

    def _finish_stopped_after(self) -> str:
        minutes = self.job.failure_policy.get("stop_after_minutes")
        return self._end(JobStatus.CANCELLED, f"Stopped: the job ran past its stop-after limit of {minutes:g} minutes.")

    def _end(self, status: str, error: str) -> str:
        self.ensure_lease()
        if status == JobStatus.FAILED:
            self._before_failing()
        level = LogLevel.INFO if status == JobStatus.SUCCEEDED else LogLevel.ERROR
        text = {JobStatus.SUCCEEDED: "Job succeeded.", JobStatus.CANCELLED: error}.get(status, f"Job failed: {error}")
        fields = {"error": error, "lease_owner": "", "lease_expires": None}
        if status == JobStatus.SUCCEEDED:
            fields["progress"] = 100
        self.job.transition(
            status, expect={JobStatus.RUNNING, JobStatus.CANCELLING}, log=text, log_level=level, **fields
        )
        return status

    def _before_failing(self) -> None:
        hook = job_failure_hook(self.job.kind)
        if hook is None:
            return
        try:
            hook(self.job)
        except (LeaseLost, CancelRequested, Suspended):
            raise
        except Exception as exc:
            logger.exception("Job %s: the failure hook of %s raised", self.job_id, self.job.kind)
            self.job.write_log(f"Could not refresh the inventory before ending: {exc}", LogLevel.WARNING)
        self.ensure_lease()

    def _hand_over(self) -> str:
        """The time slice is used: let a fresh task continue (q2 kills a task past its timeout)."""
        lease.release(self.job_id, self.token, pickup=True)
        transaction.on_commit(lambda: enqueue(self.job_id))
        return "continues in a new task"
