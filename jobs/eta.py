"""When a running job will end, from how long the same steps took before.

Each step kind (the registered step name) has a typical duration: the median of its last
HISTORY succeeded runs on the same target (the job's lock key, e.g. one cluster; the running job's
own finished steps count), or, without any there, of its last runs anywhere. A running step is
expected to take its typical duration (at least what it has taken so far); steps that share a
parallel group run `max_parallel` at a time. Skipped steps took no real time, so they are neither
history nor expected to take any. While the job waits for a maintenance window to open, no time of
day can be promised: the estimate is then the work left after the window opens (`paused`).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from jobs.choices import ACTIVE, StepStatus
from jobs.models import Job, JobStep

HISTORY = 10
SCAN_LIMIT = 5000  # finished steps read at most per query
PENDING = (StepStatus.PENDING, StepStatus.RUNNING)
WINDOW_WAIT = "the maintenance window"  # fabric.maintenance.wait_for_window names its wait with it


@dataclass(frozen=True)
class Eta:
    finish: datetime | None      # None: no step of the rest of the plan has run before
    remaining: timedelta | None
    unknown_steps: int = 0       # steps still to run that have no history at all
    paused: str = ""             # "Paused until Thu 02:00 (maintenance window)": the work left starts then

    @property
    def known(self) -> bool:
        return self.finish is not None

    @property
    def minutes_left(self) -> int:
        return max(1, round(self.remaining.total_seconds() / 60)) if self.remaining is not None else 0


def _median(durations) -> float | None:
    values = [d.total_seconds() for d in durations]
    return statistics.median(values) if values else None


def typical_durations(names: set[str], lock_key: str) -> dict[str, float]:
    """Step name → typical seconds, from the same target first and from anywhere second (two
    queries at most, newest runs first)."""
    done = JobStep.objects.filter(
        is_group=False, status=StepStatus.SUCCEEDED, started__isnull=False, finished__isnull=False
    ).annotate(took=F("finished") - F("started")).order_by("-finished")
    history: dict[str, list] = {}
    if lock_key:
        for name, took in done.filter(name__in=names, job__lock_key=lock_key).values_list("name", "took")[:SCAN_LIMIT]:
            history.setdefault(name, []).append(took)
    elsewhere = names - set(history)
    if elsewhere:
        for name, took in done.filter(name__in=elsewhere).values_list("name", "took")[:SCAN_LIMIT]:
            history.setdefault(name, []).append(took)
    return {name: _median(runs[:HISTORY]) for name, runs in history.items()}


def estimate(job: Job, now: datetime | None = None) -> Eta | None:
    """The ETA of an active job; None for a job that has ended."""
    if job.status not in ACTIVE:
        return None
    now = now or timezone.now()
    rest = list(job.steps.filter(is_group=False, status__in=PENDING).values(
        "name", "status", "started", "parallel_group", "max_parallel", "waiting_for", "message"))
    if not rest:
        return Eta(now, timedelta(0))
    paused = next((s["message"] for s in rest if s["status"] == StepStatus.RUNNING
                   and s["waiting_for"].startswith(WINDOW_WAIT)), "")
    typical = typical_durations({s["name"] for s in rest}, job.lock_key)
    seconds, unknown, known = 0.0, 0, 0
    for step in rest:
        expected = typical.get(step["name"])
        if expected is None:
            unknown += 1
            continue
        known += 1
        if step["status"] == StepStatus.RUNNING and step["started"] and not paused:
            expected = max(expected - (now - step["started"]).total_seconds(), 0.0)
        if step["parallel_group"] and step["max_parallel"] > 1:
            expected /= step["max_parallel"]
        seconds += expected
    if not known:
        return Eta(None, None, unknown, paused)
    remaining = timedelta(seconds=seconds)
    return Eta(None if paused else now + remaining, remaining, unknown, paused)
