"""Job, JobStep (the plan and its checkpoints) and JobLogEntry.

Status changes go through `Job.transition` / `JobStep.transition` only: each checks the vocabulary
in choices.py, updates with a guarded query, bumps the job's `seq` in the same transaction and
rings the doorbell after commit (jobs.events).
"""
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from jobs import signals
from jobs.choices import (
    ACTIVE,
    RESTARTABLE,
    STEP_DONE,
    TERMINAL,
    FailureKind,
    InvalidTransition,
    JobStatus,
    LogLevel,
    StepStatus,
    check_job_transition,
    check_step_transition,
    kind_label,
)
from jobs.events import bump


class Job(models.Model):
    kind = models.CharField(max_length=50, db_index=True, help_text="remediation, upgrade, scan, discovery…")
    title = models.CharField(max_length=200)
    target_label = models.CharField("target", max_length=200, blank=True)
    target_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    target_id = models.CharField(max_length=64, blank=True)
    lock_key = models.CharField(
        max_length=200, blank=True, help_text="At most one active job per lock key, e.g. cluster:12."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    params = models.JSONField("parameters", default=dict, blank=True)
    failure_policy = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True, help_text="Stop-after limit of the failure policy.")

    cancel_requested = models.BooleanField(default=False)
    cancel_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveIntegerField(default=0, help_text="Task invocations that held the lease.")
    restarts = models.PositiveIntegerField(default=0)

    seq = models.BigIntegerField(default=0, help_text="Bumped by every change, in the same transaction.")
    plan_seq = models.BigIntegerField(default=0, help_text="The seq at which steps were last added.")
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lock_key"],
                condition=Q(status__in=sorted(ACTIVE)) & ~Q(lock_key=""),
                name="jobs_one_active_job_per_lock_key",
            )
        ]
        indexes = [models.Index(fields=["status", "lease_expires"], name="jobs_job_status_lease")]

    def __str__(self):
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self):
        return reverse("jobs:job_detail", args=[self.pk])

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def is_restartable(self) -> bool:
        return self.status in RESTARTABLE

    @property
    def target(self):
        if self.target_type_id and self.target_id:
            model = self.target_type.model_class()
            if model is not None:
                return model._default_manager.filter(pk=self.target_id).first()
        return None

    @property
    def duration(self):
        if not self.started:
            return None
        return (self.finished or timezone.now()) - self.started

    def can_view(self, user) -> bool:
        from core.roles import VIEWER, has_role

        return has_role(user, VIEWER)

    def transition(self, new: str, *, expect=None, log: str = "", log_level: str = LogLevel.INFO, **fields) -> int:
        """Change status from one of `expect` (default: the status this instance holds) to `new`.

        Raises InvalidTransition when the vocabulary forbids it or someone changed the job first.
        """
        expected = set(expect or {self.status})
        for old in expected:
            check_job_transition(old, new)
        if new in TERMINAL:
            fields.setdefault("finished", timezone.now())
        with transaction.atomic():
            changed = Job.objects.filter(pk=self.pk, status__in=expected).update(status=new, **fields)
            if not changed:
                raise InvalidTransition(f"Job #{self.pk} is no longer {' or '.join(sorted(expected))}.")
            seq = bump(self.pk)
            if log:
                JobLogEntry.objects.create(job_id=self.pk, level=log_level, message=log, seq=seq)
            if new in TERMINAL:
                signals.finished(self.pk, new)
        self.status, self.seq = new, seq
        for name, value in fields.items():
            if not hasattr(value, "resolve_expression"):
                setattr(self, name, value)
        return seq

    def write_log(self, message: str, level: str = LogLevel.INFO, step=None) -> int:
        with transaction.atomic():
            seq = bump(self.pk)
            JobLogEntry.objects.create(job_id=self.pk, step=step, level=level, message=message, seq=seq)
        return seq


class JobStep(models.Model):
    """One row of the plan. Rows with `is_group` are the swimlanes (one per node); their status is a
    roll-up of their children's. Leaf rows run in `order`."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="steps")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    is_group = models.BooleanField(default=False)
    order = models.PositiveIntegerField()
    name = models.CharField(max_length=150, blank=True, help_text="The registered step function.")
    title = models.CharField(max_length=200)
    target = models.CharField(max_length=200, blank=True)
    params = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=10, choices=StepStatus.choices, default=StepStatus.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    failure_kind = models.CharField(max_length=8, choices=FailureKind.choices, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0, help_text="Runs started; for a group: retries used.")
    retries = models.PositiveIntegerField(default=0)
    retry_delay = models.FloatField(null=True, blank=True, help_text="Seconds before the first retry.")
    resumes = models.PositiveIntegerField(default=0, help_text="Times the step ran again after its worker died.")
    parallel_group = models.CharField(max_length=100, blank=True)
    max_parallel = models.PositiveSmallIntegerField(default=1)
    not_before = models.DateTimeField(null=True, blank=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True, help_text="Checkpoint saved by the step.")
    waiting_for = models.CharField(max_length=300, blank=True)
    wait_deadline = models.DateTimeField(null=True, blank=True)
    suspended = models.BooleanField(default=False, help_text="Handed to a later task while waiting.")
    added_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changed_seq = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["job", "order"]
        indexes = [models.Index(fields=["job", "changed_seq"], name="jobs_step_job_changed")]

    def __str__(self):
        return self.title

    @property
    def duration(self):
        if not self.started:
            return None
        return (self.finished or timezone.now()) - self.started

    def transition(
        self, new: str, *, log: str = "", log_level: str = LogLevel.INFO, job_progress: int | None = None,
        roll_up: bool = True, **fields,
    ) -> int:
        """Change this step's status (guarded), roll its swimlane up (the engine skips that when it
        knows nothing changes there), optionally log and set the job's progress."""
        old = self.status
        check_step_transition(old, new)
        now = timezone.now()
        if new == StepStatus.RUNNING:
            fields.setdefault("started", self.started or now)
            fields.setdefault("finished", None)
        elif new == StepStatus.PENDING:
            fields.setdefault("finished", None)
        else:
            fields.setdefault("finished", now)
            fields.setdefault("waiting_for", "")
            fields.setdefault("wait_deadline", None)
        with transaction.atomic():
            seq = bump(self.job_id, progress=job_progress)
            changed = JobStep.objects.filter(pk=self.pk, status=old).update(status=new, changed_seq=seq, **fields)
            if not changed:
                raise InvalidTransition(f"Step {self.title!r} is no longer {old}.")
            if self.parent_id and roll_up:
                roll_up_group(self.parent_id, seq)
            if log:
                JobLogEntry.objects.create(job_id=self.job_id, step_id=self.pk, level=log_level, message=log, seq=seq)
        self.status, self.changed_seq = new, seq
        for name, value in fields.items():
            if not hasattr(value, "resolve_expression"):
                setattr(self, name, value)
        return seq

    def report(self, *, job_progress: int | None = None, **fields) -> int:
        """Save progress, message, checkpoint data or what the step waits for (not its status)."""
        with transaction.atomic():
            seq = bump(self.job_id, progress=job_progress)
            JobStep.objects.filter(pk=self.pk).update(changed_seq=seq, **fields)
        for name, value in fields.items():
            setattr(self, name, value)
        self.changed_seq = seq
        return seq


def roll_up_group(group_id: int, seq: int) -> None:
    """A swimlane's status, timings and progress follow its steps."""
    children = list(
        JobStep.objects.filter(parent_id=group_id).values_list("status", "started", "finished", "progress")
    )
    statuses = [c[0] for c in children]
    if any(s == StepStatus.FAILED for s in statuses):
        status = StepStatus.FAILED
    elif statuses and all(s in STEP_DONE for s in statuses):
        status = StepStatus.SUCCEEDED
    elif any(s == StepStatus.CANCELLED for s in statuses):
        status = StepStatus.CANCELLED
    elif any(s != StepStatus.PENDING for s in statuses):
        status = StepStatus.RUNNING
    else:
        status = StepStatus.PENDING
    starts = [c[1] for c in children if c[1]]
    done = status in (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.CANCELLED)
    ends = [c[2] for c in children if c[2]]
    progress = sum(100 if s in STEP_DONE else p for s, _, _, p in children) // max(len(children), 1)
    JobStep.objects.filter(pk=group_id).update(
        status=status,
        started=min(starts) if starts else None,
        finished=max(ends) if done and ends else None,
        progress=progress,
        changed_seq=seq,
    )


class JobLogEntry(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="log")
    step = models.ForeignKey(JobStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="log")
    time = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=8, choices=LogLevel.choices, default=LogLevel.INFO)
    message = models.TextField()
    seq = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["job", "id"]
        indexes = [models.Index(fields=["job", "seq"], name="jobs_log_job_seq")]
        verbose_name_plural = "job log entries"

    def __str__(self):
        return self.message[:80]
