"""WS-Management SOAP: reading the requests pywinrm sends and writing what WinRM answers."""
from __future__ import annotations

import base64
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
CMD_RESOURCE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
ACTIONS = {
    TRANSFER + "Create": "create", TRANSFER + "Delete": "delete",
    SHELL + "Command": "command", SHELL + "Receive": "receive", SHELL + "Signal": "signal",
    SHELL + "Send": "send",
}

# WS-Management fault codes Windows uses
OPERATION_TIMEOUT = 2150858793
SHELL_NOT_FOUND = 2150858843
ACTION_NOT_SUPPORTED = 2150858771
INVALID_MESSAGE = 2150858817
INTERNAL_ERROR = 2150859177
INVALID_PARAMETER = 87                  # ERROR_INVALID_PARAMETER
FILENAME_EXCED_RANGE = 206              # ERROR_FILENAME_EXCED_RANGE: CreateProcess's limit


class SoapError(Exception):
    """Answered as a WS-Management fault (HTTP 500)."""

    def __init__(self, code: int, subcode: str, reason: str, value: str = "s:Receiver"):
        super().__init__(reason)
        self.code = code
        self.subcode = subcode
        self.reason = reason
        self.value = value


@dataclass
class Request:
    action: str                     # create / command / receive / signal / delete / send / unknown
    action_uri: str
    message_id: str
    operation_timeout: float
    shell_id: str | None
    options: dict = field(default_factory=dict)
    command: str | None = None      # rsp:Command + rsp:Arguments
    command_id: str | None = None
    signal_code: str | None = None
    stream: str | None = None       # Send: the stream's name (stdin), its data and whether it ends
    data: bytes = b""
    end: bool = False


def _duration(text: str | None, default: float = 60.0) -> float:
    m = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?", (text or "").strip())
    if not m or not any(m.groups()):
        return default
    hours, minutes, seconds = m.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def parse_request(body: bytes) -> Request:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise SoapError(INVALID_MESSAGE, "w:InvalidMessageInformationHeader",
                        f"The WS-Management service cannot process the request because the XML is "
                        f"invalid. {exc}", "s:Sender") from None
    header = root.find("s:Header", NS)
    body_el = root.find("s:Body", NS)
    if header is None or body_el is None:
        raise SoapError(INVALID_MESSAGE, "w:InvalidMessageInformationHeader",
                        "The WS-Management service cannot process the request because the SOAP "
                        "envelope has no header or body.", "s:Sender")
    action_uri = (header.findtext("a:Action", "", NS) or "").strip()
    request = Request(
        action=ACTIONS.get(action_uri, "unknown"), action_uri=action_uri,
        message_id=(header.findtext("a:MessageID", "", NS) or "").strip(),
        operation_timeout=_duration(header.findtext("w:OperationTimeout", None, NS)),
        shell_id=None,
    )
    for selector in header.iterfind("w:SelectorSet/w:Selector", NS):
        if selector.get("Name") == "ShellId":
            request.shell_id = (selector.text or "").strip()
    for option in header.iterfind("w:OptionSet/w:Option", NS):
        request.options[option.get("Name", "")] = (option.text or "").strip()
    line = body_el.find("rsp:CommandLine", NS)
    if line is not None:
        command = line.findtext("rsp:Command", "", NS) or ""
        arguments = line.findall("rsp:Arguments", NS)
        request.command = " ".join([command.strip()] + [(a.text or "").strip() for a in arguments]).strip()
    receive = body_el.find("rsp:Receive/rsp:DesiredStream", NS)
    if receive is not None:
        request.command_id = receive.get("CommandId")
    send = body_el.find("rsp:Send/rsp:Stream", NS)
    if send is not None:
        request.command_id = send.get("CommandId")
        request.stream = send.get("Name")
        request.end = (send.get("End") or "").strip().lower() == "true"
        try:
            request.data = base64.b64decode((send.text or "").strip(), validate=True)
        except ValueError:
            raise SoapError(INVALID_MESSAGE, "w:InvalidMessageInformationHeader",
                            "The WS-Management service cannot process the request because the stream "
                            "data is not valid base64. ", "s:Sender") from None
    signal = body_el.find("rsp:Signal", NS)
    if signal is not None:
        request.command_id = signal.get("CommandId")
        request.signal_code = (signal.findtext("rsp:Code", "", NS) or "").strip()
    return request


def _envelope(action: str, relates_to: str, body: str) -> bytes:
    return (
        '<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
        'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" '
        'xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">'
        f"<s:Header><a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
        f"<a:To>{ANONYMOUS}</a:To><a:RelatesTo>{escape(relates_to)}</a:RelatesTo></s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode("utf-8")


def create_response(request: Request, shell_id: str, address: str, owner: str, client_ip: str) -> bytes:
    body = (
        f"<x:ResourceCreated><a:Address>{escape(address)}</a:Address><a:ReferenceParameters>"
        f"<w:ResourceURI>{CMD_RESOURCE}</w:ResourceURI><w:SelectorSet>"
        f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
        f"</a:ReferenceParameters></x:ResourceCreated>"
        f"<rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId><rsp:ResourceUri>{CMD_RESOURCE}</rsp:ResourceUri>"
        f"<rsp:Owner>{escape(owner)}</rsp:Owner><rsp:ClientIP>{escape(client_ip)}</rsp:ClientIP>"
        f"<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams>"
        f"<rsp:OutputStreams>stdout stderr</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime>"
        f"<rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>"
    )
    return _envelope(TRANSFER + "CreateResponse", request.message_id, body)


def command_response(request: Request, command_id: str) -> bytes:
    body = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
    return _envelope(SHELL + "CommandResponse", request.message_id, body)


def receive_response(request: Request, command_id: str, stdout: bytes, stderr: bytes,
                     exit_code: int | None) -> bytes:
    """Output chunks; ``exit_code`` None means the command is still running (more to come)."""
    parts = []
    for name, data in (("stdout", stdout), ("stderr", stderr)):
        if data:
            parts.append(f'<rsp:Stream Name="{name}" CommandId="{command_id}">'
                         f"{base64.b64encode(data).decode('ascii')}</rsp:Stream>")
        if exit_code is not None:
            parts.append(f'<rsp:Stream Name="{name}" CommandId="{command_id}" End="true"></rsp:Stream>')
    if exit_code is None:
        parts.append(f'<rsp:CommandState CommandId="{command_id}" '
                     f'State="{SHELL}CommandState/Running"></rsp:CommandState>')
    else:
        parts.append(f'<rsp:CommandState CommandId="{command_id}" State="{SHELL}CommandState/Done">'
                     f"<rsp:ExitCode>{exit_code}</rsp:ExitCode></rsp:CommandState>")
    return _envelope(SHELL + "ReceiveResponse", request.message_id,
                     "<rsp:ReceiveResponse>" + "".join(parts) + "</rsp:ReceiveResponse>")


def signal_response(request: Request) -> bytes:
    return _envelope(SHELL + "SignalResponse", request.message_id, "<rsp:SignalResponse/>")


def send_response(request: Request) -> bytes:
    return _envelope(SHELL + "SendResponse", request.message_id, "<rsp:SendResponse/>")


def delete_response(request: Request) -> bytes:
    return _envelope(TRANSFER + "DeleteResponse", request.message_id, "")


def fault(error: SoapError, relates_to: str, machine: str) -> bytes:
    reason = escape(error.reason)
    body = (
        f"<s:Fault><s:Code><s:Value>{error.value}</s:Value><s:Subcode><s:Value>{error.subcode}"
        f'</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{reason}</s:Text>'
        f'</s:Reason><s:Detail><f:WSManFault xmlns:f="{NS["f"]}" Code="{error.code}" '
        f'Machine="{escape(machine)}"><f:Message>{reason}</f:Message></f:WSManFault>'
        f"</s:Detail></s:Fault>"
    )
    return _envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to or "", body)


def operation_timeout() -> SoapError:
    return SoapError(OPERATION_TIMEOUT, "w:TimedOut",
                     "The WS-Management service cannot complete the operation within the time "
                     "specified in OperationTimeout.  ")


def shell_not_found(shell_id: str | None) -> SoapError:
    return SoapError(SHELL_NOT_FOUND, "w:InvalidSelectors",
                     f"The request for the Windows Remote Shell with ShellId {shell_id} failed "
                     "because the shell was not found on the server. Possible causes are: the "
                     "specified ShellId is incorrect or the shell no longer exists on the server. "
                     "Provide the correct ShellId or create a new shell and execute the command again. ",
                     "s:Sender")


def internal_error() -> SoapError:
    return SoapError(INTERNAL_ERROR, "w:InternalError",
                     "The WS-Management service cannot process the request because of an internal "
                     "error. ")


def command_line_too_long() -> SoapError:
    """A command line over CreateProcess's limit with WINRS_SKIP_CMD_SHELL (unconfirmed shape)."""
    return SoapError(FILENAME_EXCED_RANGE, "w:InternalError", "The filename or extension is too long. ")
