"""The built-in commands (Microsoft.PowerShell.Utility and friends) the subset provides."""
from __future__ import annotations

from datetime import datetime

from .errors import ErrorRecord, PSException, TerminatingError
from .formatting import format_date, list_lines, render, table_lines
from .invoke import NOT_RECOGNIZED, Builtin, Cmdlet
from .jsonconv import convert_from_json, convert_to_json
from .operators import like
from .pipeline_commands import (
    UTILITY,
    WHERE_OPERATORS,
    _as_list,
    _error,
    _extent,
    _inputs,
    _select_properties,
    foreach_object,
    group_object,
    measure_object,
    select_object,
    sort_object,
    where_object,
)
from .values import LOCAL, Hashtable, PSEnum, PSObject, to_datetime, to_number, to_string


# -- output and streams ------------------------------------------------------------------------
def write_output(interp, p, items, cmd):
    if items is not None:
        return list(items)
    if "InputObject" not in p:
        return []
    value = p["InputObject"]
    return [value] if p.get("NoEnumerate") else _as_list(value) if value is not None else [None]


def write_error(interp, p, items, cmd):
    if isinstance(p.get("ErrorRecord"), ErrorRecord):
        record = p["ErrorRecord"]
    else:
        exception = p.get("Exception")
        message = to_string(p.get("Message", getattr(exception, "message", None)))
        exc = exception if isinstance(exception, PSException) else PSException(
            "Microsoft.PowerShell.Commands.WriteErrorException", message)
        category = to_string(p.get("Category", "NotSpecified"))
        fqid = to_string(p.get("ErrorId", "")) or "Microsoft.PowerShell.Commands.WriteErrorException"
        text = interp.source[cmd.start:cmd.end]
        record = ErrorRecord(exc, fqid, category, target=p.get("TargetObject"),
                             activity="Write-Error", prefix=text)
        record.target_type = "" if p.get("TargetObject") is None else None
    interp.write_error(record, interp.command_action)
    return []


def write_warning(interp, p, items, cmd):
    interp.write_warning(to_string(p.get("Message")), p.get("WarningAction"))
    return []


def write_verbose(interp, p, items, cmd):
    stream = "verbose" if cmd.name.lower().endswith("verbose") else "debug"
    if p.get("Verbose") or p.get("Debug") or interp.preference(stream.capitalize()) == "continue":
        interp.streams.append((stream, to_string(p.get("Message"))))
    return []


def write_host(interp, p, items, cmd):
    values = _as_list(p.get("Object", [])) if items is None else items
    sep = to_string(p.get("Separator", " "))
    interp.stdout.append(sep.join(to_string(v) for v in values))
    return []


def out_null(interp, p, items, cmd):
    return []


def out_string(interp, p, items, cmd):
    lines = render(_inputs(p, items))
    if p.get("Stream"):
        return lines
    return ["".join(line + "\r\n" for line in lines)]


def format_list(interp, p, items, cmd):
    objs = _inputs(p, items)
    if "Property" in p:
        objs = [_select_properties(interp, o, _as_list(p["Property"]), [], cmd) for o in objs]
    lines = [""]
    for o in objs:
        lines.extend(list_lines(o) if isinstance(o, dict) else [to_string(o), ""])
    return lines


def format_table(interp, p, items, cmd):
    objs = _inputs(p, items)
    if "Property" in p:
        objs = [_select_properties(interp, o, _as_list(p["Property"]), [], cmd) for o in objs]
    if not objs or not all(isinstance(o, dict) for o in objs):
        return [to_string(o) for o in objs]
    return table_lines(objs, list(objs[0].keys()))


def start_sleep(interp, p, items, cmd):
    seconds = to_number(p.get("Seconds", 0), "System.Double")
    seconds += to_number(p.get("Milliseconds", 0), "System.Double") / 1000
    if seconds > 0:
        interp.sleep(seconds)
    return []


def get_date(interp, p, items, cmd):
    value = to_datetime(p["Date"]) if "Date" in p else datetime.now(LOCAL)
    if "Format" in p:
        return [format_date(value, to_string(p["Format"]))]
    return [value]


def convert_to_json_cmd(interp, p, items, cmd):
    objs = [o for o in _inputs(p, items) if o is not None]
    depth = to_number(p.get("Depth", 2))
    if depth < 1 or depth > 100:
        message = (f"Cannot validate argument on parameter 'Depth'. The {depth} argument is less than "
                   f"the minimum allowed range of 1. Supply an argument that is greater than or equal "
                   f"to 1 and then try the command again." if depth < 1 else
                   "The maximum depth allowed for serialization is 100.")
        raise TerminatingError(_error(message, f"ParameterArgumentValidationError,{UTILITY}"
                                      "ConvertToJsonCommand", command="ConvertTo-Json",
                                      extent=_extent(interp, cmd)))
    if not objs:
        return []
    return [convert_to_json(objs[0] if len(objs) == 1 else objs, depth, bool(p.get("Compress")))]


def convert_from_json_cmd(interp, p, items, cmd):
    text = "\n".join(to_string(x) for x in _inputs(p, items))
    try:
        return [convert_from_json(text)]
    except ValueError as exc:
        raise TerminatingError(_error(str(exc), f"System.ArgumentException,{UTILITY}ConvertFromJsonCommand",
                                      "NotSpecified", "System.ArgumentException", text,
                                      "ConvertFrom-Json", _extent(interp, cmd))) from None


def get_command(interp, p, items, cmd):
    out = []
    for name in [to_string(x) for x in _as_list(p.get("Name", "*"))]:
        matches = [c for key, c in sorted(interp.commands.items()) if like(key, name)]
        if not matches and not any(ch in name for ch in "*?["):
            interp.write_error(ErrorRecord(
                PSException("System.Management.Automation.CommandNotFoundException", NOT_RECOGNIZED.format(name)),
                f"CommandNotFoundException,{UTILITY}GetCommandCommand", "ObjectNotFound", target=name,
                activity="Get-Command", prefix="Get-Command", extent=_extent(interp, cmd)), interp.command_action)
        seen = set()
        for c in matches:
            if id(c) in seen:
                continue
            seen.add(id(c))
            out.append(PSObject({"CommandType": PSEnum(8, "Cmdlet"), "Name": c.name, "Version": "",
                                 "Source": c.module, "ModuleName": c.module}, text=c.name,
                                type_name="System.Management.Automation.CmdletInfo"))
    return out


def new_object(interp, p, items, cmd):
    name = to_string(p.get("TypeName")).lower()
    if name.startswith("system."):
        name = name[7:]
    if name in ("psobject", "pscustomobject", "management.automation.psobject"):
        props = p.get("Property")
        return [PSObject(props.items() if isinstance(props, dict) else [])]
    if name in ("collections.hashtable", "hashtable"):
        return [Hashtable()]
    raise TerminatingError(_error(f"Cannot find type [{p.get('TypeName')}]: verify that the assembly "
                                  "containing this type is loaded.", f"TypeNotFound,{UTILITY}NewObjectCommand",
                                  "InvalidType", command="New-Object", extent=_extent(interp, cmd)))


def set_strict_mode(interp, p, items, cmd):
    if p.get("Off"):
        interp.strict = 0
        return []
    version = to_string(p.get("Version", "")).lower()
    if version in ("latest", ""):
        interp.strict = 3
    else:
        interp.strict = max(1, min(3, int(to_number(version.split(".")[0] or 1, "System.Double"))))
    return []


def add_member(interp, p, items, cmd):
    members = dict(p["NotePropertyMembers"].items()) if isinstance(p.get("NotePropertyMembers"), dict) else {}
    name = p.get("NotePropertyName", p.get("Name"))
    if name is not None:
        members[to_string(name)] = p.get("NotePropertyValue", p.get("Value"))
    out = []
    for obj in _inputs(p, items):
        if not isinstance(obj, PSObject) and not (isinstance(obj, dict) and not isinstance(obj, Hashtable)):
            raise TerminatingError(_error("The lab can add note properties only to objects (PSCustomObject "
                                          "or cmdlet output).", f"CannotAddMember,{UTILITY}AddMemberCommand",
                                          "InvalidOperation", command="Add-Member", extent=_extent(interp, cmd)))
        for key, value in members.items():
            existing = next((k for k in obj if isinstance(k, str) and k.lower() == key.lower()), None)
            if existing is not None and not p.get("Force"):
                interp.write_error(_error(f'Cannot add a member with the name "{key}" because a member with '
                                          f'that name already exists. To overwrite the member anyway, add the '
                                          f'Force parameter to your command.',
                                          f"MemberAlreadyExists,{UTILITY}AddMemberCommand", "InvalidOperation",
                                          "System.InvalidOperationException", obj, "Add-Member",
                                          _extent(interp, cmd)), interp.command_action)
                continue
            obj[existing or key] = value
        if p.get("PassThru"):
            out.append(obj)
    return out


def _b(name, run, params, positional=(), pipeline=None, type_name="", **kw) -> Builtin:
    return Builtin(name, run, params, positional, pipeline, UTILITY + (type_name or name.replace("-", "") + "Command"), **kw)


V, S = "value", "switch"
BUILTINS = {b.name: b for b in [
    _b("Select-Object", select_object, {"Property": V, "ExpandProperty": V, "ExcludeProperty": V, "First": V,
                                        "Last": V, "Skip": V, "Unique": S, "InputObject": V}, ("Property",), "InputObject"),
    _b("Where-Object", where_object, {"FilterScript": V, "Property": V, "Value": V, "InputObject": V,
                                      **{op: S for op in WHERE_OPERATORS}}, ("Property", "Value"), "InputObject"),
    _b("ForEach-Object", foreach_object, {"Process": V, "Begin": V, "End": V, "MemberName": V,
                                          "ArgumentList": V, "InputObject": V}, ("Process",), "InputObject"),
    _b("Sort-Object", sort_object, {"Property": V, "Descending": S, "Unique": S, "CaseSensitive": S,
                                    "InputObject": V}, ("Property",), "InputObject"),
    _b("Measure-Object", measure_object, {"Property": V, "Sum": S, "Average": S, "Maximum": S, "Minimum": S,
                                          "InputObject": V}, ("Property",), "InputObject"),
    _b("Group-Object", group_object, {"Property": V, "NoElement": S, "AsHashTable": S, "AsString": S,
                                      "CaseSensitive": S, "InputObject": V}, ("Property",), "InputObject"),
    _b("Write-Output", write_output, {"InputObject": V, "NoEnumerate": S}, ("InputObject",), "InputObject",
       remaining="InputObject"),
    _b("Write-Error", write_error, {"Message": V, "Category": V, "ErrorId": V, "TargetObject": V,
                                    "Exception": V, "ErrorRecord": V, "RecommendedAction": V},
       ("Message",), type_name="WriteErrorCommand"),
    _b("Write-Warning", write_warning, {"Message": V}, ("Message",)),
    _b("Write-Verbose", write_verbose, {"Message": V}, ("Message",)),
    _b("Write-Debug", write_verbose, {"Message": V}, ("Message",)),
    _b("Write-Host", write_host, {"Object": V, "NoNewline": S, "Separator": V, "ForegroundColor": V,
                                  "BackgroundColor": V}, ("Object",), "Object", remaining="Object"),
    _b("Out-Null", out_null, {"InputObject": V}, (), "InputObject"),
    _b("Out-String", out_string, {"InputObject": V, "Stream": S, "Width": V}, (), "InputObject"),
    _b("Format-List", format_list, {"Property": V, "InputObject": V}, ("Property",), "InputObject"),
    _b("Format-Table", format_table, {"Property": V, "AutoSize": S, "Wrap": S, "HideTableHeaders": S,
                                      "InputObject": V}, ("Property",), "InputObject"),
    _b("Start-Sleep", start_sleep, {"Seconds": V, "Milliseconds": V}, ("Seconds",)),
    _b("Get-Date", get_date, {"Date": V, "Format": V}, ("Date",)),
    _b("ConvertTo-Json", convert_to_json_cmd, {"InputObject": V, "Depth": V, "Compress": S}, ("InputObject",),
       "InputObject"),
    _b("ConvertFrom-Json", convert_from_json_cmd, {"InputObject": V}, ("InputObject",), "InputObject"),
    _b("Get-Command", get_command, {"Name": V, "Module": V, "CommandType": V}, ("Name",),
       module="Microsoft.PowerShell.Core"),
    _b("Set-StrictMode", set_strict_mode, {"Version": V, "Off": S}, (), module="Microsoft.PowerShell.Core"),
    _b("Add-Member", add_member, {"InputObject": V, "MemberType": V, "Name": V, "Value": V, "NotePropertyName": V,
                                  "NotePropertyValue": V, "NotePropertyMembers": V, "PassThru": S, "Force": S,
                                  "TypeName": V}, ("MemberType", "Name", "Value"), "InputObject"),
    _b("New-Object", new_object, {"TypeName": V, "Property": V, "ArgumentList": V}, ("TypeName", "ArgumentList")),
]}
for _name in ("Out-Null", "Start-Sleep", "Get-Date", "Write-Host"):
    BUILTINS[_name].module = "Microsoft.PowerShell.Utility" if _name != "Out-Null" else "Microsoft.PowerShell.Core"

ALIASES = {"select": "Select-Object", "where": "Where-Object", "?": "Where-Object",
           "foreach": "ForEach-Object", "%": "ForEach-Object", "sort": "Sort-Object",
           "measure": "Measure-Object", "group": "Group-Object", "echo": "Write-Output",
           "write": "Write-Output", "sleep": "Start-Sleep", "gcm": "Get-Command", "fl": "Format-List",
           "ft": "Format-Table"}

__all__ = ["ALIASES", "BUILTINS", "Cmdlet"]
