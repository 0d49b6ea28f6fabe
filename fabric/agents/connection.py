"""How Ferry reaches one machine over WinRM, and the policy that decides whether it may.

Production default: HTTPS with certificate validation, NTLM (or Kerberos/CredSSP). Basic
authentication or plain HTTP needs both the installation's FERRY_ALLOW_INSECURE_WINRM and the
machine's own `allow_insecure`. Loopback, link-local and cloud-metadata addresses (where a Run As
password could be handed to the local machine or a cloud's metadata service) need the former.
CredSSP hands the Run As password to the machine, so it goes only over HTTPS with a validated
certificate, whatever `allow_insecure` says. Kerberos names the machine by its DNS name (the
service principal HTTP/<name>), so it needs one: the machine's FQDN, or an address that is a name.
"""
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass, field, replace

from fabric.agents.errors import InsecureTransportRefused, TransportUnavailable

TRANSPORTS = ("ntlm", "kerberos", "credssp", "basic")
HTTP_PORT = 5985
HTTPS_PORT = 5986

# Seconds. A WS-Man Receive long-polls for at most OPERATION_POLL; the HTTP read timeout must
# exceed it. A whole script gets `DEFAULT_SCRIPT_TIMEOUT` unless the operation says otherwise.
DEFAULT_CONNECT_TIMEOUT = 10.0
OPERATION_POLL = 20
DEFAULT_SCRIPT_TIMEOUT = 120.0
# How long transient transport faults (HTTP 5xx, resets, unanswered requests) are retried before
# an operation fails; FERRY_WINRM_RETRY_WINDOW_SECONDS overrides it.
DEFAULT_RETRY_WINDOW = 120.0


def retry_window() -> float:
    raw = os.environ.get("FERRY_WINRM_RETRY_WINDOW_SECONDS", "")
    if not raw.strip():
        return DEFAULT_RETRY_WINDOW
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise TransportUnavailable(
            f"FERRY_WINRM_RETRY_WINDOW_SECONDS must be a number of seconds (0 or more), not {raw!r}.")
    return value


@dataclass(frozen=True)
class Connection:
    """Everything needed to open a WinRM session: address, listener, transport and credentials."""

    address: str
    port: int | None = None
    https: bool = True
    transport: str = "ntlm"
    ca_path: str = ""
    allow_insecure: bool = False
    username: str = ""
    password: str = field(default="", repr=False)
    account: str = ""  # the Run As account's name, for messages
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    fqdn: str = ""  # the machine's DNS name: Kerberos asks for a ticket to HTTP/<fqdn>
    credssp_second_hop: bool = False  # operations that reach other machines may switch to CredSSP
    delegate: bool = False  # Kerberos: forward the ticket so the machine can reach a third one

    @classmethod
    def for_endpoint(cls, endpoint, run_as=None, **overrides) -> "Connection":
        """The connection for a Host, Cluster, UpdateServer or DeploymentServer (any ManagedEndpoint)."""
        run_as = run_as if run_as is not None else getattr(endpoint, "run_as", None)
        values = dict(
            address=endpoint.address,
            port=endpoint.winrm_port,
            https=endpoint.winrm_https,
            transport=endpoint.winrm_transport,
            ca_path=endpoint.ca_path or "",
            allow_insecure=endpoint.allow_insecure,
            username=run_as.username if run_as else "",
            password=run_as.password if run_as else "",
            account=run_as.name if run_as else "",
            fqdn=getattr(endpoint, "fqdn", "") or "",
            credssp_second_hop=getattr(endpoint, "credssp_second_hop", False),
        )
        values.update(overrides)
        return cls(**values)

    def with_address(self, address: str, fqdn: str | None = None) -> "Connection":
        """The same listener settings and credentials, another machine (a cluster's node).

        "Allow insecure" was granted to the machine an administrator named, not to the addresses
        it reports: another machine is reached securely or not at all.
        """
        same = address == self.address
        if fqdn is None:
            fqdn = self.fqdn if same else ""
        return replace(self, address=address, fqdn=fqdn, allow_insecure=self.allow_insecure and same)

    @property
    def kerberos_hostname(self) -> str:
        """The host part of the service principal (HTTP/<this>): the FQDN, else a named address."""
        if self.fqdn:
            return self.fqdn
        try:
            ipaddress.ip_address(self.address)
        except ValueError:
            return self.address
        return ""

    @property
    def effective_port(self) -> int:
        return self.port or (HTTPS_PORT if self.https else HTTP_PORT)

    @property
    def url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{'https' if self.https else 'http'}://{host}:{self.effective_port}/wsman"

    @property
    def where(self) -> str:
        return f"{self.address}:{self.effective_port}"

    @property
    def is_insecure(self) -> bool:
        return (not self.https) or self.transport == "basic"

    def ca_trust(self):
        """What pywinrm gets as ca_trust_path: the host's CA bundle, else the system trust store.

        Never "legacy_requests": that would silently follow REQUESTS_CA_BUNDLE from the
        environment instead of the host's own setting.
        """
        if self.ca_path:
            return self.ca_path
        return ssl.get_default_verify_paths().cafile or None

    def check_policy(self) -> None:
        """Refuse what production must not do, before any packet is sent."""
        if self.transport not in TRANSPORTS:
            raise TransportUnavailable(
                f"Unknown WinRM transport {self.transport!r} for {self.address}; use one of {', '.join(TRANSPORTS)}.",
                target=self.where,
            )
        if not self.username:
            raise TransportUnavailable(
                f"No Run As account is set for {self.address}: choose one that is an administrator there.",
                target=self.where,
            )
        check_address(self.address, target=self.where)
        if self.transport == "credssp" and not self.https:
            raise InsecureTransportRefused(
                f"Refusing CredSSP to {self.address}: CredSSP hands the Run As account's password to the machine, "
                f"so Ferry uses it only over HTTPS with a validated certificate (a WinRM listener on {HTTPS_PORT}), "
                f"even when the machine is marked \"Allow insecure\".",
                target=self.where,
            )
        if self.transport == "kerberos" and not self.kerberos_hostname:
            raise TransportUnavailable(
                f"Kerberos needs the DNS name of {self.address} (its service principal is HTTP/<name>): "
                f"reach it by name or record its FQDN.",
                target=self.where,
            )
        if not self.is_insecure:
            return
        if not insecure_winrm_allowed():
            raise InsecureTransportRefused(
                f"Refusing to connect to {self.address}: plain HTTP or Basic authentication would expose the "
                f"Run As password, and this Ferry installation does not allow insecure WinRM "
                f"(FERRY_ALLOW_INSECURE_WINRM). Use HTTPS with NTLM, Kerberos or CredSSP.",
                target=self.where,
            )
        if self.allow_insecure:
            return
        problems = []
        if not self.https:
            problems.append(f"plain HTTP (port {self.effective_port}) sends commands without TLS")
        if self.transport == "basic":
            problems.append("Basic authentication sends the password in clear text")
        if problems:
            raise InsecureTransportRefused(
                f"Refusing to connect to {self.address}: {' and '.join(problems)}. Use HTTPS (a WinRM "
                f"listener on {HTTPS_PORT} with a certificate) with NTLM, Kerberos or CredSSP; or, for a "
                f"lab or an isolated management network only, mark the machine \"Allow insecure\" "
                f"(the Allow insecure box on its settings, or --allow-insecure on the command line).",
                target=self.where,
            )


# Where a password must never go in production: this machine, link-local neighbours and the cloud
# instance-metadata services (AWS/GCP/Azure 169.254.169.254, AWS IPv6 fd00:ec2::254, Alibaba
# 100.100.100.200), plus the unspecified address that reaches this machine.
_FORBIDDEN_NETWORKS = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "::1/128", "0.0.0.0/8", "::/128", "169.254.0.0/16", "fe80::/10",
    "fd00:ec2::254/128", "100.100.100.200/32",
)]


def insecure_winrm_allowed() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "FERRY_ALLOW_INSECURE_WINRM", False))


def forbidden_reason(address: str) -> str:
    """Why `address` (an IP or a name, resolved) must not be reached, or "" when it may."""
    try:
        addresses = {ipaddress.ip_address(address)}
    except ValueError:
        try:
            addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in socket.getaddrinfo(address, None)}
        except (OSError, UnicodeError, ValueError):
            return ""  # an unresolvable name fails when connecting, with its own message
    for ip in addresses:
        ip = getattr(ip, "ipv4_mapped", None) or ip
        for network in _FORBIDDEN_NETWORKS:
            if ip.version == network.version and ip in network:
                return f"{ip} is in {network} (loopback, link-local or a cloud metadata service)"
    return ""


def check_address(address: str, *, target: str = "") -> None:
    """Refuse loopback, link-local and metadata addresses unless the installation allows insecure WinRM."""
    if insecure_winrm_allowed():
        return
    reason = forbidden_reason(address)
    if reason:
        raise InsecureTransportRefused(
            f"Refusing to connect to {address}: {reason}. Ferry sends Run As credentials only to managed "
            f"machines on their management network (this installation does not set FERRY_ALLOW_INSECURE_WINRM).",
            target=target or address,
        )


def transport_available(transport: str) -> None:
    """Raise TransportUnavailable when the Python package behind `transport` is missing."""
    from winrm import transport as winrm_transport

    if transport == "kerberos":
        try:
            import gssapi  # noqa: F401 - Ferry obtains tickets with it
        except ImportError:
            gssapi = None
        if not winrm_transport.HAVE_KERBEROS or gssapi is None:
            raise TransportUnavailable(
                "The Kerberos transport needs the Python packages pykerberos and gssapi and the system Kerberos "
                "libraries on the Ferry workers (pip install 'pywinrm[kerberos]' gssapi); use NTLM or CredSSP "
                "meanwhile."
            )
    if transport == "credssp" and not winrm_transport.HAVE_CREDSSP:
        raise TransportUnavailable(
            "The CredSSP transport needs the Python package requests-credssp on the Ferry workers "
            "(pip install 'pywinrm[credssp]')."
        )
