"""A host's BMC over IPMI 2.0 (pyghmi): power and next boot device.

Each call runs in a separate interpreter (fabric/agents/ipmi_child.py) with a hard deadline:
pyghmi's client can hang or deadlock inside a long-lived process (docs/protocols.md), and a
stuck BMC must never freeze a Ferry worker. A call costs one process start (~0.2 s).
"""
import json
import logging
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from fabric.agents.connection import check_address
from fabric.agents.errors import BMCAccessDenied, BMCError, BMCTimeout, BMCUnreachable

log = logging.getLogger(__name__)

CHILD = Path(__file__).with_name("ipmi_child.py")
DEFAULT_TIMEOUT = 20.0  # pyghmi itself gives up on a silent BMC after about 5 s
_DENIED = ("incorrect password", "unauthorized name", "unauthorized role", "invalid rakp4", "privilege",
           "invalid username")
_UNREACHABLE = ("timeout", "no longer connected", "failed to initialize", "session disconnected", "unreachable",
                "network is unreachable", "no route")


@dataclass(frozen=True)
class BMCTarget:
    address: str
    port: int = 623
    username: str = ""
    password: str = field(default="", repr=False)
    account: str = ""  # the Run As account's name, for messages
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def for_host(cls, host, **overrides) -> "BMCTarget":
        if not host.bmc_address:
            raise BMCError(f"{host.name} has no BMC address: set its BMC settings first.", target=host.name)
        run_as = host.bmc_run_as
        if run_as is None:
            raise BMCError(f"{host.name} has no BMC Run As account: set its BMC settings first.", target=host.name)
        values = dict(address=host.bmc_address, port=host.bmc_port, username=run_as.username,
                      password=run_as.password, account=run_as.name)
        values.update(overrides)
        return cls(**values)

    @property
    def where(self) -> str:
        return f"BMC {self.address}:{self.port}"


def _call(target: BMCTarget, action: str) -> str:
    check_address(target.address, target=target.where)  # the BMC login goes only to a management network
    request = json.dumps({"action": action, "address": target.address, "port": target.port,
                          "username": target.username, "password": target.password})
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-I", str(CHILD)], input=request, capture_output=True, text=True,
            timeout=target.timeout,
        )
    except subprocess.TimeoutExpired:
        # subprocess.run kills the child on timeout; nothing of it survives.
        raise BMCTimeout(
            f"{target.where} did not complete {action.replace('_', ' ')} within {target.timeout:.0f} s; the call "
            f"was abandoned. Check that the BMC answers (ping it, or ipmitool -I lanplus -H {target.address} "
            f"chassis status) and reset it if it is hung.",
            target=target.where, operation=action,
        ) from None
    elapsed = time.monotonic() - started
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    try:
        answer = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise BMCError(
            f"The IPMI helper for {target.where} failed (exit {done.returncode}): "
            f"{(done.stderr.strip().splitlines() or ['no output'])[-1][:200]}",
            target=target.where, operation=action,
        ) from None
    log.debug("%s %s in %.2fs: %s", target.where, action, elapsed, answer.get("ok"))
    if answer.get("ok"):
        return answer.get("result") or ""
    raise _error(target, action, answer.get("message") or "")


def _error(target: BMCTarget, action: str, message: str) -> BMCError:
    lowered = message.lower()
    kw = {"target": target.where, "operation": action}
    if any(word in lowered for word in _DENIED):
        who = (
            f"Run As account '{target.account}' (user {target.username})" if target.account
            else f"user {target.username}"
        )
        return BMCAccessDenied(
            f"{target.where} refused the login of {who}: {message}. Check the BMC user, its password and that it "
            f"has the Administrator (or Operator) privilege for chassis control.",
            **kw,
        )
    if not message or any(word in lowered for word in _UNREACHABLE):
        return BMCUnreachable(
            f"{target.where} does not answer IPMI over LAN (UDP {target.port}): the BMC is off, its address is "
            f"wrong, IPMI over LAN is disabled, or a firewall drops the port.",
            **kw,
        )
    return BMCError(f"{target.where} refused {action.replace('_', ' ')}: {message}", **kw)


def power_state(target: BMCTarget) -> str:
    """"on" or "off"."""
    return _call(target, "power_state")


def power_on(target: BMCTarget) -> str:
    return _call(target, "power_on")


def power_off(target: BMCTarget) -> str:
    """Cut power at once (no OS shutdown)."""
    return _call(target, "power_off")


def soft_off(target: BMCTarget) -> str:
    """Ask the OS to shut down (ACPI)."""
    return _call(target, "soft_off")


def power_reset(target: BMCTarget) -> str:
    return _call(target, "reset")


def power_cycle(target: BMCTarget) -> str:
    return _call(target, "cycle")


def set_next_boot_network(target: BMCTarget) -> str:
    """Boot from the network (PXE) once, at the next start."""
    return _call(target, "boot_network")


def boot_device(target: BMCTarget) -> str:
    return _call(target, "boot_device")


__all__ = [
    "BMCTarget", "boot_device", "power_cycle", "power_off", "power_on", "power_reset", "power_state",
    "set_next_boot_network", "soft_off",
]
