"""Classic event logs: New-EventLog registers a source, Write-EventLog writes an entry (the lab
records it as an `eventlog-written` event). Node scripts use them to leave a trace on the node."""
from __future__ import annotations

from lab.cmdlets.binding import enum_values, not_empty, require
from lab.cmdlets.common import cmdlet, fail

NEW = "Microsoft.PowerShell.Commands.NewEventLogCommand"
WRITE = "Microsoft.PowerShell.Commands.WriteEventLogCommand"
LOGS = ("Application", "System")
# Sources every Windows Server has registered, by log (a sample: the lab refuses any other unless registered).
BUILT_IN = {"msiinstaller": "Application", "application error": "Application", "eventlog": "System",
            "user32": "System"}
ENTRY_TYPES = {"Error": 1, "Warning": 2, "Information": 4, "SuccessAudit": 8, "FailureAudit": 16}
MESSAGE_LIMIT = 32766   # characters of one entry's message (ReportEvent)


def _log_of(host, source: str) -> str | None:
    return host.event_sources.get(source.lower()) or BUILT_IN.get(source.lower())


def _known_log(name: str, command_type: str) -> str:
    for log in LOGS:
        if log.lower() == name.lower():
            return log
    raise fail(f'The Log name "{name}" does not exist in the computer "localhost".', "InvalidOperation",
               command_type.rsplit(".", 1)[-1].replace("Command", "Exception"), command_type)


@cmdlet("Microsoft.PowerShell.Management", "New-EventLog",
        {"LogName": "value", "Source": "value", "ComputerName": "value", "CategoryResourceFile": "value",
         "MessageResourceFile": "value", "ParameterResourceFile": "value"}, positional=("LogName", "Source"),
        command_type=NEW)
def new_eventlog(ctx, LogName=None, Source=None, ComputerName=None, CategoryResourceFile=None,
                 MessageResourceFile=None, ParameterResourceFile=None):
    require(NEW, LogName=LogName, Source=Source)
    not_empty(LogName, "LogName", NEW)
    not_empty(Source, "Source", NEW)
    if ComputerName is not None:
        raise fail("The lab registers event sources on the host the command runs on only.", "InvalidOperation",
                   "NewEventLogException", NEW)
    host = ctx.host
    with ctx.dc.lock:
        sources = Source if isinstance(Source, list) else [Source]
        for source in map(str, sources):
            if _log_of(host, source) is not None:
                raise fail(f'The "{source}" source is already registered on the "localhost" computer.',
                           "InvalidOperation", "Microsoft.PowerShell.Commands.NewEventLogCommand", NEW)
        # a new log name makes a new custom log on Windows; the lab keeps to the two it knows
        log = _known_log(str(LogName), NEW)
        for source in map(str, sources):
            host.event_sources[source.lower()] = log
    return []


@cmdlet("Microsoft.PowerShell.Management", "Write-EventLog",
        {"LogName": "value", "Source": "value", "EventId": "value", "Message": "value", "EntryType": "value",
         "Category": "value", "RawData": "value", "ComputerName": "value"},
        positional=("LogName", "Source", "EventId", "Message"), command_type=WRITE)
def write_eventlog(ctx, LogName=None, Source=None, EventId=None, Message=None, EntryType=None, Category=None,
                   RawData=None, ComputerName=None):
    require(WRITE, LogName=LogName, Source=Source, EventId=EventId, Message=Message)
    not_empty(LogName, "LogName", WRITE)
    not_empty(Source, "Source", WRITE)
    event_id = str(EventId).strip()
    if not event_id.lstrip("-").isdigit() or not 0 <= int(event_id) <= 65535:
        raise fail(f"Cannot validate argument on parameter 'EventId'. The {EventId} argument is greater than the "
                   f"maximum allowed range of 65535, or not a whole number. Supply an argument that is less than or "
                   f"equal to 65535 and then try the command again.", "InvalidData",
                   "ParameterArgumentValidationError", WRITE,
                   "System.Management.Automation.ParameterBindingValidationException")
    entry_type = "Information"
    if EntryType is not None:
        number = enum_values(EntryType, ENTRY_TYPES, "EntryType", "System.Diagnostics.EventLogEntryType", WRITE)[0]
        entry_type = next(name for name, value in ENTRY_TYPES.items() if value == number)
    if ComputerName is not None:
        raise fail("The lab writes event log entries on the host the command runs on only.", "InvalidOperation",
                   "WriteEventLogException", WRITE)
    message = str(Message)
    if len(message) > MESSAGE_LIMIT:
        raise fail("Log entry string is too long. A string written to the event log cannot exceed 32766 "
                   "characters.", "InvalidArgument", "Microsoft.PowerShell.Commands.WriteEventLogCommand", WRITE,
                   "System.ArgumentException")
    _known_log(str(LogName), WRITE)
    host = ctx.host
    with ctx.dc.lock:
        log = _log_of(host, str(Source))
        if log is None:
            raise fail(f'The source name "{Source}" does not exist on computer "localhost".', "InvalidOperation",
                       "Microsoft.PowerShell.Commands.WriteEventLogCommand", WRITE)
        if log.lower() != str(LogName).lower():
            raise fail(f'The source \'{Source}\' is not registered in log \'{LogName}\'. (It is registered in log '
                       f'\'{log}\'.) " The Source and Log properties must be matched, or you may set Log to the '
                       f'empty string, and it will automatically be matched to the Source property.',
                       "InvalidOperation", "Microsoft.PowerShell.Commands.WriteEventLogCommand", WRITE,
                       "System.ArgumentException")
        ctx.dc.event("eventlog-written", host=host.name, log=log, source=str(Source), event_id=int(event_id),
                     entry_type=entry_type, message=message)
    return []
