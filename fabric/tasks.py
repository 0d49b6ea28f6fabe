"""django-q2 entry points of the fabric app (kept thin: the work is in fabric.inventory)."""
import logging

log = logging.getLogger(__name__)

REFRESH_SCHEDULE_NAME = "Refresh the fabric"
DEFAULT_REFRESH_MINUTES = 15


def refresh_fabric() -> str:
    """Periodic task: queue one refresh task per cluster and standalone host.

    One task per target keeps each invocation short (well inside the q2 timeout) and lets the
    workers refresh several clusters at once; a silent cluster delays nobody else.
    """
    from django_q.tasks import async_task

    from fabric.models import Cluster, Host

    targets = [("cluster", pk) for pk in Cluster.objects.values_list("pk", flat=True)]
    targets += [("host", pk) for pk in Host.objects.filter(cluster__isnull=True).values_list("pk", flat=True)]
    for kind, pk in targets:
        async_task("fabric.tasks.refresh_target", kind, pk, task_name=f"refresh {kind} {pk}", group="fabric refresh")
    return f"queued {len(targets)} refreshes"


def refresh_target(kind: str, pk: int) -> list[str]:
    """Task: refresh one cluster ("cluster") or host ("host") by primary key; returns the problems."""
    from fabric.inventory import refresh_cluster, refresh_host
    from fabric.models import Cluster, Host

    model = Cluster if kind == "cluster" else Host
    target = model.objects.filter(pk=pk).first()
    if target is None:
        return []  # removed from management since the refresh was queued
    problems = refresh_cluster(target) if kind == "cluster" else refresh_host(target)
    for problem in problems:
        log.warning("refresh %s: %s", target, problem)
    return problems


def ensure_refresh_schedule(minutes: int = DEFAULT_REFRESH_MINUTES) -> None:
    """Install, change or (minutes=0) remove the periodic refresh on the q2 scheduler."""
    from django_q.models import Schedule

    if minutes <= 0:
        Schedule.objects.filter(name=REFRESH_SCHEDULE_NAME).delete()
        return
    Schedule.objects.update_or_create(
        name=REFRESH_SCHEDULE_NAME,
        defaults=dict(func="fabric.tasks.refresh_fabric", schedule_type=Schedule.MINUTES, minutes=minutes,
                      repeats=-1),
    )
