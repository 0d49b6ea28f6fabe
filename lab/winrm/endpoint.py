"""One simulated host's WinRM service: authentication, shells, commands, injected faults."""
from __future__ import annotations

import base64
import binascii
import functools
import inspect
import logging
import threading
import time
from collections import Counter

from . import soap
from .auth import (
    KERBEROS_PROTOCOL,
    PROTOCOL,
    AuthError,
    NtlmAccounts,
    SessionIdentity,
    accept_kerberos,
    check_basic,
    credssp_user,
    decrypt,
    encrypt,
    encrypted_content_type,
    ntlm_message_type,
)
from .server import Acceptor, listen, serve_connection, shutdown_socket, tls_context
from .shell import CommandLineTooLong, RunningCommand, Shell

log = logging.getLogger("lab.winrm")

FAULTS = (None, "timeout", "http500")
AUTH_METHODS = ("basic", "ntlm", "kerberos", "credssp")
MAX_RECEIVE_WAIT = 120.0
HANG_SECONDS = 600.0


class WinRMEndpoint:
    """A WS-Management endpoint pywinrm can run ``run_ps`` against.

    ``execute(script) -> result`` (``.stdout``, ``.stderr``, ``.exit_code``) runs in a worker
    thread per command and may block as long as it likes: Receive answers the WS-Man
    operation-timeout fault meanwhile, which pywinrm retries.
    ``stop()`` closes the port (connections refused, open ones cut, shells gone) like a host
    that lost power; ``start()`` brings it back. ``fault`` injects misbehaviour at run time:
    ``"timeout"`` (requests never answered) or ``"http500"`` (every request answered 500).
    ``auth`` lists what it accepts: "kerberos" needs ``kerberos=(fqdn, realm)`` (the service
    principal is HTTP/<fqdn>); "credssp" only over TLS, as the lab offers it on HTTPS listeners only.
    ``delegation_trusted``: the machine's account is trusted for delegation, so a forwarded Kerberos
    ticket lets its scripts reach a third machine. When ``execute`` takes ``identity``, it gets the
    SessionIdentity of the connection that started the command.
    ``faults``, if given, is asked once per request (``faults()`` → one of FAULTS): that is how
    a fault that fires a given number of times reaches the endpoint.
    """

    def __init__(self, address: str = "127.0.0.1", port: int = 5985, credentials: dict | None = None,
                 execute=None, tls: tuple[str, str] | None = None, auth=("basic", "ntlm"),
                 machine_name: str | None = None, kerberos: tuple[str, str] | None = None,
                 delegation_trusted: bool = False, faults=None):
        if not credentials:
            raise ValueError("a WinRM endpoint needs at least one account (credentials)")
        if not callable(execute):
            raise ValueError("execute must be a callable taking the script text")
        unknown = set(auth) - set(AUTH_METHODS)
        if unknown or not auth:
            raise ValueError(f"unsupported authentication {sorted(unknown) or auth!r}; use {', '.join(AUTH_METHODS)}")
        if "kerberos" in auth and not kerberos:
            raise ValueError("Kerberos needs the host's FQDN and realm (kerberos=(fqdn, realm))")
        if "credssp" in auth and not tls:
            raise ValueError("the lab accepts CredSSP over HTTPS only (give tls)")
        self.address = address
        self.port = port
        self.credentials = dict(credentials)
        self.execute = execute
        self._execute_takes_identity = "identity" in inspect.signature(execute).parameters
        self.auth = tuple(auth)
        self.kerberos = kerberos
        self.delegation_trusted = delegation_trusted
        self.machine_name = machine_name or address
        self.tls_context = tls_context(*tls) if tls else None
        self.ntlm_accounts = NtlmAccounts(self.credentials) if {"ntlm", "credssp"} & set(self.auth) else None
        self.shells: dict[str, Shell] = {}
        self.lock = threading.Lock()
        self.connections: set = set()
        self._socket = None
        self._fault = None
        self.faults = faults
        # what this endpoint answered: requests, unauthorized (401), operation_timeout,
        # faults (other WS-Man faults), encrypted (NTLM-sealed requests)
        self.stats: Counter = Counter()

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def scheme(self) -> str:
        return "https" if self.tls_context is not None else "http"

    @property
    def url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{host}:{self.port}/wsman"

    @property
    def running(self) -> bool:
        return self._socket is not None

    @property
    def fault(self):
        return self._fault

    @fault.setter
    def fault(self, value):
        if value not in FAULTS:
            raise ValueError(f"unknown WinRM fault {value!r}; expected one of {FAULTS}")
        self._fault = value

    def start(self):
        with self.lock:
            if self._socket is not None:
                return
            sock = listen(self.address, self.port)
            self.port = sock.getsockname()[1]
            self._socket = sock
        Acceptor.shared().add(sock, self._accept)

    def stop(self):
        with self.lock:
            sock, self._socket = self._socket, None
            connections = list(self.connections)
            self.shells.clear()
        if sock is None:
            return
        Acceptor.shared().remove(sock)
        for conn in connections:
            shutdown_socket(conn)

    def close(self):
        """Stop and forget the NTLM account file."""
        self.stop()
        if self.ntlm_accounts is not None:
            self.ntlm_accounts.close()

    def _accept(self, conn, address):
        if not self.running:
            conn.close()
            return
        serve_connection(self, conn, address)

    def track(self, conn, open_: bool):
        with self.lock:
            (self.connections.add if open_ else self.connections.discard)(conn)

    # -- HTTP ------------------------------------------------------------------------------
    def _unauthorized(self, handler):
        self.stats["unauthorized"] += 1
        offers = []
        if {"ntlm", "kerberos"} & set(self.auth):
            offers.append(("WWW-Authenticate", "Negotiate"))
        if "kerberos" in self.auth:
            offers.append(("WWW-Authenticate", "Kerberos"))
        if "credssp" in self.auth:
            offers.append(("WWW-Authenticate", "CredSSP"))
        if "basic" in self.auth:
            offers.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
        handler.reply(401, b"", headers=offers)

    def _hang(self, handler):
        """Never answer this request: it ends when the client gives up (or the endpoint stops)."""
        deadline = time.monotonic() + HANG_SECONDS
        while self.running and time.monotonic() < deadline:
            if handler.client_gone(0.5):
                break
        handler.close_connection = True

    def _authenticate(self, handler) -> bool:
        header = handler.headers.get("Authorization", "")
        named, _, value = header.partition(" ")
        scheme = named.lower()
        if scheme == "basic" and "basic" in self.auth:
            try:
                handler.user = check_basic(header, self.credentials)
            except AuthError:
                self._unauthorized(handler)
                return False
            handler.identity = SessionIdentity("basic", handler.user)
            return True
        if scheme in ("negotiate", "kerberos", "ntlm", "credssp") and value.strip():
            try:
                token = base64.b64decode(value.strip(), validate=True)
            except binascii.Error:
                token = b""
            try:
                if scheme == "credssp":
                    return self._credssp(handler, token)
                if token.startswith(b"NTLMSSP\x00"):
                    return self._ntlm(handler, named, token)
                if scheme in ("negotiate", "kerberos") and "kerberos" in self.auth:
                    return self._kerberos(handler, named, token)
            except AuthError as exc:
                log.info("logon refused on %s: %s", self.url, exc)
            handler.security = handler.pending = None
            self._unauthorized(handler)
            return False
        if handler.security is not None:
            return True
        self._unauthorized(handler)
        return False

    def _ntlm(self, handler, scheme, token) -> bool:
        if self.ntlm_accounts is None or "ntlm" not in self.auth:
            raise AuthError("NTLM is not accepted here")
        kind = ntlm_message_type(token)
        if kind == 1:
            handler.pending, reply = self.ntlm_accounts.step(None, token)
            handler.reply(401, b"", headers=[("WWW-Authenticate", f"{scheme} {base64.b64encode(reply).decode()}")])
            return False
        if kind == 3 and handler.pending is not None:
            context, _ = self.ntlm_accounts.step(handler.pending, token)
            handler.pending = None
            handler.security, handler.encryption = context, PROTOCOL
            handler.user = context.client_principal or ""
            handler.identity = SessionIdentity("ntlm", handler.user)
            return True
        raise AuthError(f"unexpected NTLM message type {kind}")

    def _kerberos(self, handler, scheme, token) -> bool:
        fqdn, realm = self.kerberos
        context, reply, user, delegated = accept_kerberos(token, fqdn, realm, self.credentials)
        # MS-WSMV 2.2.9.1.1: sealed under the name of the scheme that authenticated
        handler.encryption = PROTOCOL if scheme.lower() == "negotiate" else KERBEROS_PROTOCOL
        handler.security, handler.user = context, user
        handler.identity = SessionIdentity("kerberos", user, can_delegate=delegated and self.delegation_trusted)
        if reply:  # mutual authentication: the client checks the server's answer
            handler.auth_headers = [("WWW-Authenticate", f"{scheme} {base64.b64encode(reply).decode()}")]
        return True

    def _credssp(self, handler, token) -> bool:
        if "credssp" not in self.auth or self.tls_context is None:
            raise AuthError("CredSSP is not enabled here")
        context, reply = self.ntlm_accounts.step(handler.pending, token, protocol="credssp")
        if not context.complete:
            handler.pending = context
            headers = [("WWW-Authenticate", f"CredSSP {base64.b64encode(reply).decode()}")] if reply else \
                [("WWW-Authenticate", "CredSSP")]
            handler.reply(401, b"", headers=headers)
            return False
        handler.pending = None
        handler.user = credssp_user(context, self.credentials)
        handler.security, handler.encryption = context, None
        handler.identity = SessionIdentity("credssp", handler.user, can_delegate=True)
        return True

    def handle_post(self, handler, body: bytes):
        self.stats["requests"] += 1
        fault = self._fault or (self.faults() if self.faults is not None else None)
        if fault == "timeout":
            self._hang(handler)
            return
        if fault == "http500":
            handler.reply(500, soap.fault(soap.internal_error(), "", self.machine_name))
            return
        if handler.path.split("?", 1)[0].rstrip("/").lower() != "/wsman":
            handler.reply(404, b"")
            return
        handler.auth_headers = []
        if not self._authenticate(handler):
            return
        headers = handler.auth_headers
        encrypted = handler.headers.get("Content-Type", "").lower().startswith("multipart/encrypted")
        if encrypted:
            if handler.encryption is None or handler.encryption.lower() not in handler.headers["Content-Type"].lower():
                self._unauthorized(handler)
                return
            self.stats["encrypted"] += 1
            try:
                body = decrypt(handler.security, body)
            except AuthError as exc:
                log.info("undecryptable message on %s: %s", self.url, exc)
                handler.reply(400, b"", close=True)
                return
        if not body:
            handler.reply(200, b"", headers=headers)       # the empty POST that sets up message encryption
            return
        status, answer = self.process(body, handler)
        if encrypted:
            handler.reply(status, encrypt(handler.security, answer, handler.encryption),
                          content_type=encrypted_content_type(handler.encryption), headers=headers)
        else:
            handler.reply(status, answer, headers=headers)

    # -- WS-Management shell operations --------------------------------------------------------
    def process(self, body: bytes, handler) -> tuple[int, bytes]:
        message_id = ""
        try:
            request = soap.parse_request(body)
            message_id = request.message_id
            return 200, self._dispatch(request, handler)
        except soap.SoapError as error:
            self.stats["operation_timeout" if error.code == soap.OPERATION_TIMEOUT else "faults"] += 1
            return 500, soap.fault(error, message_id, self.machine_name)

    def _dispatch(self, request: soap.Request, handler) -> bytes:
        with self.lock:
            for shell_id in [s.id for s in self.shells.values() if s.idle()]:
                del self.shells[shell_id]
            if request.action == "create":
                shell = Shell(handler.user or "", request.options.get("WINRS_CODEPAGE"))
                shell.identity = handler.identity
                self.shells[shell.id] = shell
                return soap.create_response(request, shell.id, self.url, shell.owner,
                                            handler.client_address[0])
            shell = self.shells.get(request.shell_id or "")
            if shell is None:
                raise soap.shell_not_found(request.shell_id)
            shell.touched = time.monotonic()
            if request.action == "delete":
                del self.shells[shell.id]
                return soap.delete_response(request)
            if request.action == "command":
                execute = self.execute
                if self._execute_takes_identity:
                    execute = functools.partial(self.execute, identity=shell.identity)
                try:
                    command = RunningCommand(
                        execute, request.command or "", shell.encoding,
                        via_cmd=request.options.get("WINRS_SKIP_CMD_SHELL", "FALSE").upper() != "TRUE",
                        console_stdin=request.options.get("WINRS_CONSOLEMODE_STDIN", "TRUE").upper() != "FALSE")
                except CommandLineTooLong:
                    raise soap.command_line_too_long() from None
                shell.commands[command.id] = command
                return soap.command_response(request, command.id)
            if request.action == "signal":
                stopped = shell.commands.pop(request.command_id or "", None)
                if stopped is not None:
                    stopped.abandon()
                return soap.signal_response(request)
            command = shell.commands.get(request.command_id or "")
            if request.action == "send":
                self._send(request, command)
                return soap.send_response(request)
        if request.action != "receive":
            raise soap.SoapError(soap.ACTION_NOT_SUPPORTED, "a:ActionNotSupported",
                                 f"The action {request.action_uri} is not supported by the service. ", "s:Sender")
        if command is None:
            raise command_not_found(request.command_id)
        if not command.done.wait(min(request.operation_timeout, MAX_RECEIVE_WAIT)):
            raise soap.operation_timeout()
        with self.lock:
            stdout, stderr, finished = command.next_chunk()
        return soap.receive_response(request, command.id, stdout, stderr,
                                     command.exit_code if finished else None)

    @staticmethod
    def _send(request: soap.Request, command) -> None:
        """WS-Man Send: input for a running command's stdin (the only input stream of a cmd shell)."""
        if command is None:
            raise command_not_found(request.command_id)
        if request.stream != "stdin":
            raise soap.SoapError(soap.INVALID_PARAMETER, "w:InvalidParameter",
                                 f"The stream {request.stream!r} is not an input stream of this shell; "
                                 f"the shell's input stream is stdin. ", "s:Sender")
        if command.stdin_closed.is_set():
            raise soap.SoapError(soap.INVALID_PARAMETER, "w:InvalidParameter",
                                 "The stdin stream of this command was already closed (End=\"true\"). ",
                                 "s:Sender")
        command.send(request.data, request.end)


def command_not_found(command_id) -> soap.SoapError:
    return soap.SoapError(soap.SHELL_NOT_FOUND, "w:InvalidParameter",
                          f"The command {command_id} was not found in the shell. ", "s:Sender")
