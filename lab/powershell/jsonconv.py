"""ConvertTo-Json / ConvertFrom-Json with Windows PowerShell 5.1's rules.

5.1 serializes with JavaScriptSerializer: enums as numbers, DateTime as ``"\\/Date(ms)\\/"``,
``< > ' &`` escaped as ``\\u003c`` etc.; objects deeper than ``-Depth`` (default 2) are replaced
by their string form without a warning; the indented form has 4-space steps, two spaces after
each colon, and nested containers indented under their key.
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone

from .errors import ErrorRecord, PSException
from .members import TIMESPAN_PROPERTIES, error_members
from .values import Hashtable, PSEnum, PSObject, ScriptBlock, TypeInfo, as_utc, format_double, to_string

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
           "\t": "\\t", "<": "\\u003c", ">": "\\u003e", "'": "\\u0027", "&": "\\u0026"}
TIMESPAN_ORDER = ["Ticks", "Days", "Hours", "Milliseconds", "Minutes", "Seconds", "TotalDays",
                  "TotalHours", "TotalMilliseconds", "TotalMinutes", "TotalSeconds"]


class _Date:
    def __init__(self, ms: int):
        self.ms = ms


def _quote(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in ESCAPES:
            out.append(ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _deep_string(value) -> str:
    """LanguagePrimitives.ConvertTo(value, string) as 5.1 uses beyond -Depth."""
    if isinstance(value, ErrorRecord):
        return value.message
    if isinstance(value, PSException):
        return str(value)
    return to_string(value)


def _members(value) -> dict | None:
    if isinstance(value, timedelta):
        return {name: TIMESPAN_PROPERTIES[name.lower()](value) for name in TIMESPAN_ORDER}
    if isinstance(value, ErrorRecord):
        members = error_members(value)
        return {"Exception": members["exception"], "TargetObject": members["targetobject"],
                "CategoryInfo": members["categoryinfo"], "FullyQualifiedErrorId": value.fqid,
                "ErrorDetails": None, "InvocationInfo": members["invocationinfo"],
                "ScriptStackTrace": members["scriptstacktrace"], "PipelineIterationInfo": []}
    if isinstance(value, PSException):
        return {"Message": value.message, "Data": {}, "InnerException": value.inner,
                "TargetSite": None, "StackTrace": None, "HelpLink": None, "Source": None,
                "HResult": -2146233087}
    return None


def prepare(value, depth: int, limit: int):
    """The JSON-ready tree for ``value`` at nesting ``depth``."""
    if value is None or isinstance(value, (str, bool, float)):
        return value
    if isinstance(value, PSEnum):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        delta = as_utc(value) - EPOCH
        return _Date(delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000)
    if isinstance(value, (uuid.UUID, TypeInfo)):
        return str(value)
    if depth > limit:
        return _deep_string(value)
    if isinstance(value, dict):
        return {to_string(k): prepare(v, depth + 1, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [prepare(v, depth + 1, limit) for v in value]
    members = _members(value)
    if members is not None:
        return {k: prepare(v, depth + 1, limit) for k, v in members.items()}
    if isinstance(value, ScriptBlock):
        return to_string(value)
    return to_string(value)


def compact(tree) -> str:
    if tree is None:
        return "null"
    if tree is True:
        return "true"
    if tree is False:
        return "false"
    if isinstance(tree, str):
        return _quote(tree)
    if isinstance(tree, float):
        return format_double(tree)
    if isinstance(tree, int):
        return str(tree)
    if isinstance(tree, _Date):
        return f'"\\/Date({tree.ms})\\/"'
    if isinstance(tree, dict):
        return "{" + ",".join(_quote(k) + ":" + compact(v) for k, v in tree.items()) + "}"
    return "[" + ",".join(compact(v) for v in tree) + "]"


def pretty(tree, pad: str = "", spaces: int = 0) -> str:
    close = pad + " " * spaces
    inner = close + "    "
    if isinstance(tree, dict):
        if not tree:
            return "{\r\n\r\n" + close + "}"
        parts = []
        for key, value in tree.items():
            quoted = _quote(key)
            parts.append(inner + quoted + ":  " + pretty(value, inner, len(quoted) + 3))
        return "{\r\n" + ",\r\n".join(parts) + "\r\n" + close + "}"
    if isinstance(tree, list):
        if not tree:
            return "[\r\n\r\n" + close + "]"
        return "[\r\n" + ",\r\n".join(inner + pretty(v, inner, 0) for v in tree) + "\r\n" + close + "]"
    return compact(tree)


def convert_to_json(value, depth: int = 2, compress: bool = False) -> str:
    tree = prepare(value, 0, depth)
    return compact(tree) if compress else pretty(tree)


_DATE = re.compile(r'"\\/Date\((-?\d+)(?:[+-]\d{4})?\)\\/"')
_DATE_MARK = "\u0000ferry-date:"


def convert_from_json(text: str):
    """Parse JSON as 5.1 does: objects become PSCustomObjects (property order kept), arrays
    stay one array object, ``"\\/Date(ms)\\/"`` becomes a UTC DateTime."""
    marked = _DATE.sub(lambda m: f'"{_DATE_MARK}{m.group(1)}"', text)

    def finish(value):
        if isinstance(value, str) and value.startswith(_DATE_MARK):
            return EPOCH + timedelta(milliseconds=int(value[len(_DATE_MARK):]))
        if isinstance(value, list):
            return [finish(v) for v in value]
        return value

    def hook(pairs):
        return PSObject((k, finish(v)) for k, v in pairs)

    try:
        return finish(json.loads(marked, object_pairs_hook=hook))
    except json.JSONDecodeError as exc:
        snippet = text[exc.pos:exc.pos + 20].split()[0] if text[exc.pos:].strip() else ""
        raise ValueError(f"Invalid JSON primitive: {snippet}.") from None


__all__ = ["convert_from_json", "convert_to_json", "Hashtable"]
