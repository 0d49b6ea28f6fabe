"""Where a job's time goes on the wire: every WinRM script a step runs, counted and timed per kind of step.

`counting()` wraps the one place every script goes through (fabric.agents.runner._Run.once) and the
engine's step attempt, so each script is charged to the step that ran it (a migration thread's
scripts to the step that started the thread).
"""
from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import defaultdict

_current = threading.local()


class Trace:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    def add(self, step: str, operation: str, seconds: float) -> None:
        if re.match(r"^[A-Z][a-z]+-[A-Za-z]+ ", operation):  # "Move-ClusterVirtualMachineRole vm → node"
            operation = operation.split(" ", 1)[0]
        with self.lock:
            self.calls[step][operation].append(seconds)

    def summary(self, steps_per_kind: dict[str, int]) -> dict:
        """Per kind of step: scripts per step, and their median seconds, by operation."""
        out = {}
        for step, operations in sorted(self.calls.items()):
            count = max(1, steps_per_kind.get(step, 1))
            out[step] = {
                operation: {"per_step": round(len(times) / count, 2),
                            "median_ms": round(sorted(times)[len(times) // 2] * 1000, 1)}
                for operation, times in sorted(operations.items(), key=lambda kv: -len(kv[1]))
            }
        return out


@contextlib.contextmanager
def counting():
    from concurrent.futures import ThreadPoolExecutor

    from fabric.agents import runner as agents_runner
    from jobs.engine import runner as engine_runner

    trace = Trace()
    once, attempt, submit = agents_runner._Run.once, engine_runner.JobRunner._attempt, ThreadPoolExecutor.submit

    def timed_once(run):
        started = time.monotonic()
        try:
            return once(run)
        finally:
            trace.add(getattr(_current, "step", "outside a step"), run.operation, time.monotonic() - started)

    def named_attempt(runner, step):
        _current.step = step.name
        try:
            return attempt(runner, step)
        finally:
            _current.step = "outside a step"

    def inherited_submit(pool, fn, *args, **kwargs):
        step = getattr(_current, "step", "outside a step")

        def run(*a, **k):
            _current.step = step
            return fn(*a, **k)

        return submit(pool, run, *args, **kwargs)

    agents_runner._Run.once = timed_once
    engine_runner.JobRunner._attempt = named_attempt
    ThreadPoolExecutor.submit = inherited_submit
    try:
        yield trace
    finally:
        agents_runner._Run.once, engine_runner.JobRunner._attempt = once, attempt
        ThreadPoolExecutor.submit = submit
