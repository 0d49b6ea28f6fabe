""".NET format strings (dates, numbers, ``-f``) and the console rendering of output objects."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

from .errors import ErrorRecord, format_error, runtime_error
from .values import Hashtable, PSEnum, date_kind, format_double, format_timespan, is_object, to_string

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
STANDARD_DATE = {
    "d": "M/d/yyyy", "D": "dddd, MMMM d, yyyy", "f": "dddd, MMMM d, yyyy h:mm tt",
    "F": "dddd, MMMM d, yyyy h:mm:ss tt", "g": "M/d/yyyy h:mm tt", "G": "M/d/yyyy h:mm:ss tt",
    "m": "MMMM d", "M": "MMMM d", "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK", "r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'", "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "t": "h:mm tt", "T": "h:mm:ss tt", "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
    "U": "dddd, MMMM d, yyyy h:mm:ss tt", "y": "MMMM yyyy", "Y": "MMMM yyyy",
}
DATE_TOKEN = re.compile(r"dddd|ddd|dd|d|fffffff|ffffff|fffff|ffff|fff|ff|f|FFFFFFF|FFFFFF|FFFFF|FFFF"
                        r"|FFF|FF|F|hh|h|HH|H|K|mm|m|MMMM|MMM|MM|M|ss|s|tt|t|yyyy|yyy|yy|y|zzz|zz|z"
                        r"|'[^']*'|\"[^\"]*\"|\\.|%|.", re.DOTALL)


def format_date(value: datetime, fmt: str | None = None) -> str:
    fmt = fmt or "G"
    if len(fmt) == 1 and fmt in STANDARD_DATE:
        if fmt == "U":
            value = value.astimezone() if value.tzinfo else value
        fmt = STANDARD_DATE[fmt]
    out = []
    ticks = value.microsecond * 10
    for tok in DATE_TOKEN.findall(fmt):
        c = tok[0]
        if tok in ("%",):
            continue
        if c in "'\"":
            out.append(tok[1:-1])
        elif c == "\\":
            out.append(tok[1:])
        elif c == "d":
            out.append({1: str(value.day), 2: f"{value.day:02}", 3: DAYS[value.weekday()][:3]}
                       .get(len(tok), DAYS[value.weekday()]))
        elif c in "fF":
            digits = f"{ticks:07}"[:len(tok)]
            out.append(digits if c == "f" else digits.rstrip("0"))
        elif c == "h":
            hour = value.hour % 12 or 12
            out.append(f"{hour:02}" if len(tok) == 2 else str(hour))
        elif c == "H":
            out.append(f"{value.hour:02}" if len(tok) == 2 else str(value.hour))
        elif c == "m":
            out.append(f"{value.minute:02}" if len(tok) == 2 else str(value.minute))
        elif c == "M":
            out.append({1: str(value.month), 2: f"{value.month:02}", 3: MONTHS[value.month - 1][:3]}
                       .get(len(tok), MONTHS[value.month - 1]))
        elif c == "s":
            out.append(f"{value.second:02}" if len(tok) == 2 else str(value.second))
        elif c == "t":
            ampm = "AM" if value.hour < 12 else "PM"
            out.append(ampm if len(tok) == 2 else ampm[0])
        elif c == "y":
            out.append(str(value.year % 100) if len(tok) == 1 else
                       f"{value.year % 100:02}" if len(tok) == 2 else f"{value.year:0{len(tok)}}")
        elif c == "K":
            out.append({"Utc": "Z", "Local": "+00:00", "Unspecified": ""}[date_kind(value)])
        elif c == "z":
            out.append({1: "+0", 2: "+00"}.get(len(tok), "+00:00"))
        else:
            out.append(tok)
    return "".join(out)


def format_number(value, fmt: str | None) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return to_string(value)
    if not fmt:
        return format_double(value) if isinstance(value, float) else str(int(value))
    m = re.fullmatch(r"([CcDdEeFfGgNnPpRrXx])(\d{0,2})", fmt)
    if m:
        kind, prec = m.group(1), m.group(2)
        p = int(prec) if prec else None
        k = kind.upper()
        if k == "D":
            if isinstance(value, float):
                raise runtime_error("Format specifier was invalid.", "FormatException", "NotSpecified")
            text = str(abs(int(value))).zfill(p or 0)
            return ("-" if value < 0 else "") + text
        if k == "X":
            text = format(int(value) & ((1 << 64) - 1) if value < 0 else int(value), "x").zfill(p or 0)
            return text.upper() if kind == "X" else text
        if k == "F":
            return f"{value:.{2 if p is None else p}f}"
        if k == "N":
            return f"{value:,.{2 if p is None else p}f}"
        if k == "C":
            return ("-" if value < 0 else "") + f"${abs(value):,.{2 if p is None else p}f}"
        if k == "P":
            return f"{value * 100:,.{2 if p is None else p}f} %"
        if k == "E":
            text = f"{value:.{6 if p is None else p}e}"
            mant, exp = text.split("e")
            return f"{mant}{kind}{exp[0]}{exp[1:].zfill(3)}"
        return format_double(float(value)) if isinstance(value, float) else str(value)
    # custom: 0.00, #,##0.0, 000
    m = re.fullmatch(r"([#0,]*)(?:\.([0#]*))?", fmt)
    if m:
        int_part, frac = m.group(1), m.group(2) or ""
        text = f"{abs(value):.{len(frac)}f}"
        whole, _, fraction = text.partition(".")
        while len(fraction) > frac.count("0") and fraction.endswith("0"):
            fraction = fraction[:-1]
        min_int = int_part.count("0")
        whole = "" if whole == "0" and min_int == 0 else whole.zfill(min_int)
        if "," in int_part and whole:
            whole = f"{int(whole):,}"
        sign = "-" if value < 0 and (whole.strip("0") or fraction.strip("0")) else ""
        return sign + whole + ("." + fraction if fraction else "")
    return fmt


def format_value(value, fmt: str | None) -> str:
    if isinstance(value, datetime):
        return format_date(value, fmt)
    if isinstance(value, timedelta):
        return format_timespan(value)
    if isinstance(value, (int, float)) and not isinstance(value, (bool, PSEnum)):
        return format_number(value, fmt)
    return to_string(value)


def composite_format(fmt: str, args: list) -> str:
    """.NET String.Format: ``{0}``, ``{1,-10}``, ``{0:N2}``, ``{{`` and ``}}``."""
    out, i = [], 0
    while i < len(fmt):
        c = fmt[i]
        if c == "{" and fmt.startswith("{{", i):
            out.append("{")
            i += 2
        elif c == "}" and fmt.startswith("}}", i):
            out.append("}")
            i += 2
        elif c == "{":
            end = fmt.find("}", i)
            m = re.fullmatch(r"\s*(\d+)\s*(?:,\s*(-?\d+))?\s*(?::(.*))?", fmt[i + 1:end] if end > 0 else "")
            if not m:
                raise runtime_error('Error formatting a string: Input string was not in a correct '
                                    'format..', "FormatError", "InvalidOperation")
            index = int(m.group(1))
            if index >= len(args):
                raise runtime_error("Error formatting a string: Index (zero based) must be greater "
                                    "than or equal to zero and less than the size of the argument "
                                    "list..", "FormatError", "InvalidOperation")
            text = format_value(args[index], m.group(3))
            width = int(m.group(2) or 0)
            text = text.rjust(width) if width > 0 else text.ljust(-width)
            out.append(text)
            i = end + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


# -- console rendering (Out-Default) ------------------------------------------------------
def display(value, top: bool = False) -> str:
    """How a value prints in a table cell (or on its own line when ``top``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, PSEnum):
        return value.name
    if isinstance(value, float):
        text = f"{value:.15G}"
        if "E" in text:
            mant, exp = text.split("E")
            text = f"{mant}E{exp[0]}{exp[1:].zfill(2)}"
        return text
    if isinstance(value, datetime):
        return format_date(value, "F" if top else "G")
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(display(v) for v in value) + "}"
    if isinstance(value, uuid.UUID):
        return str(value)
    return to_string(value)


def _properties(obj) -> list[tuple[str, object]]:
    if isinstance(obj, Hashtable):
        return list(obj.items())
    return list(obj.items())


def table_lines(rows: list, headers: list[str]) -> list[str]:
    cells = [[display(row.get(h) if not isinstance(row, Hashtable) else row.lookup(h)) for h in headers]
             for row in rows]
    numeric = [all(isinstance(r.get(h), (int, float)) and not isinstance(r.get(h), (bool, PSEnum))
                   for r in rows if r.get(h) is not None) and any(r.get(h) is not None for r in rows)
               for h in headers]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]

    def line(values, align_numeric=True):
        parts = []
        for i, v in enumerate(values):
            last = i == len(values) - 1
            if numeric[i] and align_numeric:
                parts.append(v.rjust(widths[i]))
            else:
                parts.append(v if last else v.ljust(widths[i]))
        return " ".join(parts).rstrip()

    out = ["", line(headers), line(["-" * len(h) for h in headers])]
    out.extend(line(c) for c in cells)
    out.append("")
    return out


def list_lines(obj) -> list[str]:
    props = _properties(obj)
    width = max((len(str(k)) for k, _ in props), default=0)
    return [f"{str(k).ljust(width)} : {display(v)}" for k, v in props] + [""]


def render(items: list) -> list[str]:
    """Lines the console host prints for a statement's output."""
    lines: list[str] = []
    pending: list = []

    def flush():
        if not pending:
            return
        headers = [k for k, _ in _properties(pending[0])]
        if len(headers) <= 4:
            lines.extend(table_lines(pending, headers))
        else:
            lines.append("")
            for obj in pending:
                lines.extend(list_lines(obj))
        pending.clear()

    for item in _flatten(items):
        if is_object(item) and not (isinstance(item, dict) and getattr(item, "text", None) and not item):
            if pending and list(pending[0].keys()) != list(item.keys()):
                flush()
            pending.append(item)
            continue
        flush()
        if item is None:
            continue
        if isinstance(item, Hashtable):
            if item:
                width = max([30] + [len(to_string(k)) for k in item])
                lines.extend(["", "Name".ljust(width) + " Value", "----".ljust(width) + " -----"])
                lines.extend((to_string(k).ljust(width) + " " + display(v)).rstrip() for k, v in item.items())
                lines.append("")
        elif isinstance(item, ErrorRecord):
            lines.extend(format_error(item))
        else:
            lines.extend(re.split(r"\r?\n", display(item, top=True)))
    flush()
    return lines


def _flatten(items):
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flatten(item)
        else:
            yield item
