"""Operators with PowerShell's conversion rules (the left operand decides the comparison type)."""
from __future__ import annotations

import math
import re
import uuid
from datetime import datetime, timedelta

from .errors import runtime_error
from .values import (
    ConversionError,
    Hashtable,
    PSEnum,
    TypeInfo,
    arithmetic_number,
    as_utc,
    to_bool,
    to_datetime,
    to_number,
    to_string,
    type_name,
)

_NUMERIC = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _fold(text: str, case: bool) -> str:
    return text if case else text.casefold()


def equals(left, right, case: bool = False) -> bool:
    if left is None:
        return right is None
    if right is None:
        return False
    if isinstance(left, PSEnum):
        if isinstance(right, str) and not _NUMERIC.fullmatch(right):
            return _fold(left.name, case) == _fold(right.strip(), case)
        try:
            return int(left) == to_number(right, "System.Int64")
        except ConversionError:
            return False
    if isinstance(left, str):
        return _fold(left, case) == _fold(to_string(right), case)
    if isinstance(left, bool):
        return left == to_bool(right)
    if isinstance(left, (int, float)):
        if isinstance(right, (list, tuple, dict)):
            return False
        try:
            if isinstance(right, int) and not isinstance(right, bool):
                return left == int(right)
            return left == to_number(right, "System.Double")
        except ConversionError:
            return False
    if isinstance(left, datetime):
        try:
            return as_utc(left) == as_utc(to_datetime(right))
        except ConversionError:
            return False
    if isinstance(left, uuid.UUID):
        try:
            return left == (right if isinstance(right, uuid.UUID) else uuid.UUID(to_string(right)))
        except ValueError:
            return False
    if isinstance(left, timedelta):
        return isinstance(right, timedelta) and left == right
    if isinstance(left, (dict, list, tuple)):
        return left is right
    return left == right


def compare(left, right, case: bool = False) -> int:
    """Ordering for -gt/-lt and Sort-Object: negative, zero or positive."""
    if left is None or right is None:
        return (left is not None) - (right is not None)
    if isinstance(left, str) and not isinstance(left, PSEnum):
        a, b = _fold(left, case), _fold(to_string(right), case)
        return (a > b) - (a < b)
    if isinstance(left, datetime):
        a, b = as_utc(left), as_utc(to_datetime(right))
        return (a > b) - (a < b)
    if isinstance(left, timedelta) and isinstance(right, timedelta):
        return (left > right) - (left < right)
    if isinstance(left, (int, float)):
        b = to_number(right, "System.Double")
        return (left > b) - (left < b)
    a, b = to_string(left).casefold(), to_string(right).casefold()
    return (a > b) - (a < b)


def wildcard_regex(pattern: str, case: bool = False) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise runtime_error(f'The specified wildcard character pattern is not valid: {pattern}',
                                    "RuntimeException", "NotSpecified",
                                    "System.Management.Automation.WildcardPatternException")
            body = pattern[i + 1:end].replace("\\", "\\\\")
            out.append("[" + ("\\" + body if body.startswith("^") else body) + "]")
            i = end
        elif c == "`" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.compile("".join(out), re.DOTALL | (0 if case else re.IGNORECASE))
    except re.error:
        raise runtime_error(f'The specified wildcard character pattern is not valid: {pattern}',
                            "RuntimeException", "NotSpecified",
                            "System.Management.Automation.WildcardPatternException") from None


def contains_wildcards(pattern: str) -> bool:
    """WildcardPattern.ContainsWildcardCharacters: an unescaped *, ?, [ or ] (a cmdlet that finds
    nothing for such a pattern writes no error)."""
    i = 0
    while i < len(pattern):
        if pattern[i] == "`":
            i += 2
            continue
        if pattern[i] in "*?[]":
            return True
        i += 1
    return False


def like(value, pattern, case: bool = False) -> bool:
    return wildcard_regex(to_string(pattern), case).fullmatch(to_string(value)) is not None


def dotnet_regex(pattern: str, case: bool = False) -> re.Pattern:
    pattern = re.sub(r"\(\?<(?![=!])", "(?P<", pattern)
    pattern = re.sub(r"\\k<", "(?P=", pattern) if "\\k<" in pattern else pattern
    try:
        return re.compile(pattern, 0 if case else re.IGNORECASE)
    except re.error as exc:
        raise runtime_error(f'The regular expression pattern {pattern} is not valid.',
                            "InvalidRegularExpression", "InvalidOperation") from exc


def dotnet_replacement(text: str) -> str:
    text = text.replace("\\", "\\\\")
    text = re.sub(r"\$\{(\w+)\}", r"\\g<\1>", text)
    text = re.sub(r"\$(\d+)", r"\\g<\1>", text)
    return text.replace("$&", r"\g<0>").replace("$$", "$")


def match(interp, value, pattern, case: bool = False, record: bool = True) -> bool:
    m = dotnet_regex(to_string(pattern), case).search(to_string(value))
    if m and record:
        groups = Hashtable()
        groups[0] = m.group(0)
        for i, g in enumerate(m.groups(), 1):
            if g is not None:
                groups[i] = g
        for name, g in m.groupdict().items():
            if g is not None:
                groups[name] = g
        interp.set_var("Matches", groups)
    return m is not None


def _comparison(interp, op: str, left, right):
    prefixed = op[:2] in ("-c", "-i") and op[2:] in CMP
    case = prefixed and op[1] == "c"
    base = op[2:] if prefixed else op[1:]
    if base in ("contains", "notcontains"):
        items = left if isinstance(left, (list, tuple)) else [left]
        found = any(equals(item, right, case) for item in items)
        return found if base == "contains" else not found
    if base in ("in", "notin"):
        items = right if isinstance(right, (list, tuple)) else [right]
        found = any(equals(item, left, case) for item in items)
        return found if base == "in" else not found
    if base == "replace":
        pattern, replacement = (list(right) + ["", ""])[:2] if isinstance(right, (list, tuple)) else (right, "")
        rx = dotnet_regex(to_string(pattern), case)
        repl = dotnet_replacement(to_string(replacement))
        if isinstance(left, (list, tuple)):
            return [rx.sub(repl, to_string(v)) for v in left]
        return rx.sub(repl, to_string(left))
    if base == "split":
        pattern = (right[0] if right else "") if isinstance(right, (list, tuple)) else right
        limit = to_number(right[1]) if isinstance(right, (list, tuple)) and len(right) > 1 else 0
        rx = dotnet_regex(to_string(pattern), case)
        values = left if isinstance(left, (list, tuple)) else [left]
        out = []
        for v in values:
            out.extend(rx.split(to_string(v), maxsplit=max(0, limit - 1)))
        return out
    test = CMP[base]
    if isinstance(left, (list, tuple)):
        return [item for item in left if test(interp, item, right, case, False)]
    return test(interp, left, right, case, True)


def _ordered(pred):
    def test(interp, left, right, case, record):
        try:
            return pred(compare(left, right, case))
        except ConversionError as exc:
            raise runtime_error(f'Could not compare "{to_string(left)}" to "{to_string(right)}". '
                                f'Error: "{exc}"', "ComparisonFailure", "InvalidOperation") from None
    return test


CMP = {
    "eq": lambda i, a, b, c, r: equals(a, b, c),
    "ne": lambda i, a, b, c, r: not equals(a, b, c),
    "gt": _ordered(lambda x: x > 0), "ge": _ordered(lambda x: x >= 0),
    "lt": _ordered(lambda x: x < 0), "le": _ordered(lambda x: x <= 0),
    "like": lambda i, a, b, c, r: like(a, b, c),
    "notlike": lambda i, a, b, c, r: not like(a, b, c),
    "match": lambda i, a, b, c, r: match(i, a, b, c, r),
    "notmatch": lambda i, a, b, c, r: not match(i, a, b, c, r),
    "contains": None, "notcontains": None, "in": None, "notin": None, "replace": None, "split": None,
}


def add(left, right):
    if left is None:
        return list(right) if isinstance(right, (list, tuple)) else right
    if isinstance(left, (list, tuple)):
        return list(left) + (list(right) if isinstance(right, (list, tuple)) else [right])
    if isinstance(left, str):
        return left + to_string(right)
    if isinstance(left, Hashtable):
        if not isinstance(right, dict):
            raise runtime_error("A hash table can only be added to another hash table.",
                                "AddHashTableToNonHashTable")
        merged = Hashtable(left, ordered=left.ordered)
        for key, value in right.items():
            if merged.find_key(key) is not None:
                raise runtime_error(f"Item has already been added. Key in dictionary: '{key}'  "
                                    f"Key being added: '{key}'", "System.ArgumentException",
                                    "NotSpecified", "System.ArgumentException")
            merged[key] = value
        return merged
    if isinstance(left, datetime) and isinstance(right, timedelta):
        return left + right
    if isinstance(left, timedelta) and isinstance(right, timedelta):
        return left + right
    return _numeric("+", left, right)


def subtract(left, right):
    if isinstance(left, datetime) and isinstance(right, datetime):
        return as_utc(left) - as_utc(right)
    if isinstance(left, datetime) and isinstance(right, timedelta):
        return left - right
    if isinstance(left, timedelta) and isinstance(right, timedelta):
        return left - right
    return _numeric("-", left, right)


def multiply(left, right):
    if isinstance(left, str):
        return left * to_number(right)
    if isinstance(left, (list, tuple)):
        return list(left) * to_number(right)
    return _numeric("*", left, right)


def _numeric(op: str, left, right):
    if isinstance(left, (list, tuple, dict)) or isinstance(right, (list, tuple, dict)):
        raise runtime_error(f"Method invocation failed because [{type_name(left)}] does not contain "
                            f"a method named 'op_{OP_NAMES[op]}'.", "MethodNotFound")
    try:
        a, b = arithmetic_number(left), arithmetic_number(right)
    except ConversionError as exc:
        raise runtime_error(str(exc), exc.fqid, "InvalidArgument") from None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise runtime_error("Attempted to divide by zero.", "RuntimeException", "NotSpecified")
    if op == "/":
        if isinstance(a, int) and isinstance(b, int) and a % b == 0:
            return a // b
        return a / b
    result = math.fmod(a, b)
    return int(result) if isinstance(a, int) and isinstance(b, int) else result


OP_NAMES = {"+": "Addition", "-": "Subtraction", "*": "Multiply", "/": "Division", "%": "Modulus"}


def is_type(value, type_info: TypeInfo, resolve) -> bool:
    target = type_info.full_name
    if target in ("System.Object", "System.Management.Automation.PSObject"):
        return value is not None
    actual = type_name(value)
    if actual == target:
        return True
    if target == "System.Array" or target.endswith("[]"):
        return isinstance(value, (list, tuple))
    if target == "System.ValueType":
        return isinstance(value, (int, float, datetime, timedelta, uuid.UUID))
    if target == "System.Enum":
        return isinstance(value, PSEnum)
    if target == "System.Collections.IDictionary":
        return isinstance(value, Hashtable)
    return False


def binary(interp, op: str, left, right):
    if op == "+":
        return add(left, right)
    if op == "-":
        return subtract(left, right)
    if op == "*":
        return multiply(left, right)
    if op in ("/", "%"):
        return _numeric(op, left, right)
    if op in ("-band", "-bor", "-bxor", "-shl", "-shr"):
        a, b = to_number(left, "System.Int64"), to_number(right, "System.Int64")
        return {"-band": a & b, "-bor": a | b, "-bxor": a ^ b, "-shl": a << b, "-shr": a >> b}[op]
    if op == "-join":
        items = left if isinstance(left, (list, tuple)) else [left]
        return to_string(right).join(to_string(v) for v in items)
    if op in ("-is", "-isnot"):
        if not isinstance(right, TypeInfo):
            raise runtime_error("The right operand of '-is' must be a type.", "IsOperatorRequiresType")
        result = is_type(left, right, interp)
        return result if op == "-is" else not result
    if op == "-as":
        try:
            return interp.convert(left, right.full_name if isinstance(right, TypeInfo) else to_string(right))
        except Exception:
            return None
    if op == "-f":
        from .formatting import composite_format
        args = list(right) if isinstance(right, (list, tuple)) else [right]
        return composite_format(to_string(left), args)
    if op == "..":
        a, b = to_number(left), to_number(right)
        step = 1 if b >= a else -1
        return list(range(a, b + step, step))
    return _comparison(interp, op, left, right)


def unary(op: str, value):
    if op in ("!", "-not"):
        return not to_bool(value)
    if op == "-":
        if isinstance(value, timedelta):
            return -value
        return -arithmetic_number(value)
    if op == "+":
        return arithmetic_number(value)
    if op == "-bnot":
        return ~to_number(value, "System.Int64")
    if op == "-split":
        return to_string(value).split()
    if op == "-join":
        items = value if isinstance(value, (list, tuple)) else [value]
        return "".join(to_string(v) for v in items)
    raise runtime_error(f"Unexpected operator '{op}'.", "UnexpectedOperator")
