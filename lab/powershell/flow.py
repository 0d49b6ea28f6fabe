"""Control-flow signals and the pipeline's unrolling rules, shared by the evaluator modules."""
from __future__ import annotations

from . import nodes as n

UNSET = object()
# statements whose success ($?) is that of the last statement they ran
COMPOUND = (n.If, n.Foreach, n.While, n.For, n.Try, n.FunctionDef)


class ExitSignal(Exception):
    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


class BreakSignal(Exception):
    pass


class ContinueSignal(Exception):
    pass


class ReturnSignal(Exception):
    pass


def unwrap(items: list):
    if not items:
        return None
    return items[0] if len(items) == 1 else list(items)


def enumerate_value(value) -> list:
    """What writing ``value`` to the pipeline emits: arrays are unrolled one level."""
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]
