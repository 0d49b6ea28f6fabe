"""Basic, NTLM, Kerberos and CredSSP authentication, and message encryption (MS-WSMV 2.2.9.1.1).

The NTLM acceptor is pyspnego's; it reads the accounts it may accept from the file named by
``NTLM_USER_FILE``. Each endpoint has its own accounts, so each keeps its own file and the
variable is pointed at it while its context steps (under a process-wide lock: a step is ~1 ms).
CredSSP authenticates the user with NTLM inside its own TLS channel, so it steps the same way.
The Kerberos acceptor reads the service keys from the keytab named by ``KRB5_KTNAME`` (the lab's
KDC writes it, see lab/kdc.py) and accepts only tickets for ``HTTP/<the host's FQDN>``.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
import struct
import tempfile
import threading
import weakref
from dataclasses import dataclass

import spnego
from spnego._ntlm_raw.crypto import ntowfv1

BOUNDARY = b"--Encrypted Boundary"
PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
KERBEROS_PROTOCOL = "application/HTTP-Kerberos-session-encrypted"
ENCRYPTED_CONTENT_TYPE = f'multipart/encrypted;protocol="{PROTOCOL}";boundary="Encrypted Boundary"'


def encrypted_content_type(protocol: str = PROTOCOL) -> str:
    return f'multipart/encrypted;protocol="{protocol}";boundary="Encrypted Boundary"'


@dataclass(frozen=True)
class SessionIdentity:
    """Who a WinRM connection authenticated as, and whether that logon can reach a third machine
    with the caller's identity (the second hop): CredSSP hands the server the password; Kerberos
    does when the client forwarded its ticket to a server trusted for delegation. NTLM and Basic
    never can."""

    transport: str
    user: str
    can_delegate: bool = False
_NTLM_LOCK = threading.Lock()


def _remove(path: str):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class AuthError(Exception):
    """401: missing, malformed or wrong credentials."""


def split_user(name: str) -> tuple[str, str]:
    """('DOMAIN', 'user') from 'DOMAIN\\user', 'user@domain' or 'user'."""
    if "\\" in name:
        domain, user = name.split("\\", 1)
        return domain, user
    if "@" in name:
        user, domain = name.split("@", 1)
        return domain, user
    return "", name


def check_basic(header: str, credentials: dict[str, str]) -> str:
    """The user name if the ``Authorization: Basic ...`` value carries a known account."""
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1].strip(), validate=True).decode("utf-8")
    except (IndexError, binascii.Error, UnicodeDecodeError):
        raise AuthError("malformed Basic credentials") from None
    name, sep, password = decoded.partition(":")
    if not sep:
        raise AuthError("malformed Basic credentials")
    _, user = split_user(name)
    for known, secret in credentials.items():
        if split_user(known)[1].lower() == user.lower() and secret == password:
            return known
    raise AuthError("unknown user or wrong password")


class NtlmAccounts:
    """The smbpasswd-format account file pyspnego's acceptor checks an endpoint's logons against."""

    def __init__(self, credentials: dict[str, str]):
        fd, self.path = tempfile.mkstemp(prefix="lab-winrm-", suffix=".ntlm")
        lines = []
        for i, (name, password) in enumerate(credentials.items()):
            if re.search(r"[:\r\n]", name):
                raise ValueError(f"user name {name!r} cannot be used for NTLM")
            domain, user = split_user(name)
            account = f"{domain}\\{user}" if domain else user
            nt_hash = ntowfv1(password).hex().upper()
            lines.append(f"{account}:{1000 + i}:{'0' * 32}:{nt_hash}:[U]:LCT-00000000")
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        self._finalizer = weakref.finalize(self, _remove, self.path)

    def close(self):
        self._finalizer()

    def step(self, context, token: bytes, protocol: str = "ntlm"):
        """Step (or, with ``context`` None, create and step) an NTLM or CredSSP acceptor; returns
        (context, reply token or None). Raises AuthError when the logon is refused."""
        with _NTLM_LOCK:
            saved = os.environ.get("NTLM_USER_FILE")
            os.environ["NTLM_USER_FILE"] = self.path
            try:
                if context is None:
                    context = spnego.server(protocol=protocol)
                reply = context.step(token)
            except spnego.exceptions.SpnegoError as exc:
                raise AuthError(str(exc)) from None
            finally:
                if saved is None:
                    os.environ.pop("NTLM_USER_FILE", None)
                else:
                    os.environ["NTLM_USER_FILE"] = saved
        return context, reply


def credssp_user(context, credentials: dict[str, str]) -> str:
    """The account whose password a completed CredSSP exchange delegated; AuthError when the
    delegated password is not that account's (the NTLM logon inside proved only the hash)."""
    delegated = context.get_extra_info("client_credential")
    user = getattr(delegated, "username", "") or ""
    password = getattr(delegated, "password", None)
    for known, secret in credentials.items():
        if split_user(known)[1].lower() == user.lower() and secret == password:
            return known
    raise AuthError("CredSSP delegated credentials that do not match the account")


def accept_kerberos(token: bytes, fqdn: str, realm: str, credentials: dict[str, str]):
    """Accept a Kerberos AP-REQ for HTTP/<fqdn>: (context, reply token, account, delegated)."""
    try:
        context = spnego.server(hostname=fqdn, service="HTTP", protocol="kerberos")
        reply = context.step(token)
    except spnego.exceptions.SpnegoError as exc:
        raise AuthError(f"Kerberos logon refused: {exc}") from None
    if not context.complete:
        raise AuthError("Kerberos logon needs more than one leg (not supported by the lab)")
    principal = context.client_principal or ""
    user, _, principal_realm = principal.partition("@")
    for known in credentials:
        if split_user(known)[1].lower() == user.lower() and principal_realm.upper() == realm.upper():
            delegated = bool(context.context_attr & spnego.ContextReq.delegate)
            return context, reply, known, delegated
    raise AuthError(f"{principal} is not an administrator here")


def ntlm_message_type(token: bytes) -> int:
    if len(token) < 12 or not token.startswith(b"NTLMSSP\x00"):
        return 0
    return struct.unpack("<I", token[8:12])[0]


def decrypt(context, body: bytes) -> bytes:
    """Unwrap a multipart/encrypted request body."""
    parts = [p for p in body.split(BOUNDARY + b"\r\n") if p]
    message = b""
    for i in range(0, len(parts) - 1, 2):
        header, payload = parts[i], parts[i + 1]
        m = re.search(rb"Length=(\d+)", header)
        if not m:
            raise AuthError("encrypted part without length")
        if payload.endswith(BOUNDARY + b"--\r\n"):
            payload = payload[:-len(BOUNDARY + b"--\r\n")]
        payload = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
        sig_len = struct.unpack("<i", payload[:4])[0]
        signature, sealed = payload[4:4 + sig_len], payload[4 + sig_len:]
        try:
            plain = context.unwrap_winrm(signature, sealed)
        except spnego.exceptions.SpnegoError as exc:
            raise AuthError(f"cannot decrypt the message: {exc}") from None
        if len(plain) != int(m.group(1)):
            raise AuthError("decrypted length does not match")
        message += plain
    return message


def encrypt(context, message: bytes, protocol: str = PROTOCOL) -> bytes:
    wrapped = context.wrap_winrm(message)
    return (BOUNDARY + b"\r\n\tContent-Type: " + protocol.encode() + b"\r\n"
            b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
            + str(len(message)).encode() + b"\r\n" + BOUNDARY + b"\r\n"
            b"\tContent-Type: application/octet-stream\r\n"
            + struct.pack("<i", len(wrapped.header)) + wrapped.header + wrapped.data
            + BOUNDARY + b"--\r\n")
