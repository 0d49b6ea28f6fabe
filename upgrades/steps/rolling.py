"""The rolling upgrade's cluster-wide steps: the prerequisites again, against the live cluster, before
anything moves; and at the end the VMs whose configuration version could now be raised."""
from __future__ import annotations

from fabric import agents
from fabric.choices import ClusterKind
from fabric.models import Cluster
from fabric.nodeops.live import cluster_connection, host_connection, log_quorum_reading, read_live_cluster
from fabric.nodeops.workloads import sofs
from jobs.engine import StepFailed, StepResult, register_step
from upgrades.releases import by_build
from upgrades.request import UpgradeRequest
from upgrades.rolling import PRECHECK, VM_VERSIONS, check_prerequisites


def _cluster(ctx) -> Cluster:
    cluster = Cluster.objects.filter(pk=ctx.params["cluster_id"]).first()
    if cluster is None:
        raise StepFailed("The cluster is no longer managed by Ferry.", retry=False)
    return cluster


@register_step(PRECHECK, retries=1, retry_delay=2, title="Check the prerequisites")
def precheck(ctx) -> StepResult:
    cluster = _cluster(ctx)
    request = UpgradeRequest.from_dict(ctx.params["request"])
    ctx.ensure_lease()
    file_server = None
    try:
        if cluster.kind == ClusterKind.SOFS:
            file_server = sofs.read_sofs_state(cluster_connection(cluster))
            live = file_server.as_live()
        else:
            live = read_live_cluster(cluster)
    except agents.AgentError as error:
        raise StepFailed(f"Could not read the state of {cluster.name}: {error}", retry=error.transient) from error
    log_quorum_reading(ctx, live)
    verdicts = check_prerequisites(request, live=live.plan_inputs(), witness=live.witness)
    for verdict in verdicts:
        ctx.log(f"{verdict.name}: {verdict.message}", "info" if verdict.ok else "error")
    refused = [v.message for v in verdicts if not v.ok]
    if refused:
        raise StepFailed("Refused before anything moved: " + " ".join(refused), retry=False)
    if file_server is not None:
        by_id = {h.pk: h.name for h in cluster.nodes.all()}
        by_lower = {n.lower(): n for n in file_server.nodes}
        order = [by_lower[by_id[n.host_id].lower()] for n in request.nodes
                 if n.host_id in by_id and by_id[n.host_id].lower() in by_lower]
        for node, moves in sofs.plan_rolling_sofs(order, file_server).items():
            ctx.log(f"{node}: {', '.join(map(str, moves)) or 'owns no role or volume'}")
    return StepResult(f"Every prerequisite holds for {len(request.nodes)} node(s) of {cluster.name}.")


def _version(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in value.split("."))
    except ValueError:
        return ()


@register_step(VM_VERSIONS, retries=1, title="List the VMs whose configuration version could be raised")
def list_vm_versions(ctx) -> StepResult:
    """Update-VMVersion is one-way and needs the VM off: Ferry lists, the operator decides."""
    cluster = _cluster(ctx)
    target = by_build(ctx.params["target_build"])
    behind = []
    for host in cluster.nodes.select_related("run_as", "cluster__run_as").order_by("name"):
        ctx.ensure_lease()
        try:
            vms = agents.hyperv.get_vms(host_connection(host))
        except agents.AgentError as error:
            ctx.log(f"Could not list the VMs of {host.name}: {error}", "warning")
            continue
        behind += [f"{vm.name} ({vm.version})" for vm in vms
                   if vm.version and _version(vm.version) < _version(target.vm_version)]
    if not behind:
        return StepResult(f"Every VM of {cluster.name} is at configuration version {target.vm_version} already.")
    ctx.log(f"Could be raised to {target.vm_version} (Update-VMVersion, VM off, cannot be undone): "
            f"{', '.join(sorted(behind))}")
    return StepResult(f"{len(behind)} VM(s) could be raised to configuration version {target.vm_version}: "
                      f"{', '.join(sorted(behind))}. Not done automatically.")
