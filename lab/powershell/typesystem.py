"""Type names, casts (``[int]$x``) and static members (``[math]::Round``)."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

from .errors import method_exception, runtime_error
from .formatting import composite_format
from .values import LOCAL, ConversionError, Hashtable, PSObject, to_bool, to_datetime, to_number, to_string

TYPES = {
    "string": "System.String", "int": "System.Int32", "int32": "System.Int32",
    "long": "System.Int64", "int64": "System.Int64", "int16": "System.Int16",
    "uint32": "System.UInt32", "uint64": "System.UInt64", "uint16": "System.UInt16",
    "byte": "System.Byte", "double": "System.Double", "float": "System.Single",
    "single": "System.Single", "decimal": "System.Decimal", "bool": "System.Boolean",
    "boolean": "System.Boolean", "switch": "System.Management.Automation.SwitchParameter",
    "datetime": "System.DateTime", "timespan": "System.TimeSpan", "guid": "System.Guid",
    "char": "System.Char", "object": "System.Object", "array": "System.Array",
    "pscustomobject": "System.Management.Automation.PSCustomObject",
    "psobject": "System.Management.Automation.PSObject", "hashtable": "System.Collections.Hashtable",
    "ordered": "System.Collections.Specialized.OrderedDictionary", "math": "System.Math",
    "environment": "System.Environment", "scriptblock": "System.Management.Automation.ScriptBlock",
    "regex": "System.Text.RegularExpressions.Regex", "void": "System.Void",
    "convert": "System.Convert", "enum": "System.Enum", "valuetype": "System.ValueType",
    "collections.idictionary": "System.Collections.IDictionary",
    "management.automation.errorrecord": "System.Management.Automation.ErrorRecord",
    "management.automation.pscustomobject": "System.Management.Automation.PSCustomObject",
    "collections.hashtable": "System.Collections.Hashtable",
    "collections.specialized.ordereddictionary": "System.Collections.Specialized.OrderedDictionary",
    "text.regularexpressions.regex": "System.Text.RegularExpressions.Regex",
    "ciminstance": "Microsoft.Management.Infrastructure.CimInstance",
    "microsoft.management.infrastructure.ciminstance": "Microsoft.Management.Infrastructure.CimInstance",
}


def resolve_type(name: str) -> str:
    key = name.lower()
    array = key.endswith("[]")
    base = key[:-2] if array else key
    if base.startswith("system."):
        base = base[7:]
    full = TYPES.get(base)
    if full is None:
        full = next((v for v in TYPES.values() if v.lower() == "system." + base), None)
    if full is None:
        raise runtime_error(f"Unable to find type [{name}].", "TypeNotFound", "InvalidOperation",
                            target=name)
    return full + "[]" if array else full


def convert(value, target: str):
    """``[type]value`` for a resolved type name."""
    try:
        return _convert(value, target)
    except ConversionError as exc:
        raise runtime_error(str(exc), exc.fqid, "InvalidArgument",
                            "System.Management.Automation.PSInvalidCastException") from None
    except ValueError:
        raise runtime_error(f'Cannot convert value "{to_string(value)}" to type "{target}".',
                            "RuntimeException", "InvalidArgument",
                            "System.Management.Automation.PSInvalidCastException") from None


def _convert(value, target: str):
    if target.endswith("[]"):
        if value is None:
            return None
        items = value if isinstance(value, (list, tuple)) else [value]
        return [_convert(v, target[:-2]) for v in items]
    if target == "System.String":
        return to_string(value)
    if target in ("System.Int32", "System.Int64", "System.Int16", "System.UInt32", "System.UInt64",
                  "System.UInt16", "System.Byte", "System.Double", "System.Single", "System.Decimal"):
        if isinstance(value, datetime) or isinstance(value, timedelta):
            raise ConversionError(value, target, "Invalid cast.", "InvalidCastException")
        return to_number(value, target)
    if target in ("System.Boolean", "System.Management.Automation.SwitchParameter"):
        return to_bool(value)
    if target == "System.DateTime":
        return to_datetime(value[0] if isinstance(value, list) and len(value) == 1 else value)
    if target == "System.TimeSpan":
        if isinstance(value, timedelta):
            return value
        if isinstance(value, int):
            return timedelta(microseconds=value / 10)
        m = re.fullmatch(r"\s*(-)?(?:(\d+)\.)?(\d+):(\d+)(?::(\d+)(?:\.(\d{1,7}))?)?\s*|\s*(-)?(\d+)\s*",
                         to_string(value))
        if not m:
            raise ConversionError(value, target, "String was not recognized as a valid TimeSpan.",
                                  "InvalidCastParseTargetInvocation")
        if m.group(8):
            span = timedelta(days=int(m.group(8)))
            return -span if m.group(7) else span
        span = timedelta(days=int(m.group(2) or 0), hours=int(m.group(3)), minutes=int(m.group(4)),
                         seconds=int(m.group(5) or 0),
                         microseconds=int((m.group(6) or "0").ljust(7, "0")) / 10)
        return -span if m.group(1) else span
    if target == "System.Guid":
        return value if isinstance(value, uuid.UUID) else uuid.UUID(to_string(value).strip("{}"))
    if target == "System.Char":
        if isinstance(value, int):
            return chr(value)
        text = to_string(value)
        if len(text) != 1:
            raise ConversionError(value, target, "String must be exactly one character long.",
                                  "InvalidCastParseTargetInvocation")
        return text
    if target in ("System.Management.Automation.PSCustomObject", "System.Management.Automation.PSObject"):
        if isinstance(value, dict) and target.endswith("PSCustomObject"):
            return PSObject(value.items())
        return value
    if target == "Microsoft.Management.Infrastructure.CimInstance":
        # CIM instances come from cmdlets (Get-CimInstance, Invoke-CimMethod) as objects.
        if isinstance(value, dict):
            return value
        raise ConversionError(value, target, "Invalid cast.", "InvalidCastException")
    if target == "System.Collections.Specialized.OrderedDictionary":
        if not isinstance(value, dict):
            raise ConversionError(value, target, "Invalid cast.", "InvalidCastException")
        return Hashtable(value.items(), ordered=True)
    if target == "System.Collections.Hashtable":
        if not isinstance(value, dict):
            raise ConversionError(value, target, "Invalid cast.", "InvalidCastException")
        return value if isinstance(value, Hashtable) else Hashtable(value.items())
    if target == "System.Array":
        return None if value is None else list(value) if isinstance(value, (list, tuple)) else [value]
    if target == "System.Void":
        return None
    if target == "System.Text.RegularExpressions.Regex":
        return to_string(value)
    return value


# -- static members ----------------------------------------------------------------------------
def static_member(interp, type_full: str, name: str):
    lname = name.lower()
    table = {
        "System.DateTime": {"now": lambda: datetime.now(LOCAL), "utcnow": lambda: datetime.now(timezone.utc),
                            "today": lambda: datetime.now(LOCAL).replace(hour=0, minute=0, second=0, microsecond=0),
                            "minvalue": lambda: datetime(1, 1, 1), "maxvalue": lambda: datetime(9999, 12, 31, 23, 59, 59, 999999)},
        "System.Math": {"pi": lambda: 3.141592653589793, "e": lambda: 2.718281828459045},
        "System.String": {"empty": lambda: ""},
        "System.Guid": {"empty": lambda: uuid.UUID(int=0)},
        "System.Environment": {"machinename": lambda: interp.env_value("COMPUTERNAME"),
                               "newline": lambda: "\r\n", "username": lambda: interp.env_value("USERNAME"),
                               "processorcount": lambda: 2},
        "System.TimeSpan": {"zero": lambda: timedelta(0)},
    }.get(type_full, {})
    if type_full in ("System.Int32", "System.Int64", "System.Int16", "System.Byte", "System.UInt32"):
        from .values import INT_RANGES
        low, high = INT_RANGES[type_full]
        table = {"maxvalue": lambda: high, "minvalue": lambda: low}
    if lname in table:
        return table[lname]()
    return None


def _math_round(x, digits=0, *rest):
    return round(to_number(x, "System.Double"), to_number(digits))


STATIC_METHODS = {
    "System.Math": {
        "round": _math_round, "floor": lambda x: float(int(to_number(x, "System.Double") // 1)),
        "ceiling": lambda x: float(-int(-to_number(x, "System.Double") // 1)),
        "truncate": lambda x: float(int(to_number(x, "System.Double"))),
        "abs": lambda x: abs(x) if isinstance(x, (int, float)) else abs(to_number(x, "System.Double")),
        "max": lambda a, b: a if a >= b else b, "min": lambda a, b: a if a <= b else b,
        "pow": lambda a, b: float(to_number(a, "System.Double") ** to_number(b, "System.Double")),
        "sqrt": lambda a: to_number(a, "System.Double") ** 0.5,
    },
    "System.String": {
        "isnullorempty": lambda s: s is None or to_string(s) == "",
        "isnullorwhitespace": lambda s: s is None or to_string(s).strip() == "",
        "join": lambda sep, *items: to_string(sep).join(
            to_string(i) for i in (items[0] if len(items) == 1 and isinstance(items[0], list) else items)),
        "format": lambda fmt, *args: composite_format(to_string(fmt), list(
            args[0] if len(args) == 1 and isinstance(args[0], list) else args)),
        "concat": lambda *items: "".join(to_string(i) for i in items),
        "equals": lambda a, b, *c: to_string(a) == to_string(b) if not c or "IgnoreCase" not in to_string(c[0])
        else to_string(a).casefold() == to_string(b).casefold(),
    },
    "System.Guid": {"newguid": lambda: uuid.uuid4(), "parse": lambda s: uuid.UUID(to_string(s))},
    "System.DateTime": {"parse": lambda s, *rest: to_datetime(to_string(s)),
                        "specifykind": lambda d, kind: d.replace(tzinfo={"utc": timezone.utc, "local": LOCAL}
                                                               .get(to_string(kind).lower()))},
    "System.TimeSpan": {"fromseconds": lambda x: timedelta(seconds=to_number(x, "System.Double")),
                        "fromminutes": lambda x: timedelta(minutes=to_number(x, "System.Double")),
                        "fromhours": lambda x: timedelta(hours=to_number(x, "System.Double")),
                        "fromdays": lambda x: timedelta(days=to_number(x, "System.Double")),
                        "frommilliseconds": lambda x: timedelta(milliseconds=to_number(x, "System.Double"))},
    "System.Int32": {"parse": lambda s: to_number(to_string(s))},
    "System.Int64": {"parse": lambda s: to_number(to_string(s), "System.Int64")},
    "System.Double": {"parse": lambda s: to_number(to_string(s), "System.Double")},
    "System.Convert": {"toint32": lambda x: to_number(x), "toint64": lambda x: to_number(x, "System.Int64"),
                       "todouble": lambda x: to_number(x, "System.Double"), "tostring": to_string,
                       "toboolean": lambda x: to_string(x).lower() == "true" if isinstance(x, str) else to_bool(x)},
}


def call_static(interp, type_full: str, name: str, args: list):
    method = STATIC_METHODS.get(type_full, {}).get(name.lower())
    if method is None and type_full == "System.Environment" and name.lower() == "getenvironmentvariable":
        return interp.env_value(to_string(args[0]))
    if method is None and type_full == "System.Management.Automation.ScriptBlock" and name.lower() == "create":
        return _create_script_block(name, args)
    if method is None:
        raise runtime_error(f"Method invocation failed because [{type_full}] does not contain a "
                            f"method named '{name}'.", "MethodNotFound")
    try:
        return method(*args)
    except TypeError:
        raise runtime_error(f'Cannot find an overload for "{name}" and the argument count: '
                            f'"{len(args)}".', "MethodCountCouldNotFindBest") from None
    except (ValueError, ConversionError) as exc:
        raise method_exception(name, args, str(exc)) from None


def _create_script_block(name: str, args: list):
    """``[ScriptBlock]::Create(text)``: parsed now, so a syntax error is the caller's exception."""
    from . import nodes as n
    from .errors import ParseError, position_lines
    from .parser import parse
    from .values import ScriptBlock

    if len(args) != 1:
        raise runtime_error(f'Cannot find an overload for "{name}" and the argument count: "{len(args)}".',
                            "MethodCountCouldNotFindBest")
    text = to_string(args[0])
    try:
        body = parse(text)
    except ParseError as exc:
        where = position_lines(exc.source, exc.pos, exc.pos + exc.length)
        raise runtime_error(f'Exception calling "{name}" with "1" argument(s): "{chr(10).join(where + [exc.message])}"',
                            "ParseException", "NotSpecified",
                            "System.Management.Automation.MethodInvocationException") from None
    return ScriptBlock(n.ScriptBlockExpr(body, text), text, source=text)
