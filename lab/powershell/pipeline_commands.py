"""Pipeline commands: Select-Object, Where-Object, ForEach-Object, Sort-Object,
Measure-Object, Group-Object."""
from __future__ import annotations

import functools
from datetime import datetime

from .errors import ErrorRecord, PSException, TerminatingError
from .members import DATE_PROPERTIES, call_method, get_member
from .operators import binary, compare, equals, like
from .typesystem import resolve_type
from .values import (
    ConversionError,
    Hashtable,
    PSObject,
    ScriptBlock,
    TypeInfo,
    find_property,
    is_object,
    to_bool,
    to_number,
    to_string,
)

UTILITY = "Microsoft.PowerShell.Commands."


def _unwrap(items):
    return None if not items else items[0] if len(items) == 1 else items


def _inputs(p: dict, items, key: str = "InputObject") -> list:
    if items is not None:
        return list(items)
    return [p[key]] if key in p else []


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _error(message, fqid, category="InvalidArgument", exception="System.Management.Automation."
           "PSArgumentException", target=None, command="", extent=None) -> ErrorRecord:
    return ErrorRecord(PSException(exception, message), fqid, category, target=target,
                       activity=command, prefix=command or None, extent=extent)


def _extent(interp, cmd):
    return (cmd.start, cmd.end, interp.source)


def property_of(obj, name: str):
    """(value, found) the way Select-Object / Sort-Object see an object's properties."""
    if is_object(obj):
        key, found = find_property(obj, name)
        return (obj[key] if found else None), found
    value = get_member(obj, name, properties_only=True)
    if isinstance(obj, datetime):
        return value, name.lower() in DATE_PROPERTIES
    return value, value is not None


# -- Select-Object ---------------------------------------------------------------------------
def _calculated(interp, spec: Hashtable):
    name = expression = None
    for key, value in spec.items():
        k = to_string(key).lower()
        if k and ("name".startswith(k) or "label".startswith(k)):
            name = to_string(value)
        elif k and "expression".startswith(k):
            expression = value
        else:
            raise TerminatingError(_error(f'The "{key}" key is not valid.', "DictionaryKeyUnknownKey,"
                                          f"{UTILITY}SelectObjectCommand", "InvalidArgument",
                                          "System.NotSupportedException", command="Select-Object"))
    if expression is None:
        raise TerminatingError(_error('The "Expression" key is missing.', "DictionaryKeyMandatoryEntry,"
                                      f"{UTILITY}SelectObjectCommand", command="Select-Object"))
    if name is None:
        name = to_string(expression)
    return name, expression


def _select_properties(interp, obj, specs: list, exclude: list, cmd) -> PSObject:
    result = PSObject()
    for spec in specs:
        if isinstance(spec, Hashtable):
            name, expression = _calculated(interp, spec)
            if isinstance(expression, ScriptBlock):
                value = _unwrap(interp.invoke_block(expression, obj))
            else:
                value = property_of(obj, to_string(expression))[0]
            pairs = [(name, value)]
        elif isinstance(spec, ScriptBlock):
            pairs = [(spec.text, _unwrap(interp.invoke_block(spec, obj)))]
        else:
            pattern = to_string(spec)
            if any(c in pattern for c in "*?[") and is_object(obj):
                pairs = [(k, v) for k, v in obj.items() if like(k, pattern)]
            else:
                value, found = property_of(obj, pattern)
                actual = find_property(obj, pattern)[0] if found and is_object(obj) else pattern
                pairs = [(actual, value)]
        for name, value in pairs:
            if any(like(name, x) for x in exclude):
                continue
            if find_property(result, name)[1]:
                interp.write_error(_error(f'The property cannot be processed because the property '
                                          f'"{name}" already exists.', "AlreadyExistingUserSpecifiedPropertyNoExpand,"
                                          f"{UTILITY}SelectObjectCommand", "InvalidOperation",
                                          "System.Management.Automation.PSArgumentException", obj,
                                          "Select-Object", _extent(interp, cmd)), interp.command_action)
                continue
            result[name] = value
    return result


def select_object(interp, p, items, cmd):
    items = _inputs(p, items)
    if "Skip" in p:
        items = items[to_number(p["Skip"]):]
    if "First" in p or "Last" in p:
        head = items[:to_number(p["First"])] if "First" in p else []
        last = to_number(p.get("Last", 0))
        items = head + (items[-last:] if last else [])
    specs = _as_list(p["Property"]) if "Property" in p else None
    exclude = [to_string(x) for x in _as_list(p.get("ExcludeProperty", []))]
    if specs is None and exclude:
        specs = ["*"]
    out = []
    for obj in items:
        if "ExpandProperty" in p:
            name = to_string(p["ExpandProperty"])
            value, found = property_of(obj, name)
            if not found:
                interp.write_error(_error(f'Property "{name}" cannot be found.', "ExpandPropertyNotFound,"
                                          f"{UTILITY}SelectObjectCommand", "InvalidArgument",
                                          "System.Management.Automation.PSArgumentException", obj,
                                          "Select-Object", _extent(interp, cmd)), interp.command_action)
                continue
            if specs and is_object(value):
                extra = _select_properties(interp, obj, specs, exclude, cmd)
                value = PSObject(list(value.items()) + [(k, v) for k, v in extra.items() if k not in value])
            out.extend(_as_list(value) if value is not None else [])
        elif specs is not None:
            out.append(_select_properties(interp, obj, specs, exclude, cmd))
        else:
            out.append(obj)
    if p.get("Unique"):
        unique = []
        for obj in out:
            if not any(_same(obj, seen) for seen in unique):
                unique.append(obj)
        out = unique
    return out


def _same(a, b) -> bool:
    if is_object(a) and is_object(b):
        return list(a.keys()) == list(b.keys()) and all(equals(a[k], b[k], True) for k in a)
    return equals(a, b, True)


# -- Where-Object / ForEach-Object -----------------------------------------------------------
WHERE_OPERATORS = ["EQ", "NE", "GT", "GE", "LT", "LE", "Like", "NotLike", "Match", "NotMatch",
                   "Contains", "NotContains", "In", "NotIn", "Is", "IsNot"]
WHERE_OPERATORS += ["C" + op for op in WHERE_OPERATORS[:14]]


def where_object(interp, p, items, cmd):
    items = _inputs(p, items)
    script = p.get("FilterScript")
    if script is None and isinstance(p.get("Property"), ScriptBlock):
        script = p["Property"]
    if script is not None:
        return [o for o in items if to_bool(_unwrap(interp.invoke_block(script, o)))]
    if "Property" not in p:
        raise TerminatingError(_error("Cannot bind argument to parameter 'FilterScript' because it is "
                                      "null.", f"ParameterArgumentValidationErrorNullNotAllowed,{UTILITY}"
                                      "WhereObjectCommand", command="Where-Object",
                                      extent=_extent(interp, cmd)))
    name = to_string(p["Property"])
    ops = [op for op in WHERE_OPERATORS if p.get(op)]
    out = []
    for obj in items:
        value = get_member(obj, name)
        if not ops:
            keep = to_bool(value)
        else:
            right = p.get("Value")
            if ops[0] in ("Is", "IsNot"):
                right = right if isinstance(right, TypeInfo) else TypeInfo(resolve_type(to_string(right)))
            keep = to_bool(binary(interp, "-" + ops[0].lower(), value, right))
        if keep:
            out.append(obj)
    return out


def foreach_object(interp, p, items, cmd):
    items = _inputs(p, items) if items is not None or "InputObject" in p else [None]
    out = []
    if isinstance(p.get("Begin"), ScriptBlock):
        out.extend(interp.invoke_block(p["Begin"]))
    process = p.get("Process", p.get("MemberName"))
    if isinstance(process, list) and len(process) == 1:
        process = process[0]
    args = _as_list(p["ArgumentList"]) if "ArgumentList" in p else []
    for obj in items:
        if isinstance(process, ScriptBlock):
            out.extend(interp.invoke_block(process, obj, args))
        elif process is not None:
            name = to_string(process)
            value, found = property_of(obj, name)
            if not found and not isinstance(obj, dict):
                try:
                    value = call_method(interp, obj, name, args)
                except TerminatingError:
                    value = None
            out.extend(_as_list(value) if value is not None else [])
    if isinstance(p.get("End"), ScriptBlock):
        out.extend(interp.invoke_block(p["End"]))
    return out


# -- Sort / Measure / Group --------------------------------------------------------------------
def _key_getters(interp, p):
    getters = []
    for spec in _as_list(p.get("Property")) if "Property" in p else []:
        descending = bool(p.get("Descending"))
        if isinstance(spec, Hashtable):
            expression = spec.lookup("Expression", spec.lookup("e"))
            if spec.find_key("Descending") is not None:
                descending = to_bool(spec.lookup("Descending"))
            if spec.find_key("Ascending") is not None:
                descending = not to_bool(spec.lookup("Ascending"))
            spec = expression
        if isinstance(spec, ScriptBlock):
            getters.append((lambda o, sb=spec: _unwrap(interp.invoke_block(sb, o)), descending))
        else:
            getters.append((lambda o, name=to_string(spec): property_of(o, name)[0], descending))
    if not getters:
        getters.append((lambda o: o if not isinstance(o, dict) else to_string(o), bool(p.get("Descending"))))
    return getters


def _sort_compare(a, b, case: bool) -> int:
    if a is None or b is None:
        return (a is not None) - (b is not None)
    try:
        return compare(a, b, case)
    except (ConversionError, TerminatingError):
        x, y = to_string(a).casefold(), to_string(b).casefold()
        return (x > y) - (x < y)


def sort_object(interp, p, items, cmd):
    items = _inputs(p, items)
    getters = _key_getters(interp, p)
    keyed = [([g(o) for g, _ in getters], o) for o in items]
    case = bool(p.get("CaseSensitive"))

    def cmp(x, y):
        for (get, descending), a, b in zip(getters, x[0], y[0]):
            c = _sort_compare(a, b, case)
            if c:
                return -c if descending else c
        return 0

    keyed.sort(key=functools.cmp_to_key(cmp))
    if p.get("Unique"):
        unique = []
        for entry in keyed:
            if not unique or cmp(unique[-1], entry) != 0:
                unique.append(entry)
        keyed = unique
    return [o for _, o in keyed]


def measure_object(interp, p, items, cmd):
    items = _inputs(p, items)
    wanted = {k: bool(p.get(k)) for k in ("Sum", "Average", "Maximum", "Minimum")}
    names = [to_string(x) for x in _as_list(p["Property"])] if "Property" in p else [None]
    out = []
    for name in names:
        if name is None:
            values = [o for o in items if o is not None]
        else:
            found_any = False
            values = []
            for o in items:
                value, found = property_of(o, name)
                found_any = found_any or found
                if value is not None:
                    values.append(value)
            if not found_any:
                interp.write_error(_error(f'The property "{name}" cannot be found in the input for any '
                                          f'objects.', f"GenericMeasurePropertyNotFound,{UTILITY}MeasureObjectCommand",
                                          "InvalidArgument", "System.Management.Automation.PSArgumentException",
                                          None, "Measure-Object", _extent(interp, cmd)), interp.command_action)
                continue
        numbers = [to_number(v, "System.Double") for v in values] if any(wanted.values()) else []
        out.append(PSObject({
            "Count": len(values),
            "Average": (sum(numbers) / len(numbers) if numbers else None) if wanted["Average"] else None,
            "Sum": float(sum(numbers)) if wanted["Sum"] else None,
            "Maximum": (max(numbers) if numbers else None) if wanted["Maximum"] else None,
            "Minimum": (min(numbers) if numbers else None) if wanted["Minimum"] else None,
            "Property": name,
        }, type_name=UTILITY + "GenericMeasureInfo"))
    return out


def group_object(interp, p, items, cmd):
    items = _inputs(p, items)
    getters = _key_getters(interp, {"Property": p["Property"]} if "Property" in p else {})
    groups: list[tuple[list, list]] = []
    for obj in items:
        key = [g(obj) for g, _ in getters]
        for existing, members in groups:
            if all(equals(a, b, bool(p.get("CaseSensitive"))) for a, b in zip(existing, key)):
                members.append(obj)
                break
        else:
            groups.append((key, [obj]))
    if p.get("AsHashTable"):
        table = Hashtable()
        for key, members in groups:
            table[to_string(_unwrap(key)) if p.get("AsString") else _unwrap(key)] = members
        return [table]
    out = []
    for key, members in groups:
        info = PSObject({"Count": len(members), "Name": ", ".join(to_string(k) for k in key),
                         "Group": [] if p.get("NoElement") else members, "Values": key},
                        type_name="Microsoft.PowerShell.Commands.GroupInfo")
        out.append(info)
    return out
