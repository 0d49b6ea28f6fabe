"""The lease: which worker may act for a job, until when. Times come from the database clock so
workers on several machines agree. A worker renews while alive and checks before each action."""
import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta

from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Now

from jobs import conf
from jobs.choices import ACTIVE
from jobs.events import bump
from jobs.models import Job

logger = logging.getLogger("ferry.jobs")


def new_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _ttl() -> timedelta:
    return timedelta(seconds=float(conf.get("LEASE_SECONDS")))


def acquire(job_id: int, token: str) -> bool:
    """Take the job if it is active and nobody holds a live lease on it."""
    with transaction.atomic():
        taken = (
            Job.objects.filter(pk=job_id, status__in=ACTIVE)
            .filter(Q(lease_owner="") | Q(lease_expires__isnull=True) | Q(lease_expires__lt=Now()))
            .update(lease_owner=token, lease_expires=Now() + _ttl(), attempt=F("attempt") + 1)
        )
        if taken:
            bump(job_id)
    return bool(taken)


def renew(job_id: int, token: str) -> bool:
    return bool(Job.objects.filter(pk=job_id, lease_owner=token).update(lease_expires=Now() + _ttl()))


def holds(job_id: int, token: str) -> bool:
    """Whether this worker still holds the job (a read: the heartbeat renews). A scan of a thousand
    hosts asks this once per host, from many threads; a write each time queued them all behind the
    database's write lock."""
    return Job.objects.filter(pk=job_id, lease_owner=token).exists()


def release(job_id: int, token: str, *, pickup: bool = False) -> None:
    """Let go of the job. With `pickup` the job is about to be enqueued again: the reaper re-sends
    it if no worker took it within PICKUP_SECONDS (a message lost by the broker)."""
    expires = Now() + timedelta(seconds=conf.get("PICKUP_SECONDS")) if pickup else None
    Job.objects.filter(pk=job_id, lease_owner=token).update(lease_owner="", lease_expires=expires)


class Heartbeat:
    """Renews the lease every third of its length while the worker process is alive."""

    def __init__(self, job_id: int, token: str):
        self.job_id, self.token = job_id, token
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ferry-lease-{job_id}", daemon=True)

    def start(self) -> "Heartbeat":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        ttl = float(conf.get("LEASE_SECONDS"))
        last_ok = time.monotonic()
        try:
            while not self._stop.wait(ttl / 3):
                try:
                    if not renew(self.job_id, self.token):
                        self.lost.set()
                        return
                    last_ok = time.monotonic()
                except Exception:
                    logger.warning("Could not renew the lease of job %s", self.job_id, exc_info=True)
                    close_old_connections()
                    connection.close()
                    if time.monotonic() - last_ok > ttl:
                        self.lost.set()
                        return
        finally:
            connection.close()
