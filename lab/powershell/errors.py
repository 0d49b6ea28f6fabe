"""Error records, the exceptions that carry them, and how PowerShell prints them."""
from __future__ import annotations

from xml.sax.saxutils import escape

CATEGORIES = [
    "NotSpecified", "OpenError", "CloseError", "DeviceError", "DeadlockDetected", "InvalidArgument",
    "InvalidData", "InvalidOperation", "InvalidResult", "InvalidType", "MetadataError",
    "NotImplemented", "NotInstalled", "ObjectNotFound", "OperationStopped", "OperationTimeout",
    "SyntaxError", "ParserError", "PermissionDenied", "ResourceBusy", "ResourceExists",
    "ResourceUnavailable", "ReadError", "WriteError", "FromStdErr", "SecurityError",
    "ProtocolError", "ConnectionError", "AuthenticationError", "LimitsExceeded", "QuotaExceeded",
    "NotEnabled",
]
CATEGORY_VALUES = {name.lower(): i for i, name in enumerate(CATEGORIES)}
CONSOLE_WIDTH = 120


class CmdletError(Exception):
    """Raised (or yielded, to keep going) by a lab cmdlet: becomes a PowerShell ErrorRecord.

    Raised or yielded, it is a non-terminating error unless ``terminating=True`` (what a cmdlet's
    ThrowTerminatingError gives); ``$ErrorActionPreference='Stop'`` or ``-ErrorAction Stop``
    promote it as PowerShell does.
    """

    def __init__(self, message, category="InvalidOperation", fqid="",
                 exception="System.InvalidOperationException", target=None, terminating=False):
        super().__init__(message)
        self.message = message
        self.category = category
        self.fqid = fqid
        self.exception = exception
        self.target = target
        self.terminating = terminating


class CmdletWarning:
    """Yielded by a cmdlet to write a warning (``WARNING: ...`` on the warning stream)."""

    def __init__(self, message: str):
        self.message = message


class PSException:
    """What ``$_.Exception`` shows: a .NET exception type name and its message."""

    def __init__(self, type_name: str, message: str, inner=None):
        self.type_name = type_name
        self.message = message
        self.inner = inner

    @property
    def short_name(self) -> str:
        return self.type_name.rsplit(".", 1)[-1]

    def __str__(self):
        return f"{self.type_name}: {self.message}"


class ErrorRecord:
    def __init__(self, exception: PSException, fqid: str, category: str = "NotSpecified",
                 target=None, activity: str = "", extent=None, prefix: str | None = None,
                 target_type: str | None = None):
        self.exception = exception
        self.fqid = fqid
        self.category = category if category.lower() in CATEGORY_VALUES else "NotSpecified"
        self.target = target
        self.activity = activity
        self.extent = extent          # (start, end, source) of the failing script text
        self.prefix = prefix          # "Get-VM" in "Get-VM : message"
        self.target_type = target_type

    @property
    def message(self) -> str:
        return self.exception.message

    def __str__(self):
        return self.message

    def category_line(self) -> str:
        target = "" if self.target is None else _short(self.target)
        ttype = self.target_type if self.target_type is not None else (
            "" if self.target is None else _type_short(self.target))
        return (f"{self.category}: ({target}:{ttype}) [{self.activity}], "
                f"{self.exception.short_name}")


def _short(value) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(_short(v) for v in value)
    return str(value)


def _type_short(value) -> str:
    if isinstance(value, str):
        return "String"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Int32"
    if isinstance(value, dict):
        return "PSObject"
    if isinstance(value, (list, tuple)):
        return "Object[]"
    return type(value).__name__


class TerminatingError(Exception):
    """A terminating error unwinding the interpreter. ``script`` = script-terminating
    (throw, -ErrorAction Stop); otherwise it ends only the current statement."""

    def __init__(self, record: ErrorRecord, script: bool = False):
        super().__init__(record.message)
        self.record = record
        self.script = script


class ParseError(Exception):
    def __init__(self, message: str, error_id: str, pos: int, length: int, source: str):
        super().__init__(message)
        self.message = message
        self.error_id = error_id
        self.pos = pos
        self.length = max(1, length)
        self.source = source

    def lines(self) -> list[str]:
        lines = position_lines(self.source, self.pos, self.pos + self.length)
        lines.append(self.message)
        lines.append("    + CategoryInfo          : ParserError: (:) [], "
                     "ParentContainsErrorRecordException")
        lines.append(f"    + FullyQualifiedErrorId : {self.error_id}")
        lines.append(" ")
        return lines


def runtime_error(message: str, fqid: str, category: str = "InvalidOperation",
                  exception: str = "System.Management.Automation.RuntimeException",
                  extent=None, target=None) -> TerminatingError:
    record = ErrorRecord(PSException(exception, message), fqid, category, target=target,
                         extent=extent)
    return TerminatingError(record)


def method_exception(name: str, args: list, message: str):
    return runtime_error(f'Exception calling "{name}" with "{len(args)}" argument(s): "{message}"',
                         "FormatException" if "format" in message.lower() else "ArgumentException",
                         "NotSpecified", "System.Management.Automation.MethodInvocationException")


def position_lines(source: str, start: int, end: int) -> list[str]:
    """``At line:L char:C`` and the ``+ text`` / ``+ ~~~`` lines under the failing extent."""
    start = max(0, min(start, len(source)))
    end = max(start + 1, min(end, len(source)))
    line_no = source.count("\n", 0, start) + 1
    line_start = source.rfind("\n", 0, start) + 1
    out = [f"At line:{line_no} char:{start - line_start + 1}"]
    pos = line_start
    while pos < end and pos <= len(source):
        nl = source.find("\n", pos)
        line_end = len(source) if nl < 0 else nl
        text = source[pos:line_end].rstrip("\r")
        lo = max(start, pos) - pos
        hi = min(end, pos + len(text)) - pos
        out.append("+ " + text)
        out.append("+ " + " " * lo + "~" * max(1, hi - lo))
        if nl < 0:
            break
        pos = nl + 1
    return out


def format_error(record: ErrorRecord) -> list[str]:
    """The lines Windows PowerShell 5.1 writes for an error record in a non-interactive host."""
    message = record.message
    lines: list[str] = []
    if record.prefix:
        message = f"{record.prefix} : {message}"
    lines.extend(message.split("\n"))
    if record.extent is not None:
        start, end, source = record.extent
        lines.extend(position_lines(source, start, end))
    lines.append(f"    + CategoryInfo          : {record.category_line()}")
    lines.append(f"    + FullyQualifiedErrorId : {record.fqid}")
    lines.append(" ")
    return lines


def wrap(line: str, width: int = CONSOLE_WIDTH) -> list[str]:
    """Word-wrap a line the way the console host does (trailing blank kept on the first part)."""
    out = []
    while len(line) > width:
        cut = line.rfind(" ", 0, width)
        if cut <= 0:
            cut = width - 1
        out.append(line[:cut + 1])
        line = line[cut + 1:]
    out.append(line)
    return out


def _clixml_text(text: str) -> str:
    text = escape(text)
    out = []
    for ch in text:
        if ord(ch) < 32 or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"_x{ord(ch):04X}_")
        else:
            out.append(ch)
    return "".join(out)


PROGRESS_CLIXML = (
    '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject'
    '</T><T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing '
    'modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T>'
    '<SR>-1</SR><SD> </SD></PR></MS></Obj>'
)


def to_clixml(entries: list[tuple[str, str]]) -> str:
    """Serialize the error/warning/progress streams as ``powershell.exe`` does when its stderr
    is not a console: ``#< CLIXML`` then one ``<S S="Error">`` element per console line."""
    body = []
    for stream, text in entries:
        if stream == "progress":
            if PROGRESS_CLIXML not in body:
                body.append(PROGRESS_CLIXML)
            continue
        for line in text.split("\n"):
            for part in wrap(line):
                body.append(f'<S S="{stream}">{_clixml_text(part)}_x000D__x000A_</S>')
    return ('#< CLIXML\r\n<Objs Version="1.1.0.1" '
            'xmlns="http://schemas.microsoft.com/powershell/2004/04">' + "".join(body) + "</Objs>")
