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
