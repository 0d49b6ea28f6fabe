"""Run one PowerShell script on one machine over WinRM and return what it printed, parsed as JSON.

Every script is wrapped the same way (notes/powershell.md, "robust idiom"): errors stop the
script, progress is silenced, the result is written as one line of compressed JSON, and a failure
is written as a JSON object {error, category, fqid, type} with exit code 1. The caller gets either
the parsed value or a typed AgentError.
"""
import base64
import json
import logging
import re
import time
from dataclasses import replace
from html import unescape

import requests
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)
from winrm.protocol import Protocol

from fabric.agents.connection import DEFAULT_SCRIPT_TIMEOUT, OPERATION_POLL, Connection, transport_available
from fabric.agents.kerberos import obtain_ticket
from fabric.agents.errors import (
    AccessDenied,
    AgentError,
    BadOutput,
    CmdletError,
    NotFound,
    OperationTimeout,
    ProtocolError,
    SecondHopDenied,
    TransportUnavailable,
    Unreachable,
)

log = logging.getLogger(__name__)

PRELUDE = """$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
    # UTF-8 out, or names outside the console code page come back as '?' (best effort).
    try { [Console]::OutputEncoding = [System.Text.Encoding]::UTF8 } catch { }
"""
EPILOGUE = """
    ConvertTo-Json -InputObject $result -Depth 6 -Compress
}
catch {
    $failure = @{
        error = [string]$_.Exception.Message
        category = [string]$_.CategoryInfo.Category
        fqid = [string]$_.FullyQualifiedErrorId
        type = [string]$_.Exception.GetType().FullName
    }
    ConvertTo-Json -InputObject $failure -Compress
    exit 1
}
"""
RETRY_BACKOFF = (0.5, 1.5, 3.0)
_ACCESS_DENIED_WORDS = ("access is denied", "access denied", "unauthorized", "permission")
_SECOND_HOP_TRANSPORTS = ("ntlm", "basic")


def build_script(body: str) -> str:
    """The full text sent to PowerShell: `body` must leave what it wants returned in `$result`."""
    return PRELUDE + body.strip("\n") + EPILOGUE


def encode_command(script: str) -> str:
    return "powershell -NoProfile -NonInteractive -EncodedCommand " + base64.b64encode(
        script.encode("utf-16-le")
    ).decode("ascii")


def run_script(
    conn: Connection,
    body: str,
    *,
    operation: str,
    timeout: float = DEFAULT_SCRIPT_TIMEOUT,
    retries: int = 2,
    idempotent: bool = True,
    second_hop: bool = False,
    not_found_fqids: tuple[str, ...] = (),
    expect_disconnect: bool = False,
):
    """Run `body` (see build_script) on `conn` and return the parsed JSON in `$result`.

    idempotent: the script only reads, or is safe to run twice; then any transient fault is
        retried. Otherwise only faults that certainly happened before the command started are.
    second_hop: the cmdlets reach other machines from this one; an access denied then says how
        to allow delegation.
    expect_disconnect: the script restarts the machine; losing the connection is success (None).
    """
    if second_hop:
        conn = _delegating(conn)
    conn.check_policy()
    transport_available(conn.transport)
    script = build_script(body)
    attempt = 0
    while True:
        started = time.monotonic()
        try:
            exit_code, stdout, stderr = _run_once(conn, script, operation, timeout, expect_disconnect)
        except _Attempt as failed:
            error = failed.error
            retry = (error.transient and not failed.final and attempt < retries
                     and (idempotent or not failed.sent))
            log.info("%s on %s failed (attempt %d%s): %s", operation, conn.where, attempt + 1,
                     ", retrying" if retry else "", error)
            if not retry:
                raise error from failed.__cause__
            time.sleep(RETRY_BACKOFF[min(attempt, len(RETRY_BACKOFF) - 1)])
            attempt += 1
            continue
        log.debug("%s on %s: exit %s in %.3fs", operation, conn.where, exit_code, time.monotonic() - started)
        if exit_code is None:  # disconnected as expected
            return None
        return _interpret(conn, operation, exit_code, stdout, stderr, second_hop, not_found_fqids)


class _Attempt(Exception):
    def __init__(self, error: AgentError, sent: bool, final: bool = False):
        self.error = error
        self.sent = sent
        self.final = final  # trying again now cannot help (it already timed out, or nothing listens)


def _delegating(conn: Connection) -> Connection:
    """The connection for an operation that reaches other machines with the caller's identity:
    Kerberos forwards its ticket; NTLM and Basic cannot delegate, so the machine's CredSSP setting
    (when chosen for it) takes over; otherwise the call goes as it is and a denial says what to set."""
    if conn.transport == "kerberos":
        return replace(conn, delegate=True)
    if conn.transport in _SECOND_HOP_TRANSPORTS and conn.credssp_second_hop:
        return replace(conn, transport="credssp")
    return conn


def _protocol(conn: Connection, timeout: float) -> Protocol:
    poll = max(1, min(OPERATION_POLL, int(timeout)))
    username, kerberos = conn.username, {}
    if conn.transport == "kerberos":
        # pykerberos finds the ticket by its principal; the password is not used by this transport
        username = obtain_ticket(conn.username, conn.password, account=conn.account, where=conn.where)
        kerberos = dict(kerberos_hostname_override=conn.kerberos_hostname, kerberos_delegation=conn.delegate)
    # A Receive may block `poll` seconds on the server; allow a margin on top, smaller for short scripts.
    read_timeout = poll + min(10.0, max(2.0, timeout / 2))
    protocol = Protocol(
        endpoint=conn.url,
        transport=conn.transport,
        username=username,
        password=conn.password,
        ca_trust_path=conn.ca_trust(),
        server_cert_validation="validate",
        read_timeout_sec=poll + 10,
        operation_timeout_sec=poll,
        message_encryption="auto",
        proxy=None,
        **kerberos,
    )
    # pywinrm gives requests one number for both timeouts; a dead address should fail in
    # connect_timeout, not in the (longer) time a Receive may legitimately block.
    protocol.transport.read_timeout_sec = (conn.connect_timeout, read_timeout)
    return protocol


def _run_once(conn: Connection, script: str, operation: str, timeout: float, expect_disconnect: bool):
    deadline = time.monotonic() + timeout
    protocol = None
    shell_id = command_id = None
    sent = False
    answering = True  # False once the connection failed: then no goodbye is attempted
    try:
        protocol = _protocol(conn, timeout)
        shell_id = protocol.open_shell()
        command_id = protocol.run_command(shell_id, encode_command(script))
        sent = True
        stdout, stderr = [], []
        while True:
            try:
                out, err, code, done = protocol.get_command_output_raw(shell_id, command_id)
            except WinRMOperationTimeoutError:
                out, err, code, done = b"", b"", -1, False
            stdout.append(out)
            stderr.append(err)
            if done:
                return code, b"".join(stdout), b"".join(stderr)
            if time.monotonic() > deadline:
                raise OperationTimeout(
                    f"{conn.where} did not finish {operation} within {timeout:.0f} s; it was asked to stop. "
                    f"Check the machine (a hung cmdlet, or a busy or paused service) before trying again.",
                    target=conn.where, operation=operation,
                )
    except AgentError as error:
        raise _Attempt(error, sent, final=isinstance(error, OperationTimeout)) from error
    except Exception as exc:  # noqa: BLE001 - every library failure becomes a typed error
        answering = not isinstance(exc, (requests.ConnectionError, requests.Timeout))
        if expect_disconnect and sent and _is_disconnect(exc):
            return None, b"", b""
        error = translate(exc, conn, operation)
        # A timeout already used the time the caller allowed, and a refused or unanswered
        # connection means nothing listens there now: report those at once rather than wait again.
        never_reached = _never_reached(exc)
        raise _Attempt(error, sent and not never_reached,
                       final=never_reached or isinstance(error, OperationTimeout)) from exc
    finally:
        if protocol is not None:
            _close(protocol, shell_id if answering else None, command_id if answering else None)


def _close(protocol: Protocol, shell_id, command_id) -> None:
    """Stop the command and delete the shell (a timed-out script is terminated this way)."""
    try:
        if command_id:
            protocol.cleanup_command(shell_id, command_id)
        if shell_id:
            protocol.close_shell(shell_id)
    except Exception:  # noqa: BLE001 - the result is already known; a failed goodbye changes nothing
        pass
    try:
        protocol.transport.close_session()
    except Exception:  # noqa: BLE001
        pass


def _is_disconnect(exc: Exception) -> bool:
    return isinstance(exc, (requests.ConnectionError, requests.Timeout)) or (
        isinstance(exc, WinRMTransportError) and exc.code >= 500
    )


def _never_reached(exc: Exception) -> bool:
    """True when the request cannot have arrived (refused or timed out while connecting)."""
    return isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError) and "refused" in str(exc).lower()
    )


def translate(exc: Exception, conn: Connection, operation: str) -> AgentError:
    """A pywinrm / requests exception as the AgentError an operator can act on."""
    where, kw = conn.where, {"target": conn.where, "operation": operation}
    scheme = "HTTPS" if conn.https else "HTTP"
    if isinstance(exc, requests.exceptions.SSLError):
        ca = conn.ca_path or "the system trust store"
        reason = re.search(r"certificate verify failed: ([^()'\"]+)", str(exc))
        error = Unreachable(
            f"TLS with {where} failed ({reason.group(1).strip() if reason else _short(exc)}). Its WinRM "
            f"certificate must be issued by a CA in {ca} and carry the name {conn.address}; set the machine's "
            f"CA bundle path to the issuing CA.",
            **kw,
        )
        error.transient = False  # asking again gets the same certificate
        return error
    if isinstance(exc, requests.ConnectTimeout):
        return Unreachable(
            f"{where} did not answer within {conn.connect_timeout:.0f} s: the machine is off or unreachable, "
            f"the address is wrong, or a firewall drops WinRM {scheme} port {conn.effective_port}.",
            **kw,
        )
    if isinstance(exc, requests.ReadTimeout):
        return OperationTimeout(
            f"{where} stopped answering during {operation}. The machine may be overloaded, restarting or hung.",
            **kw,
        )
    if isinstance(exc, requests.ConnectionError):
        if "refused" in str(exc).lower():
            return Unreachable(
                f"{where} refused the WinRM connection: the machine is off or restarting, the WinRM "
                f"service is stopped, or it listens on another port (Ferry uses {scheme} {conn.effective_port}).",
                **kw,
            )
        return Unreachable(f"Lost the WinRM connection to {where} ({_short(exc)}).", **kw)
    refused = _credssp_refusal(exc)
    if refused == "not offered":
        return AccessDenied(
            f"{where} does not accept CredSSP: enable it there (Enable-WSManCredSSP -Role Server) or choose "
            f"another transport for the machine.", **kw)
    if isinstance(exc, InvalidCredentialsError) or refused:
        account = f"Run As account '{conn.account}' (user {conn.username})" if conn.account else f"user {conn.username}"
        return AccessDenied(
            f"{where} rejected the credentials of {account}. Check the password, that the account is "
            f"not locked out, and that it may log on to the machine.",
            **kw,
        )
    if isinstance(exc, WSManFaultError):
        reason = (exc.reason or "").strip()
        if exc.wsman_fault_code == 5 or any(w in reason.lower() for w in _ACCESS_DENIED_WORDS):
            return AccessDenied(
                f"{where} denied WinRM access to {conn.username}: {reason or 'access is denied'}. The account "
                f"must be a member of Administrators (or Remote Management Users) on the machine.",
                **kw,
            )
        code = f" {exc.wsman_fault_code}" if exc.wsman_fault_code is not None else ""
        return ProtocolError(
            f"The WinRM service on {where} failed {operation} (HTTP {exc.code}, WS-Management fault{code}: "
            f"{reason or 'no reason given'}). Restart the WinRM service on the machine if this persists.",
            **kw,
        )
    if isinstance(exc, WinRMTransportError):
        return ProtocolError(
            f"The WinRM service on {where} answered HTTP {exc.code} during {operation}; it is failing or "
            f"overloaded (restart the WinRM service if this persists).",
            **kw,
        )
    if isinstance(exc, WinRMOperationTimeoutError):
        return OperationTimeout(f"{where} did not answer {operation} in time.", **kw)
    if isinstance(exc, WinRMError):
        return TransportUnavailable(f"WinRM with {where} cannot be set up: {exc}", **kw)
    return ProtocolError(f"Talking to {where} failed during {operation}: {type(exc).__name__}: {_short(exc)}", **kw)


def _credssp_refusal(exc: Exception) -> str:
    """"not offered" when the machine does not accept CredSSP, "denied" when it refused the logon
    (a wrong password ends in SEC_E_LOGON_DENIED), else ""."""
    try:
        from requests_credssp.exceptions import AuthenticationException, NTStatusException
    except ImportError:
        return ""
    if isinstance(exc, AuthenticationException) and "credssp being an available" in str(exc).lower():
        return "not offered"
    return "denied" if isinstance(exc, (AuthenticationException, NTStatusException)) else ""


def _short(exc: Exception, limit: int = 200) -> str:
    text = str(exc)
    # urllib3 nests the interesting part deep inside; keep the last reason given.
    match = re.findall(r"\(([^()]*(?:refused|reset|certificate|verify|timed out|closed)[^()]*)\)", text, re.I)
    if match:
        text = match[-1]
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- interpreting what PowerShell printed ----------------------------------------------------


def _interpret(conn, operation, exit_code, stdout: bytes, stderr: bytes, second_hop, not_found_fqids):
    out = stdout.decode("utf-8", errors="replace").lstrip("\ufeff")
    err = _clean_stderr(stderr)
    value, parsed = _last_json_line(out)
    kw = {"target": conn.where, "operation": operation}
    if exit_code != 0:
        if parsed and isinstance(value, dict) and "error" in value:
            message = str(value.get("error") or "").strip() or "the script failed without a message"
            error = _cmdlet_error(conn, message, str(value.get("category") or ""), str(value.get("fqid") or ""),
                                         str(value.get("type") or ""), second_hop, not_found_fqids, kw)
        else:
            message, category, fqid = _parse_error_text(err or out)
            error = _cmdlet_error(conn, message or f"exit code {exit_code}", category, fqid, "",
                                         second_hop, not_found_fqids, kw)
        raise error
    if not parsed:
        sample = (out.strip() or err.strip())[:160]
        raise BadOutput(
            f"{conn.where} answered {operation} with output Ferry cannot read (expected one line of JSON, got "
            f"{sample!r}). Something on the machine writes to the output stream (a profile, a module, a "
            f"wrapper); run the operation by hand there to see.",
            **kw,
        )
    return value


def _cmdlet_error(conn, message, category, fqid, exc_type, second_hop, not_found_fqids, kw) -> CmdletError:
    lowered = message.lower()
    fq = fqid.lower()
    if fq.startswith("commandnotfoundexception"):
        message += (" The PowerShell module that provides it is not installed on this machine (install the "
                    "role's management tools: Hyper-V, Failover Clustering, WSUS or WDS).")
        return CmdletError(message, category=category, fqid=fqid, exception_type=exc_type, **kw)
    denied = category in ("PermissionDenied", "SecurityError") or "unauthorizedaccess" in fq or "accessdenied" in fq \
        or "access is denied" in lowered
    if denied and second_hop and conn.transport != "credssp":
        if conn.transport == "kerberos":
            why = (f"{conn.address} received the forwarded Kerberos ticket but may not use it: trust its computer "
                   f"account for delegation in Active Directory (or set up constrained delegation to the other "
                   f"machines)")
        else:
            why = (f"{conn.transport.upper()} logons cannot be delegated: use Kerberos (the machine's WinRM transport) "
                   f"with its computer account trusted for delegation, or tick \"CredSSP for operations that reach "
                   f"other machines\" on its settings (HTTPS with a validated certificate, and "
                   f"Enable-WSManCredSSP -Role Server on the machine)")
        message += (f" This operation reaches other machines from {conn.address} with the Run As account's "
                    f"identity (a second hop); {why}.")
        return SecondHopDenied(message, category=category, fqid=fqid, exception_type=exc_type, **kw)
    if category == "ObjectNotFound" or any(fq.startswith(p.lower()) for p in not_found_fqids):
        return NotFound(message, category=category, fqid=fqid, exception_type=exc_type, **kw)
    if fq.startswith("clusterrpcconnection") or fq.startswith("clusterendpointnotregistered"):
        message += (" The cluster service could not be reached from this node: check that it runs; when it does, "
                    "this is the second-hop restriction of remote cluster cmdlets (use CredSSP or Kerberos delegation).")
    return CmdletError(message, category=category, fqid=fqid, exception_type=exc_type, **kw)


def _last_json_line(text: str):
    for line in reversed(text.splitlines()):
        line = line.strip()
        if not line:
            continue
        try:
            return json.loads(line), True
        except ValueError:
            return None, False
    return None, False


_CLIXML_STRING = re.compile(r'<S S="Error">(.*?)</S>', re.S)


def _clean_stderr(stderr: bytes) -> str:
    text = stderr.decode("utf-8", errors="replace")
    if text.startswith("#< CLIXML"):
        parts = _CLIXML_STRING.findall(text)
        text = "".join(unescape(p) for p in parts)
        text = re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)
    return text.strip()


def _parse_error_text(text: str) -> tuple[str, str, str]:
    """PowerShell's formatted error record → (message, category, fully qualified error id)."""
    category = fqid = ""
    match = re.search(r"CategoryInfo\s*:\s*([A-Za-z]+)", text)
    if match:
        category = match.group(1)
    match = re.search(r"FullyQualifiedErrorId\s*:\s*(\S+)", text)
    if match:
        fqid = match.group(1)
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("At line:", "At ", "+ ", "+\t", "~")) or stripped == "+":
            break
        if stripped:
            lines.append(stripped)
    message = " ".join(lines) or (text.strip().splitlines()[0] if text.strip() else "")
    return message[:1000], category, fqid
