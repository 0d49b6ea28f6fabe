"""Timings of the job engine, from `settings.FERRY_JOBS` or the environment (FERRY_JOBS_<NAME>).

Read at call time so tests can shrink them (and pass them to the processes they start).
"""
import os

from django.conf import settings

DEFAULTS = {
    # A worker holds a job for this long and renews it every third of it while alive.
    "LEASE_SECONDS": 60.0,
    # How often each qcluster looks for active jobs whose lease expired (besides the q2 schedule).
    "REAP_SECONDS": 15.0,
    # How long one task invocation may work before it hands the job to a fresh task
    # (must stay well below Q_CLUSTER["timeout"]).
    "SLICE_SECONDS": 300.0,
    # A queued job nobody picked up within this time is enqueued again (a lost broker message).
    "PICKUP_SECONDS": 300.0,
    # The database watcher of each web process; 0 turns it off. None = 0.05 s, or 3 s with Redis.
    "WATCH_SECONDS": None,
    # Default first retry delay of a step (doubles per attempt, at most RETRY_DELAY_MAX_SECONDS).
    "RETRY_DELAY_SECONDS": 5.0,
    "RETRY_DELAY_MAX_SECONDS": 300.0,
    # A step whose worker died this many times fails instead of running again (a crash loop).
    "MAX_RESUMES_PER_STEP": 3,
}


def get(name: str):
    overrides = getattr(settings, "FERRY_JOBS", {}) or {}
    if name in overrides:
        return overrides[name]
    raw = os.environ.get(f"FERRY_JOBS_{name}")
    default = DEFAULTS[name]
    if raw is None or raw == "":
        return default
    return type(default)(raw) if default is not None else float(raw)


def watch_seconds() -> float:
    value = get("WATCH_SECONDS")
    if value is None:
        return 3.0 if getattr(settings, "REDIS_URL", "") else 0.05
    return float(value)
