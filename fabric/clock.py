"""The wall clock maintenance windows and scheduled runs are judged by.

Normally the real time. Tests against the lab (whose simulated time runs `speed` times faster)
set `FERRY_CLOCK = {"start": <aware datetime or ISO text>, "speed": 100.0, "anchor": <time.time()>}`:
the clock then reads `start` at `anchor` and runs `speed` times faster than real time from there.
"""
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone


def _config() -> dict | None:
    return getattr(settings, "FERRY_CLOCK", None) or None


def now() -> datetime:
    config = _config()
    if not config:
        return timezone.now()
    start = config["start"]
    if isinstance(start, str):
        start = datetime.fromisoformat(start)
    elapsed = time.time() - float(config.get("anchor", time.time()))
    return start + timedelta(seconds=elapsed * float(config.get("speed", 1.0)))


def speed() -> float:
    config = _config()
    return float(config.get("speed", 1.0)) if config else 1.0


def real_seconds(clock_seconds: float) -> float:
    """How long `clock_seconds` of this clock last in real time."""
    return clock_seconds / speed()
