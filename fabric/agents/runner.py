"""Run one PowerShell script on one machine over WinRM and return what it printed, parsed as JSON.

Every script is wrapped the same way (lab/README.md, "Scripts on stdin"): errors stop the
script, progress is silenced, the result is written as one line of compressed JSON, and a failure
is written as a JSON object {error, category, fqid, type, inner, hresult} with exit code 1
(fabric.agents.output reads it). The caller gets either the parsed value or a typed AgentError.
"""
import base64
import logging
import re
import time
from dataclasses import replace

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
from fabric.agents.connection import retry_window as connection_retry_window
from fabric.agents.errors import (
    AccessDenied,
    AgentError,
    OperationTimeout,
    ProtocolError,
    TransportUnavailable,
    Unreachable,
)
from fabric.agents.kerberos import obtain_ticket
from fabric.agents.output import interpret

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
    $inner = $_.Exception
    while ($inner.InnerException) { $inner = $inner.InnerException }
    $failure = @{
        error = [string]$_.Exception.Message
        category = [string]$_.CategoryInfo.Category
        fqid = [string]$_.FullyQualifiedErrorId
        type = [string]$_.Exception.GetType().FullName
        inner = [string]$inner.GetType().FullName
        hresult = [int]$inner.HResult
    }
    ConvertTo-Json -InputObject $failure -Compress
    exit 1
}
"""
# The script goes to PowerShell on stdin, never on the command line: cmd.exe (which WinRS starts
# every command through) refuses a command line over 8,191 characters, and -EncodedCommand's
# UTF-16 + base64 makes a script 2.7 times longer. `-Command -` is no substitute: it reads stdin
# as if typed at a prompt, line by line, and leaves a multi-line block unrun without a blank line
# after it. So a short bootstrap reads all of stdin (`$input`, the redirected stdin's lines), checks
# that it ends with END_MARK (a cut-off transfer never runs half a script) and runs it as one
# script block. See lab/README.md, "Scripts on stdin".
END_MARK = "# end of Ferry script"
BOOTSTRAP = """$ErrorActionPreference = 'Stop'
try { [Console]::InputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
$text = $input | Out-String
if (-not $text.TrimEnd().EndsWith('%s')) { throw 'The script sent on stdin arrived incomplete; nothing was run.' }
& ([ScriptBlock]::Create($text))
""" % END_MARK
COMMAND_LINE_LIMIT = 8191      # cmd.exe's limit for the whole command line
STDIN_CHUNK = 64 * 1024        # bytes per WS-Man Send: well under Windows' MaxEnvelopeSizekb (500)
UTF8_CODEPAGE = 65001          # the shell's console code page: stdin and stdout are UTF-8
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 15.0
READ_MARGIN = 10.0             # seconds a reply may take beyond the Receive's long poll
_ACCESS_DENIED_WORDS = ("access is denied", "access denied", "unauthorized", "permission")
# WS-Man faults that say the service is struggling (or lost its shells), not that the request is wrong
_WSMAN_INTERNAL_ERROR = 2150859177
_WSMAN_SHELL_NOT_FOUND = 2150858843
_WSMAN_TRANSIENT = (None, _WSMAN_INTERNAL_ERROR, _WSMAN_SHELL_NOT_FOUND)


def build_script(body: str) -> str:
    """The full text sent to PowerShell: `body` must leave what it wants returned in `$result`."""
    return PRELUDE + body.strip("\n") + EPILOGUE + END_MARK + "\n"


def encode_command(script: str) -> str:
    """`powershell -EncodedCommand` for a short script; refuses what cmd.exe would refuse."""
    line = "powershell -NoProfile -NonInteractive -EncodedCommand " + base64.b64encode(
        script.encode("utf-16-le")).decode("ascii")
    if len(line) > COMMAND_LINE_LIMIT:
        raise ValueError(f"a command line of {len(line)} characters is over cmd.exe's limit of "
                         f"{COMMAND_LINE_LIMIT}; send the script on stdin")
    return line


BOOTSTRAP_COMMAND = encode_command(BOOTSTRAP)


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number `attempt` (0-based): 0.5, 1, 2, 4, 8, 15, 15, ..."""
    return min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** attempt)


def run_script(
    conn: Connection,
    body: str,
    *,
    operation: str,
    timeout: float = DEFAULT_SCRIPT_TIMEOUT,
    idempotent: bool = True,
    second_hop: bool = False,
    not_found_fqids: tuple[str, ...] = (),
    expect_disconnect: bool = False,
    retry_window: float | None = None,
):
    """Run `body` (see build_script) on `conn` and return the parsed JSON in `$result`.

    Transient transport faults (HTTP 5xx, a reset connection, an unanswered request) are retried
    with backoff for `retry_window` seconds (FERRY_WINRM_RETRY_WINDOW_SECONDS, about two minutes)
    before the operation fails. While the script runs, such a fault only interrupts the reading of
    its output, which resumes on a new connection: the script itself keeps running.
    idempotent: the script only reads, or is safe to run twice; then it is run again when its
        output cannot be had. Otherwise it is sent again only if it certainly never started.
    second_hop: the cmdlets reach other machines from this one; an access denied then says how
        to allow delegation.
    expect_disconnect: the script restarts the machine; losing the connection is success (None).
    """
    if second_hop:
        conn = _delegating(conn)
    conn.check_policy()
    transport_available(conn.transport)
    window = connection_retry_window() if retry_window is None else retry_window
    run = _Run(conn, build_script(body), operation, timeout, expect_disconnect, window)
    while True:
        started = time.monotonic()
        try:
            exit_code, stdout, stderr = run.once()
        except _Attempt as failed:
            error = failed.error
            retry = (error.transient and not failed.final and (idempotent or not failed.sent)
                     and run.may_retry())
            log.info("%s on %s failed (attempt %d%s): %s", operation, conn.where, run.attempt + 1,
                     ", retrying" if retry else "", error)
            if not retry:
                raise error from failed.__cause__
            run.pause()
            continue
        log.debug("%s on %s: exit %s in %.3fs", operation, conn.where, exit_code, time.monotonic() - started)
        if exit_code is None:  # disconnected as expected
            return None
        return interpret(conn, operation, exit_code, stdout, stderr, second_hop, not_found_fqids)


class _Attempt(Exception):
    def __init__(self, error: AgentError, sent: bool, final: bool = False):
        self.error = error
        self.sent = sent
        self.final = final  # trying again now cannot help (it already timed out, or nothing listens)


_SECOND_HOP_TRANSPORTS = ("ntlm", "basic")  # logons that cannot be delegated


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
    read_timeout = poll + min(READ_MARGIN, max(2.0, timeout / 2))
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


def _resumable(exc: Exception) -> bool:
    """A fault of the transport, not of the request: asking again on a new connection may work."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    if isinstance(exc, (requests.ConnectionError, requests.ReadTimeout)):
        return not _never_reached(exc)
    if isinstance(exc, WSManFaultError):
        return exc.code >= 500 and exc.wsman_fault_code in (None, _WSMAN_INTERNAL_ERROR)
    return isinstance(exc, WinRMTransportError) and exc.code >= 500


class _Run:
    """One script on one machine, over as many connections and attempts as the faults need."""

    def __init__(self, conn, script, operation, timeout, expect_disconnect, window):
        self.conn, self.operation, self.timeout = conn, operation, timeout
        self.stdin = script.encode("utf-8")
        self.expect_disconnect = expect_disconnect
        self.window = window
        self.attempt = 0           # retries so far (whole runs and resumed reads alike)
        self.first_fault = None    # monotonic time of the first fault not yet ridden out

    def may_retry(self) -> bool:
        now = time.monotonic()
        if self.first_fault is None:
            self.first_fault = now
        return now + backoff(self.attempt) - self.first_fault <= self.window

    def pause(self) -> None:
        time.sleep(backoff(self.attempt))
        self.attempt += 1

    def once(self):
        conn, operation = self.conn, self.operation
        deadline = float("inf")  # the script's own time starts once it is sent
        protocol = None
        shell_id = command_id = None
        sent = False
        answering = True  # False once the connection failed: then no goodbye is attempted
        try:
            protocol = _protocol(conn, self.timeout)
            shell_id = protocol.open_shell(codepage=UTF8_CODEPAGE)
            command_id = protocol.run_command(shell_id, BOOTSTRAP_COMMAND, console_mode_stdin=False)
            for offset in range(0, len(self.stdin), STDIN_CHUNK):
                last = offset + STDIN_CHUNK >= len(self.stdin)
                sent = sent or last  # the script starts once its last line is in
                protocol.send_command_input(shell_id, command_id, self.stdin[offset:offset + STDIN_CHUNK], end=last)
            deadline = time.monotonic() + self.timeout
            stdout, stderr = [], []
            while True:
                try:
                    out, err, code, done = protocol.get_command_output_raw(shell_id, command_id)
                except WinRMOperationTimeoutError:
                    out, err, code, done = b"", b"", -1, False
                except Exception as exc:  # noqa: BLE001 - decided just below
                    if self.expect_disconnect or not (
                            _resumable(exc) and time.monotonic() < deadline and self.may_retry()):
                        raise  # a restarting machine drops the connection: that is its answer
                    log.info("%s on %s: reading the output failed (%s); reading again",
                             operation, conn.where, _short(exc))
                    _close(protocol, None, None)
                    self.pause()
                    protocol = _protocol(conn, self.timeout)
                    continue
                self.first_fault = None
                stdout.append(out)
                stderr.append(err)
                if done:
                    return code, b"".join(stdout), b"".join(stderr)
                if time.monotonic() > deadline:
                    raise OperationTimeout(
                        f"{conn.where} did not finish {operation} within {self.timeout:.0f} s; it was asked to "
                        f"stop. Check the machine (a hung cmdlet, or a busy or paused service) before trying again.",
                        target=conn.where, operation=operation,
                    )
        except AgentError as error:
            raise _Attempt(error, sent, final=isinstance(error, OperationTimeout)) from error
        except Exception as exc:  # noqa: BLE001 - every library failure becomes a typed error
            answering = not isinstance(exc, (requests.ConnectionError, requests.Timeout))
            if self.expect_disconnect and sent and _is_disconnect(exc):
                return None, b"", b""
            error = translate(exc, conn, operation)
            # A refused connection, or none within connect_timeout, means nothing listens there
            # now (the machine is off or restarting): report it at once; the caller decides. A
            # script past its own deadline is not run again either.
            never_reached = _never_reached(exc)
            raise _Attempt(error, sent and not never_reached,
                           final=never_reached or time.monotonic() > deadline) from exc
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
        error = ProtocolError(
            f"The WinRM service on {where} failed {operation} (HTTP {exc.code}, WS-Management fault{code}: "
            f"{reason or 'no reason given'}). Restart the WinRM service on the machine if this persists.",
            **kw,
        )
        # asking again helps when the service failed, or lost the shell (it restarted); not when
        # it says the request itself is wrong
        error.transient = exc.wsman_fault_code in _WSMAN_TRANSIENT
        return error
    if isinstance(exc, WinRMTransportError):
        error = ProtocolError(
            f"The WinRM service on {where} answered HTTP {exc.code} during {operation}; it is failing or "
            f"overloaded (restart the WinRM service if this persists).",
            **kw,
        )
        error.transient = exc.code >= 500
        return error
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
