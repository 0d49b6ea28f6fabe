"""What can go wrong when Ferry talks to a machine, each with a message an operator can act on.

Every error carries `target` (the address it was talking to) and, for PowerShell failures, what
PowerShell said. `str(error)` is the operator-facing sentence; it never contains a secret.
"""


class AgentError(Exception):
    """Base class: anything that went wrong reaching or driving a machine."""

    #: True when trying again later may succeed (network blips, a busy service).
    transient = False

    def __init__(self, message: str, *, target: str = "", operation: str = ""):
        self.message = message
        self.target = target
        self.operation = operation
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


class InsecureTransportRefused(AgentError):
    """Basic authentication or plain HTTP asked for a machine not marked to allow it."""


class TransportUnavailable(AgentError):
    """The chosen WinRM transport cannot be used from this Ferry installation (missing package)."""


class Unreachable(AgentError):
    """No WinRM (or IPMI) conversation could be started: refused, no route, DNS, TLS failure."""

    transient = True


class AccessDenied(AgentError):
    """The machine answered but refused the credentials or the operation."""


class ProtocolError(AgentError):
    """The WinRM service answered, but not with a usable WS-Management reply (HTTP 5xx, a fault)."""

    transient = True


class OperationTimeout(AgentError):
    """The machine did not finish within the time allowed."""

    transient = True


# A short, familiar alias (the issue and operators call it "Timeout").
Timeout = OperationTimeout


class CmdletError(AgentError):
    """A PowerShell cmdlet failed. `category` and `fqid` are PowerShell's, for matching."""

    def __init__(self, message: str, *, category: str = "", fqid: str = "", exception_type: str = "", **kwargs):
        self.ps_message = message
        self.category = category
        self.fqid = fqid
        self.exception_type = exception_type
        super().__init__(message, **kwargs)

    def __str__(self) -> str:
        where = f" on {self.target}" if self.target else ""
        what = f" ({self.operation})" if self.operation else ""
        detail = ", ".join(p for p in (f"category {self.category}" if self.category else "",
                                       f"error id {self.fqid}" if self.fqid else "") if p)
        return f"PowerShell failed{where}{what}: {self.ps_message}" + (f" [{detail}]" if detail else "")

    def fqid_startswith(self, prefix: str) -> bool:
        return self.fqid.lower().startswith(prefix.lower())


class SecondHopDenied(CmdletError, AccessDenied):
    """Access denied in a cmdlet that reaches other machines from the one Ferry talks to."""


class NotFound(CmdletError):
    """The object named in the call (VM, node, share, update...) does not exist on the machine."""


class BadOutput(AgentError):
    """The machine answered something Ferry cannot read (not JSON, or not the expected shape)."""


# --- BMC (IPMI) -----------------------------------------------------------------------------


class BMCError(AgentError):
    """The BMC answered with an error."""


class BMCUnreachable(BMCError):
    transient = True


class BMCAccessDenied(BMCError):
    pass


class BMCTimeout(BMCError):
    transient = True
