"""The database watcher of each web process (DESIGN §4.4): in one query, which jobs changed since
it last looked; it rings this process's consumers itself. Every 0.05 s on the embedded default
(where it is the only path from a worker process to the browsers), every few seconds as a safety
net when Redis carries the doorbells (FERRY_JOBS_WATCH_SECONDS)."""
import logging
import threading
from datetime import timedelta

from django.db import connection
from django.db.models import Max

from jobs import conf
from jobs.live import hub

logger = logging.getLogger("ferry.jobs")

# changed_at comes from the database clock at statement time; a transaction commits a little
# later, so each look goes back this far and relies on seq to skip what it already rang.
OVERLAP = timedelta(seconds=5)


class Watcher(threading.Thread):
    def __init__(self, interval: float):
        super().__init__(name="ferry-job-watcher", daemon=True)
        self.interval = interval
        self.stop_event = threading.Event()
        self.since = None
        self.rung: dict[int, int] = {}

    def run(self) -> None:
        try:
            while not self.stop_event.wait(self.interval):
                if not hub.has_subscribers():
                    continue
                try:
                    self.look()
                except Exception:
                    logger.warning("The job watcher could not read the database", exc_info=True)
                    connection.close()
        finally:
            connection.close()

    def look(self) -> None:
        from jobs.models import Job

        if self.since is None:
            self.since = Job.objects.aggregate(m=Max("changed_at"))["m"]
            if self.since is None:
                from django.utils import timezone

                self.since = timezone.now() - OVERLAP
        rows = list(Job.objects.filter(changed_at__gte=self.since - OVERLAP).values_list("pk", "seq", "changed_at"))
        rung = {}
        for pk, seq, changed_at in rows:
            rung[pk] = seq
            if seq > self.rung.get(pk, -1):
                hub.notify(pk, seq)
            if changed_at > self.since:
                self.since = changed_at
        self.rung = rung


_watcher: Watcher | None = None
_lock = threading.Lock()


def ensure_started() -> None:
    global _watcher
    with _lock:
        if _watcher is None or not _watcher.is_alive():
            _watcher = Watcher(conf.watch_seconds())
            _watcher.start()


def stop() -> None:
    global _watcher
    with _lock:
        if _watcher is not None:
            _watcher.stop_event.set()
            _watcher = None
