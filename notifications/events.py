"""From job events to notifications: which event it is, and a task that finds who hears of it."""
import logging

from notifications.choices import Event

logger = logging.getLogger("ferry.notifications")


def _precheck_refusal(job_id: int) -> str:
    """The reason a job's precheck refused it (nothing was changed yet), or ""."""
    from jobs.choices import FailureKind, StepStatus
    from jobs.models import JobStep

    step = (JobStep.objects.filter(job_id=job_id, is_group=False, status=StepStatus.FAILED,
                                   failure_kind=FailureKind.FAILED, name__endswith=".precheck")
            .order_by("order").first())
    return step.message if step else ""


def classify(job) -> tuple[str, str] | None:
    """(event, reason) for a finished job; None for a cancelled one (someone chose that)."""
    from jobs.choices import JobStatus

    if job.status == JobStatus.SUCCEEDED:
        return Event.SUCCEEDED, ""
    if job.status == JobStatus.FAILED:
        refusal = _precheck_refusal(job.pk)
        if refusal:
            return Event.NEEDS_ATTENTION, refusal
        return Event.FAILED, job.error
    return None


def _enqueue_notify(job_id: int, event: str, reason: str) -> None:
    from django_q.tasks import async_task

    from notifications.models import Subscription

    if not Subscription.objects.filter(active=True).exists():
        return
    async_task("notifications.tasks.notify", job_id, event, reason, group="ferry-notify")


def job_finished(sender, job_id: int, status: str, **kwargs) -> None:
    from jobs.models import Job

    job = Job.objects.filter(pk=job_id).first()
    verdict = classify(job) if job is not None else None
    if verdict:
        _enqueue_notify(job_id, *verdict)


def job_needs_attention(sender, job_id: int, reason: str, **kwargs) -> None:
    _enqueue_notify(job_id, Event.NEEDS_ATTENTION, reason)
