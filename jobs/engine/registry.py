"""Step functions registered by name. A name not registered yet is looked up by importing every
app's `steps` module (once), and a dotted name's own module: `register_step("tests.jobs.sample_steps.record")`
in tests/jobs/sample_steps.py is found by any worker process."""
from dataclasses import dataclass
from importlib import import_module
from typing import Callable

from django.utils.module_loading import autodiscover_modules

from jobs.engine.errors import UnknownStep


@dataclass(frozen=True)
class Step:
    """A registered step: `func(ctx) -> StepResult | None` plus its defaults."""

    name: str
    func: Callable
    retries: int = 0
    retry_delay: float | None = None  # seconds before the first retry; None = FERRY_JOBS RETRY_DELAY_SECONDS
    title: str = ""


_REGISTRY: dict[str, Step] = {}


def register_step(name: str, *, retries: int = 0, retry_delay: float | None = None, title: str = ""):
    """Decorator: `@register_step("fabric.refresh_host", retries=2)` over `def refresh_host(ctx): ...`."""
    if not name or " " in name:
        raise ValueError(f"A step name is a dotted identifier, not {name!r}")

    def decorate(func):
        existing = _REGISTRY.get(name)
        if existing is not None and existing.func.__qualname__ != func.__qualname__:
            raise ValueError(f"Step {name!r} is already registered by {existing.func.__module__}")
        _REGISTRY[name] = Step(name=name, func=func, retries=retries, retry_delay=retry_delay, title=title)
        return func

    return decorate


@dataclass(frozen=True)
class NodeFailure:
    """What a node step that failed for good left its node in, in words an operator acts on."""

    state: str                 # "Down in HV22, its VMs moved to HV22-N2, HV22-N3; did not come back after its restart"
    in_service: bool = False   # Up with its workloads: the job may go on without it
    resumable: bool = False    # Resume node (resume it, bring its VMs back) applies
    host_id: int | None = None


_NODE_FAILURE: dict[str, Callable] = {}
_JOB_FAILURE: dict[str, Callable] = {}


def describe_node_failure(*names: str):
    """Decorator: `fn(job, step, stated: str) -> NodeFailure | None` names the state a node is left in
    once one of these steps failed for good (`stated`: what the step itself said, may be empty)."""

    def decorate(func):
        for name in names:
            _NODE_FAILURE[name] = func
        return func

    return decorate


def on_job_failure(*kinds: str):
    """Decorator: `fn(job) -> None` runs under the lease before a job of these kinds ends failed (e.g.
    to refresh the inventory of the nodes it touched)."""

    def decorate(func):
        for kind in kinds:
            _JOB_FAILURE[kind] = func
        return func

    return decorate


def node_failure_describer(name: str):
    return _NODE_FAILURE.get(name)


def job_failure_hook(kind: str):
    _discover()
    return _JOB_FAILURE.get(kind)


_discovered = False


def _discover() -> None:
    global _discovered
    if not _discovered:
        autodiscover_modules("steps")
        _discovered = True


def get_step(name: str) -> Step:
    step = _REGISTRY.get(name)
    if step is None and "." in name:
        module = name.rsplit(".", 1)[0]
        try:
            import_module(module)
        except ModuleNotFoundError as exc:
            if not module.startswith(exc.name or "\0"):
                raise  # the module exists but imports something missing: a real error
        step = _REGISTRY.get(name)
    if step is None:
        _discover()
        step = _REGISTRY.get(name)
    if step is None:
        raise UnknownStep(f"No step is registered as {name!r}")
    return step


def registered_names() -> list[str]:
    _discover()
    return sorted(_REGISTRY)
