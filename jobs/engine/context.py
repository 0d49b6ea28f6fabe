"""What a step function gets: `ctx`. See jobs/engine/__init__.py for the contract."""
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from jobs.choices import LogLevel
from jobs.engine import lease
from jobs.engine.errors import CancelRequested, LeaseLost, Suspended, WaitTimedOut
from jobs.events import bump
from jobs.models import Job, JobLogEntry

logger = logging.getLogger("ferry.jobs")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


@dataclass
class StepResult:
    """What a step may return. `skipped=True`: it looked and found nothing to do."""

    message: str = ""
    skipped: bool = False
    data: dict = field(default_factory=dict)


class JobContext:
    def __init__(self, runner, step):
        self._runner = runner
        self.job: Job = runner.job
        self.step = step
        self.params = {**(self.job.params or {}), **(step.params or {})}

    # -- reporting ---------------------------------------------------------------------------
    def log(self, message: str, level: str = "info") -> None:
        level = LogLevel(level)
        logger.log(_LEVELS[level], "job %s / %s: %s", self.job.pk, self.step.title, message)
        with transaction.atomic():
            seq = bump(self.job.pk)
            JobLogEntry.objects.create(job_id=self.job.pk, step=self.step, level=level, message=str(message), seq=seq)

    def progress(self, percent: float, message: str | None = None) -> None:
        percent = max(0, min(100, int(percent)))
        fields = {"progress": percent}
        if message is not None:
            fields["message"] = str(message)[:500]
        if percent == self.step.progress and (message is None or message == self.step.message):
            return
        self.step.report(job_progress=self._runner.job_progress(extra=percent / 100), **fields)

    def save_checkpoint(self, **values) -> None:
        """Merge `values` into the step's checkpoint (`ctx.step.data`), committed now."""
        data = {**self.step.data, **values}
        self.step.report(data=data)

    # -- fencing and safe points ---------------------------------------------------------------
    def ensure_lease(self) -> None:
        """Call before every action on a machine: raises LeaseLost if another worker owns the job."""
        if self._runner.heartbeat.lost.is_set() or not lease.holds(self.job.pk, self._runner.token):
            raise LeaseLost(f"Job #{self.job.pk}: the lease moved to another worker")

    def check_cancel(self) -> None:
        """A safe point: stop here if an operator cancelled the job."""
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise CancelRequested()

    def sleep(self, seconds: float, *, cancellable: bool = True) -> None:
        """Pause inside a step while keeping the lease (and honouring cancel if `cancellable`)."""
        end = time.monotonic() + seconds
        while True:
            self.ensure_lease()
            if cancellable:
                self.check_cancel()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 1.0))

    def wait_until(self, predicate, deadline_s: float, poll_s: float = 5.0, *, waiting_for: str, cancellable: bool = True):
        """Poll `predicate()` until it returns something truthy (returned) or `deadline_s` passes
        (WaitTimedOut, a StepFailed). Shows `waiting_for` on the job page. The deadline is kept in
        the checkpoint, so it survives a worker restart. A wait longer than the worker's time slice
        hands the job to a fresh task, which runs this step again from its start: save a checkpoint
        before waiting so the step knows what it already did."""
        key = f"_wait_deadline:{waiting_for}"
        stored = self.step.data.get(key)
        if stored:
            deadline = datetime.fromisoformat(stored)
        else:
            deadline = timezone.now() + timedelta(seconds=deadline_s)
        self.step.report(
            waiting_for=waiting_for[:300], wait_deadline=deadline, data={**self.step.data, key: deadline.isoformat()}
        )
        while True:
            self.ensure_lease()
            if cancellable:
                self.check_cancel()
            value = predicate()
            if value:
                self._end_wait(key)
                return value
            left = (deadline - timezone.now()).total_seconds()
            if left <= 0:
                self._end_wait(key)
                raise WaitTimedOut(f"Gave up after {deadline_s:g} s waiting for {waiting_for}.")
            if self._runner.slice_used() and left > poll_s:
                raise Suspended()
            time.sleep(max(0.0, min(poll_s, left)))

    def _end_wait(self, key: str) -> None:
        data = {k: v for k, v in self.step.data.items() if k != key}
        self.step.report(waiting_for="", wait_deadline=None, data=data)

    # -- planning ----------------------------------------------------------------------------
    def add_steps(self, plan, *, at: str = "next"):
        """A planner step adds steps (right after itself, or at the end). Once per step: a re-run
        returns the rows it added before."""
        from jobs.engine.plan import insert_steps

        self.ensure_lease()
        created = insert_steps(self.step, plan, at=at)
        self._runner.plan_changed()
        return created
