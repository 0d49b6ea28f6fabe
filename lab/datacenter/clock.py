"""Simulated time: durations in simulated seconds, run `speed` times faster than the wall clock."""
from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
import threading
import time

log = logging.getLogger("lab.clock")


class SimClock:
    def __init__(self, speed: float):
        if speed <= 0:
            raise ValueError("speed must be greater than 0")
        self.speed = float(speed)
        self._mono0 = time.monotonic()
        self._start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def now(self) -> dt.datetime:
        """The simulated date and time (UTC), starting at the real time the lab started."""
        return self._start + dt.timedelta(seconds=(time.monotonic() - self._mono0) * self.speed)

    def elapsed(self) -> float:
        """Simulated seconds since the lab started."""
        return (time.monotonic() - self._mono0) * self.speed

    def wall(self, simulated_seconds: float) -> float:
        return simulated_seconds / self.speed

    def sleep(self, simulated_seconds: float) -> None:
        if simulated_seconds > 0:
            time.sleep(simulated_seconds / self.speed)


class Scheduler:
    """One thread that runs callbacks at wall-clock deadlines (a reboot finishing, a host shutting down)."""

    def __init__(self, name: str = "lab-scheduler"):
        self._heap: list = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def after(self, wall_seconds: float, callback, *args) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + max(wall_seconds, 0.0), next(self._counter),
                                        callback, args))
            self._cond.notify()

    def every(self, wall_seconds: float, callback) -> None:
        def tick():
            try:
                callback()
            finally:
                if not self._stopped:
                    self.after(wall_seconds, tick)
        self.after(wall_seconds, tick)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    if self._heap and self._heap[0][0] <= time.monotonic():
                        break
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, _, callback, args = heapq.heappop(self._heap)
            try:
                callback(*args)
            except Exception:
                log.exception("scheduled callback %s failed", getattr(callback, "__name__", callback))
