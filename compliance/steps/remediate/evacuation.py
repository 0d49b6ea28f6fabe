"""Taking a node out of service: evacuate (live-migrate or save per the plan), or save what runs on
a standalone host, and bringing it back when a later step fails."""
from __future__ import annotations

from compliance.steps.remediate.common import (
    _agent_failure,
    _evacuated,
    _node,
    _options,
    only_if_needed,
)
from compliance.steps.remediate.names import (
    EVACUATE,
    SAVE_VMS,
    SAVE_VMS_AND_PAUSE,
)
from fabric import agents
from fabric.choices import VM_IN_MEMORY, ClusterKind
from fabric.nodeops.live import host_connection, read_live_cluster
from fabric.nodeops.nodes import NodeTarget, pause, resume, rollback_pause
from fabric.nodeops.records import Evacuated
from fabric.nodeops.storage import wait_for_storage
from fabric.nodeops.workloads import for_cluster, hyperv
from fabric.nodeops.workloads.hyperv import return_vms, save_vms, start_saved, vm_roles
from jobs.engine import StepFailed, StepResult, register_step


@register_step(EVACUATE, title="Evacuate the node")
@only_if_needed
def evacuate_node(ctx) -> StepResult:
    options = _options(ctx)
    node = _node(ctx)
    try:
        workloads = for_cluster(node.cluster)  # VMs, or a file server's roles and volumes
        if workloads is not hyperv:
            wait_for_storage(ctx, node.cluster, before=node.name)  # the previous node's S2D resync, any kind
            return StepResult(workloads.evacuate_cluster_node(ctx, node, options.save_state))
        # the storage health and the cluster's state in one wave of reads; read again after a wait
        live = read_live_cluster(node.cluster, avoid=node.name, storage=True)
        if wait_for_storage(ctx, node.cluster, before=node.name, first=live.storage):
            live = None
        return StepResult(hyperv.evacuate_cluster_node(ctx, node, options.save_state, live=live))
    except agents.AgentError as error:
        rollback_pause(ctx, node)
        raise _agent_failure(f"Evacuating {node.name} failed", error) from error


def _save_running(ctx, node: NodeTarget) -> dict[str, str]:
    here = [vm for vm in agents.hyperv.get_vms(host_connection(node.host)) if vm.state in VM_IN_MEMORY]
    done = Evacuated.from_data(ctx.step.data)
    done.paused = sorted({*done.paused, *(vm.id for vm in here if vm.state == "Paused")})
    ctx.save_checkpoint(paused=done.paused)
    done.saved.update(save_vms(ctx, node.host, {vm.id: vm.name for vm in here}))
    ctx.save_checkpoint(saved=done.saved)
    return done.saved


@register_step(SAVE_VMS, title="Save the running VMs")
@only_if_needed
def save_vms_step(ctx) -> StepResult:
    node = _node(ctx)
    try:
        saved = _save_running(ctx, node)
    except agents.AgentError as error:
        raise _agent_failure(f"Evacuating {node.name} failed", error) from error
    return StepResult(f"saved {', '.join(saved.values())}" if saved else "no running VMs")


@register_step(SAVE_VMS_AND_PAUSE, title="Save the running VMs and pause the node")
@only_if_needed
def save_vms_and_pause(ctx) -> StepResult:
    node = _node(ctx)
    try:
        saved = _save_running(ctx, node)
        pause(ctx, node, read_live_cluster(node.cluster, avoid=node.name))
    except agents.AgentError as error:
        rollback_pause(ctx, node)
        raise _agent_failure(f"Evacuating {node.name} failed", error) from error
    return StepResult(f"saved {', '.join(saved.values())}" if saved else "no running VMs")


def _recover(ctx, node: NodeTarget) -> str:
    """After the last failed attempt on a drained node: resume it and bring its VMs back, so the
    cluster is as it was (the node stays non-compliant)."""
    evacuated = _evacuated(ctx)
    saved, paused = evacuated.saved, evacuated.paused
    try:
        if node.cluster is not None:
            if not node.was_paused:
                resume(ctx, node)
            if node.cluster.kind == ClusterKind.SOFS:
                return f" {node.name} was resumed; it is still not compliant."
            if ctx.params.get("standalone") or node.was_paused:
                start_saved(ctx, node, saved, vm_roles(node.cluster, saved), paused)
            else:
                return_vms(ctx, node, evacuated)
        else:
            start_saved(ctx, node, saved, None, paused)
        ctx.save_checkpoint(recovered=True)
        if node.was_paused:
            return f" {node.name} stays paused as it was found; it is still not compliant."
        return f" {node.name} was resumed and its VMs brought back; it is still not compliant."
    except (agents.AgentError, StepFailed) as error:
        return f" Bringing {node.name} back into service failed too: {error}"
