"""Signals other apps listen to (notifications), sent after the change is committed.

- `job_finished(sender=Job, job_id, status)`: a job reached succeeded, failed or cancelled.
- `job_needs_attention(sender=Job, job_id, reason)`: a job waits on something only a person can
  give it (e.g. a maintenance window); send it with `needs_attention(job, reason)`.

A receiver that raises is logged, never passed on to the job.
"""
import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger("ferry.jobs")

job_finished = Signal()
job_needs_attention = Signal()


def _send(signal, **kwargs) -> None:
    from jobs.models import Job

    for receiver, result in signal.send_robust(sender=Job, **kwargs):
        if isinstance(result, Exception):
            logger.warning("%s failed for job %s: %s", getattr(receiver, "__name__", receiver),
                           kwargs.get("job_id"), result, exc_info=result)


def finished(job_id: int, status: str) -> None:
    transaction.on_commit(lambda: _send(job_finished, job_id=job_id, status=status))


def needs_attention(job, reason: str) -> None:
    job_id = job.pk
    transaction.on_commit(lambda: _send(job_needs_attention, job_id=job_id, reason=reason))
