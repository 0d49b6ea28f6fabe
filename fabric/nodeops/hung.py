"""A node that hangs after a restart: powered on, its OS never answers. Waiting longer cannot help;
one power cycle through its BMC often does. Used by the remediation's restart wait and by the
upgrade's provisioning waits; the cycle is recorded in the job step's data before it is sent, so a
resumed step never sends a second one."""
from __future__ import annotations

from fabric import agents
from jobs.engine import StepFailed, WaitTimedOut

CYCLED = "hung_power_cycled"


def bmc_of(host) -> agents.bmc.BMCTarget | None:
    """The host's BMC when Ferry knows it (address and Run As account), else None."""
    if not host.bmc_address or host.bmc_run_as_id is None:
        return None
    return agents.bmc.BMCTarget.for_host(host)


def wait_or_power_cycle(ctx, back, timeout: float, poll: float, *, waiting_for: str, name: str,
                        bmc: agents.bmc.BMCTarget | None, key: str = CYCLED):
    """ctx.wait_until(back, …); when it times out and the node's BMC says the power is on, one power
    cycle through the BMC (logged), then one more wait. Without a BMC, or after that cycle, the
    timeout stands."""
    try:
        return ctx.wait_until(back, timeout, poll, waiting_for=waiting_for)
    except WaitTimedOut as timed_out:
        if bmc is None:
            raise
        if ctx.step.data.get(key):
            raise StepFailed(f"{timed_out} {name} was power-cycled through its BMC once and still does "
                             f"not answer: look at its console.", retry=False) from None
        try:
            power = agents.bmc.power_state(bmc)
        except agents.AgentError as error:
            raise StepFailed(f"{timed_out} Its BMC does not answer either: {error}", retry=False) from None
        if power != "on":
            raise StepFailed(f"{timed_out} Its BMC reports the power {power}.", retry=False) from None
        ctx.save_checkpoint(**{key: True})   # before acting: a resumed step never cycles twice
        ctx.log(f"{name} is powered on but its OS does not answer: one power cycle through its BMC "
                f"({bmc.where}).", "warning")
        ctx.ensure_lease()
        try:
            agents.bmc.power_cycle(bmc)
        except agents.AgentError as error:
            raise StepFailed(f"{timed_out} The power cycle through its BMC failed: {error}", retry=False) from None
    try:
        return ctx.wait_until(back, timeout, poll, waiting_for=f"{waiting_for} (after a power cycle)")
    except WaitTimedOut as timed_out:
        raise StepFailed(f"{timed_out} {name} was power-cycled through its BMC once and still does not answer: "
                         f"look at its console.", retry=False) from None
