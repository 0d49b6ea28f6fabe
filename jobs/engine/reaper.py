"""Resume: find active jobs whose lease expired (the worker died, its machine rebooted, or the
broker lost the message) and queue them again; they go on at their first unfinished step."""
import logging
import threading
from datetime import timedelta

from django.db import connection, transaction
from django.db.models.functions import Now

from jobs import conf
from jobs.choices import ACTIVE, LogLevel, StepStatus
from jobs.events import bump
from jobs.models import Job, JobLogEntry, JobStep

logger = logging.getLogger("ferry.jobs")


def reap() -> list[int]:
    """Queue again every active job whose lease (or pickup deadline) passed. Returns their ids."""
    from jobs.engine.plan import enqueue

    expired = list(
        Job.objects.filter(status__in=ACTIVE, lease_expires__lt=Now()).values_list("pk", "lease_owner")
    )
    resumed = []
    pickup = timedelta(seconds=conf.get("PICKUP_SECONDS"))
    for pk, owner in expired:
        with transaction.atomic():
            taken = Job.objects.filter(
                pk=pk, status__in=ACTIVE, lease_owner=owner, lease_expires__lt=Now()
            ).update(lease_owner="", lease_expires=Now() + pickup)
            if not taken:
                continue  # another reaper, or the worker came back
            seq = bump(pk)
            if owner:
                step = JobStep.objects.filter(
                    job_id=pk, is_group=False, status__in=(StepStatus.PENDING, StepStatus.RUNNING)
                ).order_by("order").first()
                where = f" at “{step.title}”" if step else ""
                message = f"Worker {owner.rsplit(':', 1)[0]} stopped renewing its lease; resuming the job{where}."
                level = LogLevel.WARNING
            else:
                message = "No worker picked the job up in time; queueing it again."
                level = LogLevel.INFO
            JobLogEntry.objects.create(job_id=pk, level=level, message=message, seq=seq)
            transaction.on_commit(lambda pk=pk: enqueue(pk))
        resumed.append(pk)
    if resumed:
        logger.warning("Resumed jobs whose worker was lost: %s", resumed)
    return resumed


class ReaperThread(threading.Thread):
    """Runs reap() every REAP_SECONDS inside a qcluster worker process (started on post_spawn), so
    a job resumes soon after its lease expires; the q2 schedule is the slower safety net."""

    def __init__(self):
        super().__init__(name="ferry-reaper", daemon=True)
        self.stop_event = threading.Event()

    def run(self) -> None:
        interval = float(conf.get("REAP_SECONDS"))
        while not self.stop_event.wait(interval):
            try:
                reap()
            except Exception:
                logger.warning("The job reaper failed; trying again in %s s", interval, exc_info=True)
            finally:
                connection.close()


_thread: ReaperThread | None = None


def start_reaper_thread(proc_name: str = "", **_signal_kwargs) -> None:
    """post_spawn handler. q2 in sync mode also sends post_spawn, from the calling process: no
    reaper there (it is not a worker)."""
    global _thread
    from django_q.conf import Conf

    if Conf.SYNC or proc_name == "MainProcess":
        return
    if conf.get("REAP_SECONDS") and (_thread is None or not _thread.is_alive()):
        _thread = ReaperThread()
        _thread.start()
