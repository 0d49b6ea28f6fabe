"""Delivery timings, from `settings.FERRY_NOTIFY` or the environment (FERRY_NOTIFY_<NAME>); read at
call time so tests can shrink them."""
import os

from django.conf import settings

DEFAULTS = {
    # Attempts per delivery (the first and its retries).
    "ATTEMPTS": 5,
    # Wait before the first retry; doubles after each failed attempt, at most RETRY_DELAY_MAX_SECONDS.
    "RETRY_DELAY_SECONDS": 5.0,
    "RETRY_DELAY_MAX_SECONDS": 600.0,
    # A webhook receiver that has not answered in this time has failed this attempt.
    "TIMEOUT_SECONDS": 10.0,
    # One task invocation waits for retries this long at most; later ones go to the minute schedule.
    "SLICE_SECONDS": 60.0,
}


def get(name: str):
    overrides = getattr(settings, "FERRY_NOTIFY", {}) or {}
    if name in overrides:
        return overrides[name]
    raw = os.environ.get(f"FERRY_NOTIFY_{name}")
    default = DEFAULTS[name]
    return default if raw in (None, "") else type(default)(raw)
