"""How Ferry reaches one machine over WinRM, and the policy that decides whether it may.

Production default: HTTPS with certificate validation, NTLM (or Kerberos/CredSSP). Basic
authentication or plain HTTP is refused unless the machine is explicitly marked `allow_insecure`.
"""
import os
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
        )
        values.update(overrides)
        return cls(**values)

    def with_address(self, address: str) -> "Connection":
        """The same listener settings and credentials, another machine (a cluster's node)."""
        return replace(self, address=address)

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


def transport_available(transport: str) -> None:
    """Raise TransportUnavailable when the Python package behind `transport` is missing."""
    from winrm import transport as winrm_transport

    if transport == "kerberos" and not winrm_transport.HAVE_KERBEROS:
        raise TransportUnavailable(
            "The Kerberos transport needs the Python package pykerberos and the system Kerberos "
            "libraries on the Ferry workers (pip install 'pywinrm[kerberos]'); use NTLM or CredSSP meanwhile."
        )
    if transport == "credssp" and not winrm_transport.HAVE_CREDSSP:
        raise TransportUnavailable(
            "The CredSSP transport needs the Python package requests-credssp on the Ferry workers "
            "(pip install 'pywinrm[credssp]')."
        )
