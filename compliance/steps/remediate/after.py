"""Back into service: resume, bring the VMs back, verify against the baselines, refresh the inventory."""
from __future__ import annotations

from compliance.choices import ComplianceState
from compliance.models import HostCompliance
from compliance.scanning import check_installed
from compliance.steps.remediate.common import (
    _agent_failure,
    _evacuated,
    _node,
    _options,
    only_if_needed,
)
from compliance.steps.remediate.names import (
    FINISH,
    RESUME,
    RETURN_VMS,
    START_SAVED,
    VERIFY,
)
from fabric import agents
from fabric.models import Cluster, Host
from fabric.nodeops.nodes import resume
from fabric.nodeops.workloads.hyperv import return_vms, start_saved, vm_roles
from jobs.engine import StepFailed, StepResult, register_step


@register_step(RESUME, title="Resume the node")
@only_if_needed
def resume_node(ctx) -> StepResult:
    node = _node(ctx)
    if node.cluster is None:
        return StepResult("not a cluster node", skipped=True)
    if node.was_paused:
        return StepResult(f"{node.name} was in maintenance before remediation; left paused", skipped=True)
    try:
        state = resume(ctx, node)
    except agents.AgentError as error:
        raise _agent_failure(f"Resuming {node.name} failed", error) from error
    return StepResult(f"{node.name} is {state}")


@register_step(RETURN_VMS, title="Bring the VMs back")
@only_if_needed
def return_vms_step(ctx) -> StepResult:
    node = _node(ctx)
    evacuated = _evacuated(ctx)
    if evacuated.empty:
        return StepResult("no VM left this node", skipped=True)
    try:
        if node.was_paused:
            started = start_saved(ctx, node, evacuated.saved, vm_roles(node.cluster, evacuated.saved),
                                  evacuated.paused)
            return StepResult(f"started {', '.join(started)}" if started else "left in maintenance")
        return StepResult(return_vms(ctx, node, evacuated))
    except agents.AgentError as error:
        raise _agent_failure(f"Bringing the VMs back to {node.name} failed", error) from error


@register_step(START_SAVED, title="Start the saved VMs")
@only_if_needed
def start_saved_step(ctx) -> StepResult:
    node = _node(ctx)
    evacuated = _evacuated(ctx)
    if evacuated.empty:
        return StepResult("no VM left this node", skipped=True)
    try:
        roles = vm_roles(node.cluster, evacuated.saved) if node.cluster is not None else None
        started = start_saved(ctx, node, evacuated.saved, roles, evacuated.paused)
        return StepResult(f"started {', '.join(started)}" if started else "the saved VMs were already running")
    except agents.AgentError as error:
        raise _agent_failure(f"Bringing the VMs back to {node.name} failed", error) from error


@register_step(VERIFY, title="Check against the baselines")
@only_if_needed
def verify_node(ctx) -> StepResult:
    options = _options(ctx)
    node = _node(ctx)
    try:
        scan = check_installed(node.host)
    except agents.AgentError as error:
        raise _agent_failure(f"Could not check {node.name} after remediation", error) from error
    label = ComplianceState(scan.state).label
    if scan.state == ComplianceState.COMPLIANT or (scan.state == ComplianceState.PENDING_REBOOT and options.no_restart):
        Host.objects.filter(pk=node.host.pk).update(failure_state="", failure_job=None)
        return StepResult(f"{node.name} is {label}")
    missing = HostCompliance.objects.filter(host=node.host).values_list("missing_count", flat=True).first()
    raise StepFailed(f"{node.name} is {label} after remediation ({missing or 0} baseline updates missing).",
                     retry=False)


@register_step(FINISH, title="Refresh the inventory")
def finish(ctx) -> StepResult:
    cluster = Cluster.objects.filter(pk=ctx.params.get("cluster_id")).first()
    hosts = list(cluster.nodes.all()) if cluster else list(Host.objects.filter(pk__in=ctx.params.get("host_ids", [])))
    from fabric.inventory.refresh import refresh_cluster, refresh_host

    ctx.ensure_lease()
    problems = refresh_cluster(cluster) if cluster else [p for h in hosts for p in refresh_host(h)]
    for problem in problems:
        ctx.log(f"Inventory refresh: {problem}", "warning")
    states = dict(HostCompliance.objects.filter(host__in=hosts).values_list("host__name", "state"))
    summary = ", ".join(f"{h.name}: {ComplianceState(states.get(h.name, 'unknown')).label}" for h in hosts)
    return StepResult(summary)
