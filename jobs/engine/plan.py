"""Building a job: the plan as rows, one active job per lock key; cancel and restart."""
import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from jobs import conf
from jobs.choices import ACTIVE, RESTARTABLE, InvalidTransition, JobStatus, LogLevel, StepStatus
from jobs.engine.registry import get_step
from jobs.events import bump
from jobs.models import Job, JobLogEntry, JobStep, roll_up_group

NODE_STATE_KEYS = {"node_state", "in_service", "resumable", "host_id", "failed_step"}  # set by the runner on a failed lane
POLICY_KEYS = {"max_retries_per_node", "max_failed_nodes", "stop_after_minutes", "max_resumes_per_step"}


@dataclass
class PlanStep:
    """One step of a plan. `group` puts it in a swimlane (one per node: the failure policy counts
    failed groups as failed nodes); consecutive steps sharing a `parallel_group` run together, at
    most `max_parallel` at a time."""

    name: str
    title: str = ""
    target: str = ""
    params: dict = field(default_factory=dict)
    group: str = ""
    retries: int | None = None
    retry_delay: float | None = None
    parallel_group: str = ""
    max_parallel: int = 4


def validate_plan(plan) -> list[PlanStep]:
    steps = list(plan)
    if not steps:
        raise ValueError("A plan needs at least one step")
    for step in steps:
        if not isinstance(step, PlanStep):
            raise TypeError(f"A plan is a list of PlanStep, not {type(step).__name__}")
        get_step(step.name)  # UnknownStep (a LookupError) names the culprit
        _check_json(step.params, f"parameters of step {step.name!r}")
        if step.retries is not None and step.retries < 0:
            raise ValueError(f"retries of step {step.name!r} cannot be negative")
        if step.parallel_group and step.max_parallel < 1:
            raise ValueError(f"max_parallel of step {step.name!r} must be at least 1")
    return steps


def validate_policy(policy: dict | None) -> dict:
    policy = dict(policy or {})
    unknown = set(policy) - POLICY_KEYS
    if unknown:
        raise ValueError(f"Unknown failure policy setting(s): {', '.join(sorted(unknown))}")
    for key, value in policy.items():
        if value is not None and (not isinstance(value, (int, float)) or value < 0):
            raise ValueError(f"Failure policy {key} must be a number ≥ 0 or None, not {value!r}")
    return policy


def _check_json(value, what: str) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"The {what} must be JSON (numbers, text, lists, dicts): {exc}") from None


def submit_job(
    *,
    kind: str,
    title: str,
    plan,
    target=None,
    lock_key: str = "",
    requested_by=None,
    params: dict | None = None,
    failure_policy: dict | None = None,
):
    """Create a job with its whole plan and queue it. Returns (job, created).

    With a `lock_key`, a second request while a job with that key is active returns
    (that job, False): the database enforces it, so concurrent requests cannot both win.
    """
    steps = validate_plan(plan)
    policy = validate_policy(failure_policy)
    params = dict(params or {})
    _check_json(params, "job parameters")
    target_fields = _target_fields(target)
    user = requested_by if getattr(requested_by, "is_authenticated", False) else None
    if lock_key:
        existing = Job.objects.filter(lock_key=lock_key, status__in=ACTIVE).first()
        if existing:
            return existing, False
    try:
        with transaction.atomic():
            job = Job.objects.create(
                kind=kind,
                title=title[:200],
                lock_key=lock_key,
                requested_by=user,
                params=params,
                failure_policy=policy,
                lease_expires=timezone.now() + timedelta(seconds=conf.get("PICKUP_SECONDS")),
                **target_fields,
            )
            seq = bump(job.pk, plan=True)
            create_rows(job, steps, seq=seq)
            who = user.get_username() if user else "the system"
            JobLogEntry.objects.create(job=job, message=f"Queued by {who} with {len(steps)} steps.", seq=seq)
            transaction.on_commit(lambda: enqueue(job.pk))
    except IntegrityError:
        if not lock_key:
            raise
        existing = Job.objects.filter(lock_key=lock_key, status__in=ACTIVE).first()
        if existing is None:
            raise
        return existing, False
    return job, True


def _lanes_to_skip(job: Job, failed: list[JobStep]) -> list[JobStep]:
    lanes = list(JobStep.objects.filter(job=job, is_group=True, pk__in={s.parent_id for s in failed if s.parent_id}))
    if not lanes:
        raise InvalidTransition("No node failed in this job: there is no node to skip.")
    for lane in lanes:
        if not lane.data.get("in_service"):
            state = lane.data.get("node_state") or "not back in service"
            raise InvalidTransition(
                f"{lane.title} is {state}: going on would take another node out while it is still out. "
                f"Bring it back first (Resume node), then skip it."
            )
    return lanes


def _target_fields(target) -> dict:
    if target is None:
        return {}
    if isinstance(target, models.Model):
        from django.contrib.contenttypes.models import ContentType

        return {
            "target_label": str(target)[:200],
            "target_type": ContentType.objects.get_for_model(target),
            "target_id": str(target.pk),
        }
    return {"target_label": str(target)[:200]}


def create_rows(job: Job, steps: list[PlanStep], *, seq: int, start: int = 1, added_by=None) -> list[JobStep]:
    """Insert plan rows from order `start` on; steps of a group already in the job join its lane."""
    groups = {g.title: g for g in JobStep.objects.filter(job=job, is_group=True)}
    order = start
    created = []
    for plan_step in steps:
        registered = get_step(plan_step.name)
        parent = None
        if plan_step.group:
            parent = groups.get(plan_step.group)
            if parent is None:
                parent = JobStep.objects.create(
                    job=job, is_group=True, order=order, title=plan_step.group[:200],
                    target=plan_step.group[:200], changed_seq=seq,
                )
                groups[plan_step.group] = parent
                order += 1
        retries = registered.retries if plan_step.retries is None else plan_step.retries
        delay = registered.retry_delay if plan_step.retry_delay is None else plan_step.retry_delay
        created.append(
            JobStep.objects.create(
                job=job,
                parent=parent,
                order=order,
                name=plan_step.name,
                title=(plan_step.title or registered.title or plan_step.name)[:200],
                target=plan_step.target[:200],
                params=plan_step.params,
                retries=retries,
                retry_delay=delay,
                parallel_group=plan_step.parallel_group,
                max_parallel=plan_step.max_parallel if plan_step.parallel_group else 1,
                added_by=added_by,
                changed_seq=seq,
            )
        )
        order += 1
    return created


def insert_steps(step: JobStep, plan, *, at: str = "next") -> list[JobStep]:
    """Add steps to a running job (a planner step). Done once per planner step: on a re-run after
    a crash the steps it added before are returned instead of adding them twice."""
    steps = validate_plan(plan)
    if at not in ("next", "end"):
        raise ValueError("at must be 'next' or 'end'")
    with transaction.atomic():
        locked = JobStep.objects.select_for_update().get(pk=step.pk)
        if locked.data.get("_added_steps"):
            return list(JobStep.objects.filter(added_by=step, is_group=False).order_by("order"))
        seq = bump(step.job_id, plan=True)
        existing_groups = set(JobStep.objects.filter(job_id=step.job_id, is_group=True).values_list("title", flat=True))
        new_groups = {s.group for s in steps if s.group and s.group not in existing_groups}
        rows_needed = len(steps) + len(new_groups)
        if at == "next":
            start = locked.order + 1
            JobStep.objects.filter(job_id=step.job_id, order__gte=start).update(order=models.F("order") + rows_needed)
        else:
            start = (JobStep.objects.filter(job_id=step.job_id).aggregate(m=models.Max("order"))["m"] or 0) + 1
        created = create_rows(step.job, steps, seq=seq, start=start, added_by=step)
        data = dict(locked.data, _added_steps=len(created))
        JobStep.objects.filter(pk=step.pk).update(data=data, changed_seq=seq)
        step.data = data
        JobLogEntry.objects.create(
            job_id=step.job_id, step=step, seq=seq, message=f"Added {len(created)} steps to the plan."
        )
    return created


def enqueue(job_id: int) -> None:
    from django_q.tasks import async_task

    async_task("jobs.tasks.run_job", job_id, group="ferry-jobs", task_name=f"job-{job_id}-{timezone.now():%H%M%S%f}")


def cancel_job(job: Job, user=None) -> Job:
    """Save the cancel request. A job nobody started is cancelled at once; a running one stops at
    its next safe point (never in the middle of a live migration or an OS install)."""
    who = user.get_username() if user else "the system"
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status == JobStatus.QUEUED and not job.lease_owner:
            job.transition(
                JobStatus.CANCELLED, cancel_requested=True, cancel_requested_by=user, lease_expires=None,
                log=f"Cancelled by {who} before it started.", log_level=LogLevel.WARNING,
            )
        elif job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
            job.transition(
                JobStatus.CANCELLING, cancel_requested=True, cancel_requested_by=user,
                log=f"Cancel requested by {who}; the job stops at its next safe point.", log_level=LogLevel.WARNING,
            )
        elif job.status != JobStatus.CANCELLING:
            raise InvalidTransition(f"Job #{job.pk} has already finished ({job.get_status_display().lower()}).")
    return job


def restart_job(job: Job, user=None, *, skip_failed: bool = False, skip_node: bool = False) -> Job:
    """Run a failed or cancelled job again from its last good step. With `skip_failed` the failed
    step is marked skipped and the job goes on after it (VMM: Restart-SCJob -SkipLastFailedStep).
    With `skip_node` the rest of each failed node's lane is skipped and the job goes on with the
    other nodes; refused while a failed node is still out of service (the next node would be a
    second one out at once)."""
    who = user.get_username() if user else "the system"
    try:
        with transaction.atomic():
            job = Job.objects.select_for_update().get(pk=job.pk)
            if job.status not in RESTARTABLE:
                raise InvalidTransition(f"Only a failed or cancelled job can be restarted; #{job.pk} is {job.status}.")
            if job.lock_key:
                other = Job.objects.filter(lock_key=job.lock_key, status__in=ACTIVE).exclude(pk=job.pk).first()
                if other:
                    raise InvalidTransition(f"Job #{other.pk} ({other.title}) is already active on {job.target_label or job.lock_key}.")
            leaves = JobStep.objects.filter(job=job, is_group=False).exclude(
                status__in=(StepStatus.SUCCEEDED, StepStatus.SKIPPED, StepStatus.PENDING)
            )
            failed = [s for s in leaves if s.status == StepStatus.FAILED]
            if skip_failed and not failed:
                raise InvalidTransition("There is no failed step to skip.")
            skipped_lanes = _lanes_to_skip(job, failed) if skip_node else []
            lane_ids = {lane.pk for lane in skipped_lanes}
            retried = list(JobStep.objects.filter(job=job, is_group=True, status=StepStatus.FAILED,
                                                  data__has_key="node_state").exclude(pk__in=lane_ids))
            reset = {"attempts": 0, "resumes": 0, "failure_kind": "", "not_before": None, "suspended": False, "progress": 0}
            for lane in skipped_lanes:
                text = f"{lane.title} skipped by {who}; it is {lane.data.get('node_state') or 'not remediated'}."
                for step in JobStep.objects.filter(parent=lane, status__in=(StepStatus.PENDING, StepStatus.FAILED)):
                    step.transition(StepStatus.SKIPPED, message=text[:500], roll_up=False)
                JobLogEntry.objects.create(job=job, step=lane, level=LogLevel.WARNING, message=text, seq=bump(job.pk))
            for step in leaves:
                if step.parent_id in lane_ids:
                    continue
                if skip_failed and step.status == StepStatus.FAILED:
                    step.transition(StepStatus.SKIPPED, message=f"Skipped on restart by {who}", log=f"Skipped on restart by {who}.", log_level=LogLevel.WARNING)
                else:
                    step.transition(StepStatus.PENDING, message="", **reset)
            seq = bump(job.pk)
            for lane in retried:  # its state is named again if it fails again
                data = {k: v for k, v in lane.data.items() if k not in NODE_STATE_KEYS}
                JobStep.objects.filter(pk=lane.pk).update(data=data, message="")
            JobStep.objects.filter(job=job, is_group=True).update(attempts=0)
            for group_id in JobStep.objects.filter(job=job, is_group=True).values_list("pk", flat=True):
                roll_up_group(group_id, seq)
            job.transition(
                JobStatus.QUEUED,
                cancel_requested=False, cancel_requested_by=None, error="", finished=None, deadline=None,
                restarts=models.F("restarts") + 1, lease_owner="",
                lease_expires=timezone.now() + timedelta(seconds=conf.get("PICKUP_SECONDS")),
                log=f"Restarted by {who}" + (" skipping the failed node." if skip_node else
                                             " skipping the failed step." if skip_failed else " from the failed step."),
            )
            transaction.on_commit(lambda: enqueue(job.pk))
    except IntegrityError:
        raise InvalidTransition(f"Another job is already active on {job.target_label or job.lock_key}.") from None
    job.refresh_from_db()
    return job
