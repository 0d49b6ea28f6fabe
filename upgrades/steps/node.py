"""A node's seven steps in a rolling upgrade (one swimlane per node), as the seed describes them:

1. record the node's configuration into a deployment template, once its maintenance window is open;
2. evacuate (the planner; a file server's roles and CSVs), once storage is healthy again after the
previous node;  3. pause and evict (Remove-ClusterNode);  4. remove from management (the host
record stays);  5. provision (upgrades.steps.provision);  6. back under management (same record,
new OS);  7. Add-ClusterNode, resume, the VMs back (a file server's roles stay where they moved).
The library's pre- and post-script, when chosen, run around them (upgrades.steps.scripts).

Every step looks before it acts, so a retried or resumed step does only what is left: an evicted
node is not evicted again, a node already on the target release is not re-imaged again, and the
power cycle that starts a deployment is recorded before it is sent and never sent twice.
"""
from __future__ import annotations

from fabric import agents, maintenance
from fabric.choices import VM_IN_MEMORY, ClusterKind, HostStatus
from fabric.inventory import refresh_host
from fabric.models import Host, IPAllocation, LibraryImage, PhysicalComputerProfile, StaticIPPool, Subnet
from fabric.nodeops.live import cluster_connection, host_connection, read_live_cluster
from fabric.nodeops.nodes import pause, resume
from fabric.nodeops.records import Evacuated
from fabric.nodeops.storage import wait_for_storage
from fabric.nodeops.workloads import for_cluster, sofs
from jobs.engine import StepFailed, StepResult, register_step
from upgrades.request import POOL, NodeSettings
from upgrades.rolling import EVACUATE, EVICT, JOIN, MANAGE, RECORD, UNMANAGE
from upgrades.steps import common as c
from upgrades.steps.records import DeploymentTemplate

# --- 1. record ----------------------------------------------------------------------------------------

def _pool(settings: NodeSettings, subnet: Subnet, host: Host) -> StaticIPPool | None:
    """The pool the node's address comes from (None: a typed address)."""
    if settings.ip != POOL:
        return None
    pool = StaticIPPool.objects.filter(subnet=subnet).order_by("name").first()
    if pool is None:
        raise StepFailed(f"The subnet {subnet.name} has no static IP pool to take {host.name}'s address from.",
                         retry=False)
    return pool


@register_step(RECORD, retries=2, title="Record the node's configuration")
def record_configuration(ctx) -> StepResult:
    host = c.host(ctx)
    done = DeploymentTemplate.from_data(ctx.step.data.get("template"))
    if done is not None:
        return StepResult(f"{host.name}'s deployment template was recorded already.", skipped=True)
    # the node's start: only inside its maintenance window, so a window that closes stops the job
    # here, between nodes; a node under way goes on to its end (a re-imaged node must come back)
    maintenance.wait_for_window(ctx, host)
    settings = c.settings(ctx)
    request = c.request(ctx)
    profile = PhysicalComputerProfile.objects.filter(pk=request.profile_id).first()
    image = LibraryImage.objects.filter(pk=request.image_id or (profile.image_id if profile else None)).first()
    subnet = Subnet.objects.filter(pk=settings.subnet_id).first()
    if profile is None or image is None or subnet is None:
        raise StepFailed("The profile, image or subnet of this upgrade was deleted.", retry=False)
    ctx.ensure_lease()
    try:
        config = agents.provisioning.read_configuration(host_connection(host))
    except agents.AgentError as error:
        raise c.failed(f"Could not read the configuration of {host.name}", error,
                      f"{host.name} is unchanged.") from error
    mac = agents.deployment.windows_mac(settings.management_mac)
    nic = next((n for n in config.nics if n.mac and agents.deployment.windows_mac(n.mac) == mac
                and not n.name.lower().startswith("vethernet")), None)
    if nic is None:
        found = ", ".join(f"{n.name} {n.mac}" for n in config.nics) or "none"
        raise StepFailed(f"{host.name} has no NIC with the management MAC {mac} (its NICs: {found}); correct the "
                         f"MAC in the upgrade's settings.", retry=False)
    pool = _pool(settings, subnet, host)
    recorded_dns = next((n.dns for n in config.nics if n.dns), [])
    template = DeploymentTemplate(
        node=host.name, computer_name=settings.new_name or host.name, mac=mac, adapter=nic.name,
        address="" if pool else settings.ip, prefix_length=subnet.network.prefixlen, gateway=subnet.gateway or "",
        dns=subnet.dns_list() or recorded_dns, vlan=subnet.vlan, image_name=image.image_name,
        image_group=image.image_group, build=image.os_build, from_build=config.build, domain=profile.domain,
        disk=next((d["number"] for d in config.disks if d.get("boot")), 0) or 0, pool_id=pool.pk if pool else None,
        recorded={"nics": [vars(n) for n in config.nics], "switches": [vars(s) for s in config.switches],
                  "management_vnics": config.management_vnics, "disks": config.disks},
    )
    ctx.save_checkpoint(template=template.to_data())
    # the host record learns its BMC (the hung-node power cycle of later remediations uses it)
    host.bmc_address, host.bmc_port, host.bmc_run_as_id = settings.bmc_address, settings.bmc_port, request.bmc_run_as_id
    host.management_mac = mac
    host.save(update_fields=["bmc_address", "bmc_port", "bmc_run_as", "management_mac"])
    for line in template.lines():
        ctx.log(f"{host.name}: {line}")
    return StepResult(f"Deployment template of {host.name}: " + "; ".join(template.lines()[:3]))


# --- 2. evacuate --------------------------------------------------------------------------------------

@register_step(EVACUATE, retries=2, title="Evacuate the node")
def evacuate_node(ctx) -> StepResult:
    host, cluster = c.host(ctx), c.cluster(ctx)
    if host.cluster_id is None or c.is_member(cluster, host.name, avoid=host.name) is None:
        return StepResult(f"{host.name} is no longer a node of {cluster.name}: nothing to evacuate.", skipped=True)
    workloads = for_cluster(cluster)
    node = c.node(ctx, host, cluster)
    try:
        wait_for_storage(ctx, cluster, before=host.name)   # the previous node's resync, on any kind
        summary = workloads.evacuate_cluster_node(ctx, node, save_state=False)
        if cluster.kind != ClusterKind.SOFS:
            summary += _move_stopped_vms(ctx, host, cluster)
        return StepResult(summary)
    except agents.AgentError as error:
        raise c.failed(f"Evacuating {host.name} failed", error, f"{host.name} is still a node of {cluster.name}.") \
            from error


def _move_stopped_vms(ctx, host: Host, cluster) -> str:
    """A node about to be re-imaged keeps no VM, not even one that is off or saved (its role would be
    lost with the node). The evacuation live-migrates what runs; the clustered VMs left are moved
    quickly (nothing in memory to copy: Move-ClusterVirtualMachineRole -MigrationType Quick) to the
    Up node with the most memory free, so they can start there later."""
    left = agents.hyperv.get_vms(host_connection(host))
    if not left:
        return ""
    running = [vm.name for vm in left if vm.state in VM_IN_MEMORY]
    if running:
        raise StepFailed(f"{', '.join(running)} still run{'s' if len(running) == 1 else ''} on {host.name} after "
                         f"its evacuation.", retry=True)
    alone = [vm.name for vm in left if not vm.is_clustered]
    if alone:
        raise StepFailed(f"{', '.join(alone)} on {host.name} {'is' if len(alone) == 1 else 'are'} not clustered: the "
                         f"cluster cannot move {'it' if len(alone) == 1 else 'them'}, and a re-image would lose "
                         f"{'it' if len(alone) == 1 else 'them'}. Make {'it' if len(alone) == 1 else 'them'} highly "
                         f"available or move {'it' if len(alone) == 1 else 'them'} off first.", retry=False)
    live = read_live_cluster(cluster, avoid=host.name)
    free = {name: (live.hosts[name].memory_bytes or 0) for name, state in live.nodes.items()
            if state == "Up" and name.lower() != host.name.lower() and name in live.hosts}
    if not free:
        raise StepFailed(f"No other node of {cluster.name} is Up to take the stopped VMs of {host.name}.", retry=False)
    for vm in live.vms:
        if vm.owner in free and vm.state in VM_IN_MEMORY:
            free[vm.owner] -= vm.memory_bytes
    conn = cluster_connection(cluster, avoid=host.name)
    moved = []
    for vm in left:
        target = max(sorted(free), key=lambda name: free[name])
        ctx.ensure_lease()
        group = agents.cluster.move_vm_role(conn, vm.id, target, name=vm.name, migration_type="Quick")
        if group.owner_node.lower() != target.lower():
            raise StepFailed(f"The cluster reports {vm.name} on {group.owner_node or 'no node'} after moving it to "
                             f"{target}.")
        free[target] -= vm.memory_startup or 0  # where it starts later, it will need its memory
        ctx.log(f"{vm.name} ({vm.state}) moved to {target}: it was not running, so nothing was copied.")
        moved.append(f"{vm.name} ({vm.state}) → {target}")
    return f"; moved the VMs that were not running: {', '.join(moved)}"


# --- 3. evict -----------------------------------------------------------------------------------------

@register_step(EVICT, retries=2, title="Pause and evict the node")
def evict_node(ctx) -> StepResult:
    host, cluster = c.host(ctx), c.cluster(ctx)
    try:
        state = c.is_member(cluster, host.name, avoid=host.name)
        if state is None:
            return StepResult(f"{host.name} was evicted already.", skipped=True)
        if cluster.kind == ClusterKind.SOFS:
            # a role or CSV it still owns would fail over when it leaves: an outage the SMB clients see
            placement = sofs.read_sofs_state(cluster_connection(cluster, avoid=host.name))
            here = [f"the {kind} {name}" for kind, name in placement.owned_by(host.name)]
            live, holds = placement.as_live(), "SOFS roles or CSVs"
        else:
            # a VM still on the node (even saved or off) lives on its disks: a re-image would lose it
            here = [f"{vm.name} ({vm.state})" for vm in agents.hyperv.get_vms(host_connection(host))]
            live, holds = None, "VMs"
        if here:
            raise StepFailed(f"{host.name} still holds {', '.join(here)}: it is not evicted and re-imaged while it "
                             f"holds {holds}. It is still a node of {cluster.name}.", retry=False)
        node = c.node(ctx, host, cluster)
        pause(ctx, node, live or read_live_cluster(cluster, avoid=host.name))
        ctx.ensure_lease()
        ctx.log(f"Remove-ClusterNode {host.name} from {cluster.name}.", "warning")
        agents.cluster.remove_node(cluster_connection(cluster, avoid=host.name), host.name)
    except agents.AgentError as error:
        raise c.failed(f"Evicting {host.name} failed", error, f"{host.name} is paused, still a node of "
                                                            f"{cluster.name}.") from error
    return StepResult(f"{host.name} is evicted from {cluster.name}.")


# --- 4. remove from management ------------------------------------------------------------------------

def _reprovisioning_reason(ctx, host_name: str) -> str:
    return f"Being reprovisioned by rolling upgrade job #{ctx.job.pk}"


@register_step(UNMANAGE, title="Remove the node from management")
def remove_from_management(ctx) -> StepResult:
    host = c.host(ctx)
    reason = _reprovisioning_reason(ctx, host.name)
    if host.cluster_id is None and host.status_reason == reason:
        return StepResult(f"{host.name} is out of management already.", skipped=True)
    if host.run_as_id is None and host.cluster is not None:
        host.run_as = host.cluster.run_as   # the account it was managed with, to reach it once re-imaged
    host.cluster = None
    host.node_state = ""
    host.status = HostStatus.IN_MAINTENANCE
    host.status_reason = reason
    host.save(update_fields=["run_as", "cluster", "node_state", "status", "status_reason"])
    ctx.log(f"{host.name} left management while it is re-imaged; its record and history stay.")
    return StepResult(f"{host.name}: {reason.lower()}; its record and history stay.")


# --- 6. back under management -------------------------------------------------------------------------

@register_step(MANAGE, retries=2, title="Bring the node back under management")
def manage_node(ctx) -> StepResult:
    host = c.host(ctx)
    template = c.template(ctx)
    build = c.target_build(ctx)
    if host.name != template.computer_name:
        if Host.objects.filter(name__iexact=template.computer_name).exclude(pk=host.pk).exists():
            raise StepFailed(f"Another host record is named {template.computer_name}.", retry=False)
        host.name = template.computer_name
    host.address = template.address
    if host.status_reason == _reprovisioning_reason(ctx, host.name):
        host.status_reason = ""
    host.save()
    if template.allocation_id:
        IPAllocation.objects.filter(pk=template.allocation_id).update(host=host)
    file_server = c.cluster(ctx).kind == ClusterKind.SOFS
    for problem in refresh_host(host, hyperv=not file_server):
        ctx.log(problem, "warning")
    host.refresh_from_db()
    if host.os_build != build:
        raise StepFailed(f"{host.name} reports build {host.os_build}, not {build}. It is re-imaged but out of "
                         f"the cluster.", retry=False)
    return StepResult(f"{host.name} is managed again: {host.os_name} (build {host.os_build}), same record.")


# --- 7. join, resume, VMs back ------------------------------------------------------------------------

@register_step(JOIN, retries=2, title="Join the cluster, resume, bring the VMs back")
def join_node(ctx) -> StepResult:
    host, cluster = c.host(ctx), c.cluster(ctx)
    state = f"{host.name} runs the new release but is not a node of {cluster.name}"
    try:
        member = c.is_member(cluster, host.name, avoid=host.name)
        if member is None:
            ctx.ensure_lease()
            ctx.log(f"Add-ClusterNode {host.name} to {cluster.name}.")
            agents.cluster.add_node(cluster_connection(cluster, avoid=host.name), host.name)
        if host.cluster_id != cluster.pk:
            host.cluster = cluster
            host.save(update_fields=["cluster"])
        state = f"{host.name} is a node of {cluster.name} again"
        node = c.node(ctx, host, cluster)
        now = resume(ctx, node)
        evacuated = Evacuated.from_data(c.lane_data(ctx, EVACUATE))
        if cluster.kind == ClusterKind.SOFS or not evacuated.empty:
            back = for_cluster(cluster).return_vms(ctx, node, evacuated)
        else:
            back = "no VM to bring back"
    except agents.AgentError as error:
        raise c.failed(f"Joining {host.name} to {cluster.name} failed", error, f"{state}.") from error
    for problem in refresh_host(host):  # the cluster's page shows the node Up and mixed mode from now on
        ctx.log(problem, "warning")
    Host.objects.filter(pk=host.pk).update(failure_state="", failure_job=None)  # back in service
    return StepResult(f"{host.name} is {now} in {cluster.name}; {back}.")
