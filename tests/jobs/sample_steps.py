"""Steps used by the job tests. Each leaves an observable trace in files named by the job's
parameters, so a test (or another process) can prove what ran and how often:

- `runs` file: one line per invocation of a step ("<key> <pid>");
- `effects` file: one line per action done — a step looks at it before acting, as real steps look
  at the machine, so an action is never done twice even when the step runs again.
"""
import os
import threading
import time
from pathlib import Path

from jobs.engine import PlanStep, StepFailed, StepResult, register_step

_lock = threading.Lock()
concurrency = {"now": 0, "max": 0}


def _append(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def lines(path) -> list[str]:
    p = Path(path)
    return p.read_text().splitlines() if p.exists() else []


def _key(ctx) -> str:
    return ctx.step.params.get("key") or ctx.step.title


def _ran(ctx) -> str:
    key = _key(ctx)
    if ctx.params.get("runs"):
        _append(ctx.params["runs"], f"{key} {os.getpid()}")
    return key


def _act(ctx, key: str) -> bool:
    """Do the action once: look at the effects file first."""
    effects = ctx.params["effects"]
    if key in lines(effects):
        return False
    ctx.ensure_lease()
    _append(effects, key)
    return True


@register_step("tests.jobs.sample_steps.record")
def record(ctx):
    """Wait `seconds` (renewing the lease), then do its action once."""
    key = _ran(ctx)
    seconds = float(ctx.step.params.get("seconds", 0))
    if seconds:
        ctx.sleep(seconds, cancellable=False)
    done = _act(ctx, key)
    return StepResult("done" if done else "already done earlier", skipped=not done)


@register_step("tests.jobs.sample_steps.gated")
def gated(ctx):
    """Wait until the test creates the file `<gates>/<key>`, then act."""
    key = _ran(ctx)
    gate = Path(ctx.params["gates"]) / key
    ctx.wait_until(gate.exists, deadline_s=float(ctx.params.get("gate_deadline", 60)), poll_s=0.05,
                   waiting_for=f"gate {key}", cancellable=ctx.step.params.get("cancellable", True))
    _act(ctx, key)
    return StepResult(f"{key} passed its gate")


@register_step("tests.jobs.sample_steps.flaky")
def flaky(ctx):
    """Fails (StepFailed) its first `failures` runs, then acts."""
    key = _ran(ctx)
    runs = [line for line in lines(ctx.params["runs"]) if line.split()[0] == key]
    if len(runs) <= int(ctx.step.params.get("failures", 1)):
        raise StepFailed(f"{key}: the host did not answer (run {len(runs)})")
    _act(ctx, key)


@register_step("tests.jobs.sample_steps.broken")
def broken(ctx):
    """An unexpected error, until the file `<gates>/fixed-<key>` exists."""
    key = _ran(ctx)
    if not (Path(ctx.params["gates"]) / f"fixed-{key}").exists():
        return {}["missing"]
    _act(ctx, key)


@register_step("tests.jobs.sample_steps.busy")
def busy(ctx):
    """Holds a slot for a moment and records how many ran at once."""
    key = _ran(ctx)
    with _lock:
        concurrency["now"] += 1
        concurrency["max"] = max(concurrency["max"], concurrency["now"])
    try:
        time.sleep(float(ctx.step.params.get("seconds", 0.2)))
    finally:
        with _lock:
            concurrency["now"] -= 1
    _act(ctx, key)


@register_step("tests.jobs.sample_steps.discover")
def discover(ctx):
    """A planner: adds one record step per node in params['nodes'], each in its own swimlane."""
    _ran(ctx)
    added = ctx.add_steps([
        PlanStep("tests.jobs.sample_steps.record", title=f"Update {node}", group=node, params={"key": f"update-{node}"})
        for node in ctx.params["nodes"]
    ])
    return StepResult(f"found {len(added)} nodes")


@register_step("tests.jobs.sample_steps.wait_forever")
def wait_forever(ctx):
    _ran(ctx)
    ctx.wait_until(lambda: False, deadline_s=float(ctx.step.params.get("deadline", 0.3)), poll_s=0.05,
                   waiting_for="something that never happens")


@register_step("tests.jobs.sample_steps.noop")
def noop(ctx):
    return None
