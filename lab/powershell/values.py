"""PowerShell values in Python: objects, enums, conversions to string/bool/number."""
from __future__ import annotations

import math
import re
import uuid
from datetime import date, datetime, timedelta, timezone

# The lab's machines run on UTC: "Local" DateTimes carry this tzinfo so that a DateTime's Kind
# (Utc / Local / Unspecified = naive) survives, as .ToString('o') and casts depend on it.
LOCAL = timezone(timedelta(0), "Local")


class PSEnum(int):
    """An enum value: ConvertTo-Json writes the number, ``[string]`` gives the name."""

    def __new__(cls, value: int, name: str, type_name: str = ""):
        obj = super().__new__(cls, value)
        obj.name = name
        obj.type_name = type_name
        return obj

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"PSEnum({int(self)}, {self.name!r})"

    def __reduce__(self):
        return (PSEnum, (int(self), self.name, self.type_name))


class PSObject(dict):
    """A PSCustomObject or a .NET object: ordered properties, optionally a type name, the text
    its ToString() gives (a ClusterNode prints its name) and script methods (callables)."""

    def __init__(self, *args, type_name: str = "System.Management.Automation.PSCustomObject",
                 text: str | None = None, methods: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.type_name = type_name
        self.text = text
        self.methods = methods or {}


class Hashtable(dict):
    """``@{...}``: keys compared case-insensitively, as PowerShell hashtables do."""

    def __init__(self, *args, ordered: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.ordered = ordered

    def find_key(self, key):
        if key in self:
            return key
        if isinstance(key, str):
            folded = key.casefold()
            for existing in self:
                if isinstance(existing, str) and existing.casefold() == folded:
                    return existing
        return None

    def lookup(self, key, default=None):
        found = self.find_key(key)
        return default if found is None else self[found]

    def store(self, key, value):
        found = self.find_key(key)
        self[key if found is None else found] = value


class ScriptBlock:
    def __init__(self, node, text: str, source: str | None = None):
        self.node = node
        self.text = text
        self.source = source    # its own text when made by [ScriptBlock]::Create (error positions)

    def __str__(self):
        return self.text


class TypeInfo:
    """What ``[int]`` or ``$x.GetType()`` evaluates to."""

    def __init__(self, full_name: str):
        self.full_name = full_name

    @property
    def name(self) -> str:
        return self.full_name.rsplit(".", 1)[-1]

    def __str__(self):
        return self.full_name


def is_object(value) -> bool:
    """A dict that is an object (PSCustomObject / .NET object), not a hashtable."""
    return isinstance(value, dict) and not isinstance(value, Hashtable)


def find_property(obj: dict, name: str):
    """(actual name, found) for a case-insensitive property lookup."""
    if name in obj:
        return name, True
    folded = name.casefold()
    for key in obj:
        if isinstance(key, str) and key.casefold() == folded:
            return key, True
    return name, False


# -- type names ----------------------------------------------------------------------------
def type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, PSEnum):
        return value.type_name or "System.Enum"
    if isinstance(value, bool):
        return "System.Boolean"
    if isinstance(value, int):
        return "System.Int32" if -2**31 <= value < 2**31 else "System.Int64"
    if isinstance(value, float):
        return "System.Double"
    if isinstance(value, str):
        return "System.String"
    if isinstance(value, datetime):
        return "System.DateTime"
    if isinstance(value, timedelta):
        return "System.TimeSpan"
    if isinstance(value, uuid.UUID):
        return "System.Guid"
    if isinstance(value, Hashtable):
        return "System.Collections.Specialized.OrderedDictionary" if value.ordered \
            else "System.Collections.Hashtable"
    if isinstance(value, PSObject):
        return value.type_name
    if isinstance(value, dict):
        return "System.Management.Automation.PSCustomObject"
    if isinstance(value, (list, tuple)):
        return "System.Object[]"
    if isinstance(value, ScriptBlock):
        return "System.Management.Automation.ScriptBlock"
    if isinstance(value, TypeInfo):
        return "System.RuntimeType"
    return getattr(value, "ps_type_name", "System.Object")


# -- numbers -------------------------------------------------------------------------------
def format_double(value: float) -> str:
    """.NET's round-trip formatting of a Double: 1 -> "1", 1e20 -> "1E+20", 0.1 -> "0.1"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exp = text.split("e")
        mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
        sign = "-" if exp.startswith("-") else "+"
        return f"{mantissa}E{sign}{exp.lstrip('+-').zfill(2)}"
    return text


def format_timespan(value: timedelta) -> str:
    total = round(value.total_seconds() * 10_000_000)
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rem = divmod(total, 864_000_000_000)
    hours, rem = divmod(rem, 36_000_000_000)
    minutes, rem = divmod(rem, 600_000_000)
    seconds, ticks = divmod(rem, 10_000_000)
    text = f"{sign}{str(days) + '.' if days else ''}{hours:02}:{minutes:02}:{seconds:02}"
    return text + (f".{ticks:07}" if ticks else "")


def date_kind(value: datetime) -> str:
    if value.tzinfo is None:
        return "Unspecified"
    return "Local" if value.tzinfo is LOCAL else "Utc"


def as_utc(value: datetime) -> datetime:
    """The instant a DateTime stands for (Unspecified and Local are the lab's UTC clock)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


# -- conversions -------------------------------------------------------------------------------
def to_string(value) -> str:
    """PowerShell's conversion to [string] (invariant culture), as casts and "$x" use it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, PSEnum):
        return value.name
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_double(value)
    if isinstance(value, datetime):
        return value.strftime("%m/%d/%Y %H:%M:%S")
    if isinstance(value, timedelta):
        return format_timespan(value)
    if isinstance(value, (list, tuple)):
        return " ".join(to_string(v) for v in value)
    if isinstance(value, Hashtable):
        return type_name(value)
    if isinstance(value, dict):
        if isinstance(value, PSObject) and value.text is not None:
            return value.text
        return "@{" + "; ".join(f"{k}={to_string(v)}" for k, v in value.items()) + "}"
    return str(value)


def to_bool(value) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value != ""
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            return False
        if len(value) == 1:
            return to_bool(value[0])
        return True
    return True


class ConversionError(Exception):
    def __init__(self, value, target: str, reason: str, fqid: str):
        shown = to_string(value)
        super().__init__(f'Cannot convert value "{shown}" to type "{target}". Error: "{reason}"')
        self.fqid = fqid


INT_RANGES = {"System.Int32": (-2**31, 2**31 - 1), "System.Int64": (-2**63, 2**63 - 1),
              "System.UInt32": (0, 2**32 - 1), "System.UInt64": (0, 2**64 - 1),
              "System.Int16": (-2**15, 2**15 - 1), "System.UInt16": (0, 2**16 - 1),
              "System.Byte": (0, 255)}


def to_number(value, target: str = "System.Int32"):
    """Convert to an integer type (rounding half to even, like .NET) or to Double/Decimal."""
    floating = target in ("System.Double", "System.Single", "System.Decimal")
    original = value
    if value is None:
        return 0.0 if floating else 0
    if isinstance(value, bool):
        value = int(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "") if value.strip() else "0"
        try:
            if re.fullmatch(r"[+-]?0x[0-9a-fA-F]+", text):
                value = int(text, 16)
            elif re.fullmatch(r"[+-]?\d+", text):
                value = int(text)
            else:
                value = float(text)
                if not floating and math.isinf(value):
                    raise ValueError
        except ValueError:
            raise ConversionError(original, target, "Input string was not in a correct format.",
                                  "InvalidCastFromStringToInteger" if not floating
                                  else "InvalidCastFromStringToDoubleOrSingle") from None
    elif isinstance(value, (list, tuple)) and len(value) == 1:
        return to_number(value[0], target)
    elif not isinstance(value, (int, float)):
        raise ConversionError(original, target,
                              f'Cannot convert the "{to_string(original)}" value of type '
                              f'"{type_name(original)}" to type "{target}".', "InvalidCastException")
    if floating:
        return float(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ConversionError(original, target, "Value was either too large or too small.",
                                  "InvalidCastIConvertible")
        value = round(value)
    low, high = INT_RANGES.get(target, (-2**63, 2**63 - 1))
    if not low <= int(value) <= high:
        raise ConversionError(original, target,
                              f"Value was either too large or too small for {target.split('.')[-1]}.",
                              "InvalidCastIConvertible")
    return int(value)


def arithmetic_number(value):
    """The number an operand stands for in + - * / when it is not a string/list on the left."""
    if isinstance(value, PSEnum):
        return int(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if value is None:
        return 0
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        return to_number(value, "System.Double")
    return to_number(value, "System.Double")


DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f",
                "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d",
                "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y", "%Y/%m/%d")


def to_datetime(value) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+0000"
        text = re.sub(r"(\.\d{6})\d+", r"\1", text)
        for fmt in DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
            except ValueError:
                continue
            # .NET turns a string with an offset into a Local DateTime
            return parsed.astimezone(LOCAL) if parsed.tzinfo is not None else parsed
    raise ConversionError(value, "System.DateTime",
                          "String was not recognized as a valid DateTime.", "InvalidCastParseTargetInvocation")
