"""django-q2 tasks (each invocation bounded): find who hears of a job event, deliver, retry.

A delivery is claimed with a guarded update before each attempt, so two tasks (the first one and
the minute schedule) never send it at once; a worker lost while sending leaves a claim that runs
out, and the schedule tries again.
"""
import logging
import time
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from notifications import conf
from notifications import delivery as sender
from notifications.choices import OPEN, DeliveryStatus, Event, Scope
from notifications.models import Delivery, DeliveryAttempt, Subscription

logger = logging.getLogger("ferry.notifications")

EVENT_FIELD = {Event.SUCCEEDED: "on_succeeded", Event.FAILED: "on_failed", Event.NEEDS_ATTENTION: "on_needs_attention"}


def _places(job) -> tuple[set, set]:
    """(cluster ids, host ids) a job acts on."""
    from fabric.models import Cluster, Host

    clusters, hosts = set(), set()
    target = job.target
    if isinstance(target, Cluster):
        clusters.add(target.pk)
    elif isinstance(target, Host):
        hosts.add(target.pk)
    params = job.params or {}
    if params.get("cluster_id"):
        clusters.add(params["cluster_id"])
    hosts.update(h for h in params.get("host_ids", []) if isinstance(h, int))
    if params.get("host_id"):
        hosts.add(params["host_id"])
    hosts |= set(Host.objects.filter(cluster_id__in=clusters).values_list("pk", flat=True))
    clusters |= set(Host.objects.filter(pk__in=hosts, cluster_id__isnull=False).values_list("cluster_id", flat=True))
    return clusters, hosts


def subscribers(job, event: str) -> list[Subscription]:
    """Active subscriptions to `event` whose scope covers the job and whose user may see it."""
    clusters, hosts = _places(job)
    scope = Q(scope=Scope.EVERYTHING) | Q(scope=Scope.CLUSTER, cluster_id__in=clusters) | Q(
        scope=Scope.HOST, host_id__in=hosts)
    candidates = Subscription.objects.filter(scope, active=True, user__is_active=True,
                                             **{EVENT_FIELD[event]: True}).select_related("user")
    return [s for s in candidates if job.can_view(s.user)]


def payload_of(job, event: str, reason: str) -> dict:
    from django.conf import settings

    path = job.get_absolute_url()
    return {
        "event": event,
        "reason": reason,
        "occurred_at": timezone.now().isoformat(),
        "job": {"id": job.pk, "kind": job.kind, "title": job.title, "target": job.target_label,
                "status": job.status, "error": job.error, "restarts": job.restarts,
                "url": settings.FERRY_PUBLIC_URL.rstrip("/") + path if settings.FERRY_PUBLIC_URL else path},
    }


def notify(job_id: int, event: str, reason: str = "") -> int:
    """One delivery per subscriber of this event (once per job round), each sent by its own task."""
    from jobs.models import Job

    job = Job.objects.filter(pk=job_id).select_related("target_type").first()
    if job is None:
        return 0
    payload = payload_of(job, event, reason)
    made = []
    for subscription in subscribers(job, event):
        try:
            with transaction.atomic():
                row = Delivery.objects.create(
                    subscription=subscription, user=subscription.user, event=event, job=job,
                    job_round=job.restarts, target=job.target_label[:200], channel=subscription.channel,
                    destination=subscription.destination, payload=payload,
                )
        except IntegrityError:
            continue  # this task ran before: that delivery exists
        made.append(row.pk)
    for pk in made:
        enqueue(pk)
    return len(made)


def enqueue(delivery_id: int) -> None:
    from django_q.tasks import async_task

    async_task("notifications.tasks.deliver", delivery_id, group="ferry-notify")


def _claim(delivery_id: int) -> Delivery | None:
    now = timezone.now()
    hold = now + timedelta(seconds=float(conf.get("TIMEOUT_SECONDS")) + 60)
    taken = Delivery.objects.filter(pk=delivery_id, status__in=OPEN, next_attempt__lte=now).update(
        status=DeliveryStatus.SENDING, claimed_until=hold)
    if not taken:
        return None
    return Delivery.objects.select_related("subscription").get(pk=delivery_id)


def retry_delay(attempts: int) -> float:
    base = float(conf.get("RETRY_DELAY_SECONDS"))
    return min(base * 2 ** max(attempts - 1, 0), float(conf.get("RETRY_DELAY_MAX_SECONDS")))


def deliver(delivery_id: int) -> str:
    """Attempt the delivery, retrying with backoff inside this invocation while the waits are short;
    a longer wait is left to the minute schedule (`retry_due`)."""
    began = time.monotonic()
    while True:
        row = _claim(delivery_id)
        if row is None:
            return "not due, or already handled"
        outcome = sender.send(row)
        attempt = row.attempts + 1
        now = timezone.now()
        fields = {"attempts": attempt, "status_code": outcome.status_code, "error": outcome.error,
                  "claimed_until": None}
        with transaction.atomic():
            DeliveryAttempt.objects.create(delivery=row, number=attempt, time=now, status_code=outcome.status_code,
                                           error=outcome.error, ok=outcome.ok)
            if outcome.ok:
                Delivery.objects.filter(pk=row.pk).update(status=DeliveryStatus.DELIVERED, delivered=now, **fields)
                return "delivered"
            if attempt >= int(conf.get("ATTEMPTS")):
                Delivery.objects.filter(pk=row.pk).update(status=DeliveryStatus.FAILED, **fields)
                logger.warning("Notification %s to %s failed after %s attempts: %s", row.pk, row.destination,
                               attempt, outcome.error)
                return "failed"
            delay = retry_delay(attempt)
            Delivery.objects.filter(pk=row.pk).update(status=DeliveryStatus.RETRYING,
                                                      next_attempt=now + timedelta(seconds=delay), **fields)
        if time.monotonic() - began + delay > float(conf.get("SLICE_SECONDS")):
            return "retry left to the schedule"
        time.sleep(delay)


def retry_due() -> list[int]:
    """Every minute: deliveries whose retry is due, and claims of lost workers that ran out."""
    now = timezone.now()
    Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_until__lt=now).update(
        status=DeliveryStatus.RETRYING, claimed_until=None)
    due = list(Delivery.objects.filter(status__in=OPEN, next_attempt__lte=now).values_list("pk", flat=True)[:500])
    for pk in due:
        enqueue(pk)
    return due
