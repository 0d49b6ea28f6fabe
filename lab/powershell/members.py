"""Properties, methods and indexing of the values scripts handle."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from .errors import ErrorRecord, PSException, method_exception, runtime_error
from .formatting import format_date, format_number
from .operators import equals
from .values import (
    LOCAL,
    ConversionError,
    Hashtable,
    PSEnum,
    PSObject,
    ScriptBlock,
    TypeInfo,
    date_kind,
    find_property,
    format_timespan,
    to_number,
    to_string,
    type_name,
)

# -- properties -------------------------------------------------------------------------------
DATE_PROPERTIES = {
    "year": lambda d: d.year, "month": lambda d: d.month, "day": lambda d: d.day,
    "hour": lambda d: d.hour, "minute": lambda d: d.minute, "second": lambda d: d.second,
    "millisecond": lambda d: d.microsecond // 1000, "dayofyear": lambda d: d.timetuple().tm_yday,
    "dayofweek": lambda d: PSEnum((d.weekday() + 1) % 7, d.strftime("%A"), "System.DayOfWeek"),
    "kind": lambda d: PSEnum({"Unspecified": 0, "Utc": 1, "Local": 2}[date_kind(d)], date_kind(d),
                             "System.DateTimeKind"),
    "date": lambda d: d.replace(hour=0, minute=0, second=0, microsecond=0),
    "ticks": lambda d: int((d.replace(tzinfo=None) - datetime(1, 1, 1)).total_seconds()) * 10_000_000
    + d.microsecond * 10,
    "timeofday": lambda d: timedelta(hours=d.hour, minutes=d.minute, seconds=d.second,
                                     microseconds=d.microsecond),
}
TIMESPAN_PROPERTIES = {
    "days": lambda t: int(t.total_seconds() / 86400),
    "hours": lambda t: int(t.total_seconds() / 3600) % 24 * (1 if t.total_seconds() >= 0 else -1),
    "minutes": lambda t: int(abs(t.total_seconds()) / 60) % 60 * (1 if t.total_seconds() >= 0 else -1),
    "seconds": lambda t: int(abs(t.total_seconds())) % 60 * (1 if t.total_seconds() >= 0 else -1),
    "milliseconds": lambda t: int(abs(t.total_seconds()) * 1000) % 1000 * (1 if t.total_seconds() >= 0 else -1),
    "ticks": lambda t: round(t.total_seconds() * 10_000_000),
    "totaldays": lambda t: t.total_seconds() / 86400, "totalhours": lambda t: t.total_seconds() / 3600,
    "totalminutes": lambda t: t.total_seconds() / 60, "totalseconds": lambda t: t.total_seconds(),
    "totalmilliseconds": lambda t: t.total_seconds() * 1000,
}


def error_members(record: ErrorRecord) -> dict:
    category = PSObject({
        "Category": PSEnum(_category_value(record.category), record.category,
                           "System.Management.Automation.ErrorCategory"),
        "Activity": record.activity, "Reason": record.exception.short_name,
        "TargetName": "" if record.target is None else to_string(record.target),
        "TargetType": record.target_type or ("" if record.target is None else
                                             type_name(record.target).rsplit(".", 1)[-1]),
    }, type_name="System.Management.Automation.ErrorCategoryInfo", text=record.category_line())
    invocation = None
    if record.extent is not None:
        start, _end, source = record.extent
        line_start = source.rfind("\n", 0, start) + 1
        line_end = source.find("\n", start)
        invocation = PSObject({
            "MyCommand": None if not record.activity else PSObject({"Name": record.activity},
                                                                    text=record.activity),
            "ScriptLineNumber": source.count("\n", 0, start) + 1,
            "OffsetInLine": start - line_start + 1,
            "Line": source[line_start:None if line_end < 0 else line_end].rstrip("\r"),
        }, type_name="System.Management.Automation.InvocationInfo")
    return {"exception": record.exception, "categoryinfo": category,
            "fullyqualifiederrorid": record.fqid, "targetobject": record.target,
            "invocationinfo": invocation, "errordetails": None, "scriptstacktrace": "at <ScriptBlock>, <No file>: line 1"}


def _category_value(name: str) -> int:
    from .errors import CATEGORY_VALUES
    return CATEGORY_VALUES.get(name.lower(), 0)


def get_member(obj, name: str, properties_only: bool = False):
    """``$obj.Name``; ``properties_only`` is Select-Object's view (no hashtable keys, no
    member enumeration)."""
    lname = name.lower()
    if obj is None:
        return 0 if lname in ("count", "length") else None
    if isinstance(obj, Hashtable):
        key = obj.find_key(name)
        if key is not None and not properties_only:
            return obj[key]
        return {"count": len(obj), "keys": list(obj.keys()), "values": list(obj.values())}.get(lname)
    if isinstance(obj, dict):
        key, found = find_property(obj, name)
        if found:
            return obj[key]
        if lname == "psobject":
            return PSObject({"Properties": [PSObject({"Name": k, "Value": v, "MemberType": "NoteProperty",
                                                      "IsSettable": True, "TypeNameOfValue": type_name(v)})
                                            for k, v in obj.items()],
                             "TypeNames": [type_name(obj), "System.Object"]})
        return 1 if lname in ("count", "length") else None
    if isinstance(obj, (list, tuple)):
        if lname in ("count", "length", "longlength"):
            return len(obj)
        if lname == "rank":
            return 1
        if properties_only:
            return None
        results = []
        for item in obj:
            value = get_member(item, name)
            if isinstance(value, (list, tuple)):
                results.extend(value)
            elif value is not None:
                results.append(value)
        return None if not results else results[0] if len(results) == 1 else results
    if isinstance(obj, str):
        return len(obj) if lname == "length" else 1 if lname == "count" else None
    if isinstance(obj, PSEnum) and lname == "value__":
        return int(obj)
    if isinstance(obj, datetime) and lname in DATE_PROPERTIES:
        return DATE_PROPERTIES[lname](obj)
    if isinstance(obj, timedelta) and lname in TIMESPAN_PROPERTIES:
        return TIMESPAN_PROPERTIES[lname](obj)
    if isinstance(obj, uuid.UUID) and lname == "guid":
        return str(obj)
    if isinstance(obj, TypeInfo):
        return {"name": obj.name, "fullname": obj.full_name}.get(lname)
    if isinstance(obj, ErrorRecord):
        return error_members(obj).get(lname)
    if isinstance(obj, PSException):
        return {"message": obj.message, "innerexception": obj.inner, "hresult": -2146233087,
                "source": None, "stacktrace": None}.get(lname)
    if isinstance(obj, ScriptBlock):
        return {"ast": None}.get(lname)
    return 1 if lname in ("count", "length") else None


def has_member(obj, name: str) -> bool:
    """Whether ``obj`` has a property ``name`` at all (strict mode 2 errors on missing ones)."""
    lname = name.lower()
    if lname in ("count", "length"):
        return True
    if isinstance(obj, Hashtable):
        return obj.find_key(name) is not None or lname in ("keys", "values")
    if isinstance(obj, dict):
        return find_property(obj, name)[1] or lname == "psobject"
    if isinstance(obj, (list, tuple)):
        return any(has_member(item, name) for item in obj)
    if isinstance(obj, datetime):
        return lname in DATE_PROPERTIES
    if isinstance(obj, timedelta):
        return lname in TIMESPAN_PROPERTIES
    return get_member(obj, name) is not None


def set_member(obj, name: str, value, extent=None):
    if isinstance(obj, Hashtable):
        obj.store(name, value)
        return
    if isinstance(obj, dict):
        key, found = find_property(obj, name)
        if found:
            obj[key] = value
            return
    if obj is None:
        raise runtime_error(f"The property '{name}' cannot be found on this object. Verify that the "
                            f"property exists and can be set.", "PropertyNotFound", extent=extent)
    raise runtime_error(f"The property '{name}' cannot be found on this object. Verify that the "
                        f"property exists and can be set.", "PropertyAssignmentException",
                        extent=extent)


# -- indexing --------------------------------------------------------------------------------
def get_index(obj, index):
    if obj is None:
        raise runtime_error("Cannot index into a null array.", "NullArray")
    if isinstance(obj, Hashtable):
        if isinstance(index, (list, tuple)):
            return [obj.lookup(k) for k in index]
        return obj.lookup(index)
    if isinstance(obj, (list, tuple, str)):
        if isinstance(index, (list, tuple)):
            picked = [get_index(obj, i) for i in index]
            return [p for p in picked if p is not None]
        i = to_number(index)
        if -len(obj) <= i < len(obj):
            return obj[i]
        return None
    raise runtime_error(f"Unable to index into an object of type {type_name(obj)}.", "CannotIndex")


def set_index(obj, index, value):
    if isinstance(obj, Hashtable):
        obj.store(index, value)
    elif isinstance(obj, list):
        i = to_number(index)
        if not -len(obj) <= i < len(obj):
            raise runtime_error("Index was outside the bounds of the array.", "IndexOutOfRange",
                                exception="System.IndexOutOfRangeException")
        obj[i] = value
    elif obj is None:
        raise runtime_error("Cannot index into a null array.", "NullArray")
    else:
        raise runtime_error(f"Unable to index into an object of type {type_name(obj)}.", "CannotIndex")


# -- instance methods ------------------------------------------------------------------------------
def _split(s: str, *args):
    seps = set()
    for a in args:
        if isinstance(a, (list, tuple)):
            seps.update(to_string(x) for x in a)
        elif isinstance(a, str):
            seps.update(a)
    if not seps:
        seps = set(" \t\r\n")
    out, buf = [], []
    for ch in s:
        if ch in seps:
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    out.append("".join(buf))
    return out


def _ignore_case(rest) -> bool:
    return bool(rest) and "ignorecase" in to_string(rest[0]).lower()


STRING_METHODS = {
    "tolower": lambda s: s.lower(), "toupper": lambda s: s.upper(),
    "tolowerinvariant": lambda s: s.lower(), "toupperinvariant": lambda s: s.upper(),
    "trim": lambda s, *c: s.strip("".join(to_string(x) for x in c) or None),
    "trimstart": lambda s, *c: s.lstrip("".join(to_string(x) for x in c) or None),
    "trimend": lambda s, *c: s.rstrip("".join(to_string(x) for x in c) or None),
    "contains": lambda s, x: to_string(x) in s,
    "startswith": lambda s, x, *r: (s.casefold().startswith(to_string(x).casefold()) if _ignore_case(r)
                                    else s.startswith(to_string(x))),
    "endswith": lambda s, x, *r: (s.casefold().endswith(to_string(x).casefold()) if _ignore_case(r)
                                  else s.endswith(to_string(x))),
    "split": _split, "replace": lambda s, a, b: s.replace(to_string(a), to_string(b)),
    "indexof": lambda s, x, *r: s.find(to_string(x), *(to_number(v) for v in r[:1])),
    "lastindexof": lambda s, x: s.rfind(to_string(x)),
    "padleft": lambda s, n, c=" ": s.rjust(to_number(n), to_string(c)),
    "padright": lambda s, n, c=" ": s.ljust(to_number(n), to_string(c)),
    "insert": lambda s, i, x: s[:to_number(i)] + to_string(x) + s[to_number(i):],
    "tochararray": lambda s: list(s), "equals": lambda s, x, *r: (
        s.casefold() == to_string(x).casefold() if _ignore_case(r) else s == to_string(x) if isinstance(x, str) else False),
    "compareto": lambda s, x: (s > to_string(x)) - (s < to_string(x)),
    "normalize": lambda s, *r: s,
}


def _substring(s: str, start, length=None):
    start = to_number(start)
    if start < 0 or start > len(s):
        raise ValueError("startIndex cannot be larger than length of string.\r\nParameter name: startIndex")
    if length is None:
        return s[start:]
    length = to_number(length)
    if length < 0 or start + length > len(s):
        raise ValueError("Index and length must refer to a location within the string.\r\n"
                         "Parameter name: length")
    return s[start:start + length]


def _remove(s: str, start, count=None):
    start = to_number(start)
    return s[:start] if count is None else s[:start] + s[start + to_number(count):]


STRING_METHODS.update(substring=_substring, remove=_remove)


def _to_utc(d: datetime) -> datetime:
    return d.replace(tzinfo=timezone.utc) if d.tzinfo is None else d.astimezone(timezone.utc)


DATE_METHODS = {
    "touniversaltime": _to_utc,
    "tolocaltime": lambda d: (d.replace(tzinfo=LOCAL) if d.tzinfo is None else d.astimezone(LOCAL)),
    "adddays": lambda d, n: d + timedelta(days=to_number(n, "System.Double")),
    "addhours": lambda d, n: d + timedelta(hours=to_number(n, "System.Double")),
    "addminutes": lambda d, n: d + timedelta(minutes=to_number(n, "System.Double")),
    "addseconds": lambda d, n: d + timedelta(seconds=to_number(n, "System.Double")),
    "addmilliseconds": lambda d, n: d + timedelta(milliseconds=to_number(n, "System.Double")),
    "addticks": lambda d, n: d + timedelta(microseconds=to_number(n, "System.Int64") / 10),
    "add": lambda d, t: d + t,
    "subtract": lambda d, x: (_to_utc(d) - _to_utc(x)) if isinstance(x, datetime) else d - x,
    "toshortdatestring": lambda d: format_date(d, "d"), "tolongdatestring": lambda d: format_date(d, "D"),
    "toshorttimestring": lambda d: format_date(d, "t"), "tolongtimestring": lambda d: format_date(d, "T"),
    "compareto": lambda d, x: (_to_utc(d) > _to_utc(x)) - (_to_utc(d) < _to_utc(x)),
    "equals": lambda d, x: isinstance(x, datetime) and _to_utc(d) == _to_utc(x),
    "tofiletimeutc": lambda d: int((_to_utc(d) - datetime(1601, 1, 1, tzinfo=timezone.utc)).total_seconds() * 10**7),
}
TIMESPAN_METHODS = {
    "add": lambda t, x: t + x, "subtract": lambda t, x: t - x, "negate": lambda t: -t,
    "duration": lambda t: abs(t), "compareto": lambda t, x: (t > x) - (t < x),
}
HASHTABLE_METHODS = {
    "containskey": lambda h, k: h.find_key(k) is not None, "contains": lambda h, k: h.find_key(k) is not None,
    "containsvalue": lambda h, v: any(equals(x, v) for x in h.values()),
    "remove": lambda h, k: (h.pop(h.find_key(k)) and None) if h.find_key(k) is not None else None,
    "clear": lambda h: h.clear(), "clone": lambda h: Hashtable(h.items(), ordered=h.ordered),
    "getenumerator": lambda h: [PSObject({"Name": k, "Key": k, "Value": v}) for k, v in h.items()],
}


def _hashtable_add(h: Hashtable, key, value):
    if h.find_key(key) is not None:
        raise ValueError(f"Item has already been added. Key in dictionary: '{key}'  Key being added: '{key}'")
    h[key] = value


HASHTABLE_METHODS["add"] = _hashtable_add


def _list_add(items, value):
    raise ValueError("Collection was of a fixed size.")


LIST_METHODS = {
    "contains": lambda lst, x: any(x == v if isinstance(v, str) and isinstance(x, str) else equals(v, x)
                                   for v in lst),
    "indexof": lambda lst, x: next((i for i, v in enumerate(lst) if equals(v, x, True)), -1),
    "add": _list_add, "clone": lambda lst: list(lst),
}


def _tostring(obj, *args):
    fmt = to_string(args[0]) if args else None
    if isinstance(obj, datetime):
        return format_date(obj, fmt)
    if isinstance(obj, timedelta):
        return format_timespan(obj)
    if isinstance(obj, (int, float)) and not isinstance(obj, (bool, PSEnum)):
        return format_number(obj, fmt)
    if isinstance(obj, uuid.UUID):
        return {"n": obj.hex, "b": "{" + str(obj) + "}", "p": "(" + str(obj) + ")"}.get((fmt or "d").lower(), str(obj))
    if isinstance(obj, PSException):
        return str(obj)
    if isinstance(obj, (list, tuple)):
        return "System.Object[]"
    if isinstance(obj, Hashtable):
        return type_name(obj)
    if isinstance(obj, PSObject) and obj.text is not None:
        return obj.text
    return to_string(obj)


def call_method(interp, obj, name: str, args: list):
    lname = name.lower()
    if obj is None:
        raise runtime_error("You cannot call a method on a null-valued expression.", "InvokeMethodOnNull")
    if lname == "gettype":
        if isinstance(obj, PSException):
            return TypeInfo(obj.type_name)
        if isinstance(obj, ErrorRecord):
            return TypeInfo("System.Management.Automation.ErrorRecord")
        return TypeInfo(type_name(obj))
    if lname in ("where", "foreach") and args and isinstance(args[0], (ScriptBlock, str)):
        return interp.intrinsic(obj, lname, args)
    if isinstance(obj, PSObject):
        for key, fn in obj.methods.items():
            if key.lower() == lname:
                return fn(*args)
    if isinstance(obj, ScriptBlock) and lname in ("invoke", "invokereturnasis"):
        return interp.invoke_block(obj, args=args)
    tables = []
    if isinstance(obj, str):
        tables.append(STRING_METHODS)
    elif isinstance(obj, datetime):
        tables.append(DATE_METHODS)
    elif isinstance(obj, timedelta):
        tables.append(TIMESPAN_METHODS)
    elif isinstance(obj, Hashtable):
        tables.append(HASHTABLE_METHODS)
    elif isinstance(obj, (list, tuple)):
        tables.append(LIST_METHODS)
    for table in tables:
        if lname in table:
            try:
                return table[lname](obj, *args)
            except TypeError:
                raise runtime_error(f'Cannot find an overload for "{name}" and the argument count: '
                                    f'"{len(args)}".', "MethodCountCouldNotFindBest") from None
            except (ValueError, ConversionError) as exc:
                raise method_exception(name, args, str(exc)) from None
    if lname == "tostring":
        return _tostring(obj, *args)
    if lname == "equals" and len(args) == 1:
        return equals(obj, args[0], True)
    if lname == "compareto" and len(args) == 1 and isinstance(obj, (int, float)):
        other = to_number(args[0], "System.Double")
        return (obj > other) - (obj < other)
    if lname == "hasflag" and isinstance(obj, PSEnum):
        flag = to_number(args[0])
        return int(obj) & flag == flag
    raise runtime_error(f"Method invocation failed because [{type_name(obj)}] does not contain a "
                        f"method named '{name}'.", "MethodNotFound")
