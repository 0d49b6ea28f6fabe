"""Installing the updates and restarting the node (waiting for it, power-cycling a hung one)."""
from __future__ import annotations

from datetime import datetime

from compliance.evaluation import record_install, update_key
from compliance.steps.remediate.common import (
    _agent_failure,
    _is_last_attempt,
    _job_step_data,
    _node,
    _options,
    only_if_needed,
)
from compliance.steps.remediate.evacuation import _recover
from compliance.steps.remediate.names import (
    CHECK,
    INSTALL,
    RESTART,
)
from fabric import agents
from fabric.agents.updates import get_installed_updates
from fabric.models import Host
from fabric.nodeops.hung import bmc_of, wait_or_power_cycle
from fabric.nodeops.live import cluster_connection, host_connection, poll_seconds
from jobs.engine import StepFailed, StepResult, register_step


def _record_failed_install(host: Host, wanted: list[dict], reason: str) -> None:
    """Windows Update gives one result code for the whole install: look at what the host has now."""
    try:
        now = get_installed_updates(host_connection(host))
        installed_kbs, pending = now.kbs, now.pending_reboot
    except agents.AgentError:
        installed_kbs, pending = set(), False
    done, failed = set(), {}
    for u in wanted:
        keys = update_key(u["id"], u["kb"])
        if u["kb"] and u["kb"] in installed_kbs:
            done |= keys
        else:
            failed.update({k: reason for k in keys})
    record_install(host, done, failed, reboot_required=pending and bool(done))


@register_step(INSTALL, title="Install updates")
@only_if_needed
def install_updates(ctx) -> StepResult:
    node = _node(ctx)
    wanted = _job_step_data(ctx, CHECK, same_node=True).get("updates", [])
    if not wanted:
        return StepResult("nothing to install (only a restart is pending)", skipped=True)
    refs = [u["id"] for u in wanted]
    kbs = ", ".join("KB" + u["kb"] for u in wanted if u["kb"])
    ctx.ensure_lease()
    ctx.progress(5, f"Installing {len(refs)} updates: {kbs}")
    conn = host_connection(node.host)
    try:
        result = agents.updates.install_updates(conn, refs)
    except agents.AgentError as error:
        _record_failed_install(node.host, wanted, str(error))
        message = f"Installing updates on {node.name} failed: {error}"
        if _is_last_attempt(ctx):
            message += _recover(ctx, node)
        raise StepFailed(message) from error
    installed = {k for ref in result.installed for k in update_key(ref)}
    record_install(node.host, installed, {}, reboot_required=result.reboot_required)
    kb_of = {u["id"]: u["kb"] for u in wanted}
    ctx.save_checkpoint(reboot_required=result.reboot_required,
                        installed=[{"id": ref, "kb": kb_of.get(ref, "")} for ref in result.installed])
    restart = "; a restart is required" if result.reboot_required else ""
    return StepResult(f"installed {len(result.installed)} of {len(refs)} ({kbs}){restart}")


@register_step(RESTART, title="Restart the node")
@only_if_needed
def restart_node(ctx) -> StepResult:
    options = _options(ctx)
    node = _node(ctx)
    conn = host_connection(node.host)
    if options.no_restart:
        return StepResult(f"not restarted (Do not restart was chosen): {node.name} stays Pending Reboot", skipped=True)
    data = ctx.step.data
    if not data.get("restart_issued"):
        try:
            pending, os_info = agents.hostinfo.pending_reboot_and_boot(conn)
            if not pending:
                return StepResult(f"{node.name} needs no restart", skipped=True)
            before = os_info.last_boot
        except agents.AgentError as error:
            raise _agent_failure(f"Could not prepare the restart of {node.name}", error) from error
        ctx.save_checkpoint(restart_issued=True, boot_before=before.isoformat() if before else "")
        ctx.ensure_lease()
        try:
            agents.hostinfo.restart_computer(conn)
        except agents.AgentError as error:
            ctx.save_checkpoint(restart_issued=False)
            raise _agent_failure(f"Restart-Computer on {node.name} failed", error) from error
        ctx.log(f"Restart-Computer sent to {node.name}.")
    stored = ctx.step.data.get("boot_before") or ""
    boot_before = datetime.fromisoformat(stored) if stored else None
    timeout = float(options.reboot_timeout_minutes) * 60

    def back():
        try:
            booted = agents.hostinfo.get_os(conn).last_boot
        except agents.AgentError:
            return False
        if booted is None or (boot_before is not None and booted <= boot_before):
            return False
        if node.cluster is None:
            return True
        try:
            state = agents.cluster.get_cluster_node(cluster_connection(node.cluster, avoid=node.name), node.name).state
        except agents.AgentError:
            return False
        return state in ("Up", "Paused") and state

    where = f"{node.name} to restart and rejoin {node.cluster.name}" if node.cluster else f"{node.name} to restart"
    bmc = bmc_of(node.host) if options.power_cycle_hung else None
    state = wait_or_power_cycle(ctx, back, timeout, poll_seconds(), waiting_for=where, name=node.name, bmc=bmc)
    return StepResult(f"{node.name} is back" + (f" ({state} in the cluster)" if isinstance(state, str) else ""))
