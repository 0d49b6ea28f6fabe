"""A node's seven steps in a rolling upgrade (one swimlane per node), as the seed describes them:

1. record the node's configuration into a deployment template;  2. evacuate (the planner);
3. pause and evict (Remove-ClusterNode);  4. remove from management (the host record stays);
5. provision: WDS prestaging + DHCP reservation, PXE through the BMC, wait for the new release,
   features and the management network over WinRM, then the staging (which may hold secrets) removed;
6. back under management (same record, new OS);  7. Add-ClusterNode, resume, the VMs back.

Every step looks before it acts, so a retried or resumed step does only what is left: an evicted
node is not evicted again, a node already on the target release is not re-imaged again, and the
power cycle that starts a deployment is recorded before it is sent and never sent twice.
"""
from __future__ import annotations

import ipaddress
import os

from fabric import agents
from fabric.choices import HostStatus
from fabric.inventory import refresh_host
from fabric.models import Cluster, Host, IPAllocation, LibraryImage, PhysicalComputerProfile, StaticIPPool, Subnet
from fabric.nodeops.hung import wait_or_power_cycle
from fabric.nodeops.live import cluster_connection, host_connection, poll_seconds, read_live_cluster
from fabric.nodeops.nodes import NodeTarget, pause, resume
from fabric.nodeops.records import Evacuated
from fabric.nodeops.workloads import for_cluster
from jobs.engine import StepFailed, StepResult, register_step
from jobs.models import JobStep
from upgrades.releases import by_build
from upgrades.request import POOL, NodeSettings, UpgradeRequest
from upgrades.rolling import EVACUATE, EVICT, JOIN, MANAGE, PROVISION, RECORD, UNMANAGE
from upgrades.steps.records import DeploymentTemplate


def deploy_timeout() -> float:
    """Seconds a node may take to come back re-imaged (FERRY_DEPLOY_TIMEOUT_SECONDS)."""
    return float(os.environ.get("FERRY_DEPLOY_TIMEOUT_SECONDS", "5400"))


def restart_timeout() -> float:
    return float(os.environ.get("FERRY_RESTART_TIMEOUT_SECONDS", "1800"))


# --- what every node step needs ---------------------------------------------------------------------

def _request(ctx) -> UpgradeRequest:
    return UpgradeRequest.from_dict(ctx.params["request"])


def _settings(ctx) -> NodeSettings:
    for settings in _request(ctx).nodes:
        if settings.host_id == ctx.params["host_id"]:
            return settings
    raise StepFailed("This node is not in the upgrade request.", retry=False)


def _host(ctx) -> Host:
    host = Host.objects.select_related("run_as", "cluster__run_as").filter(pk=ctx.params["host_id"]).first()
    if host is None:
        raise StepFailed("The host record of this node was deleted: the upgrade cannot go on with it.", retry=False)
    return host


def _cluster(ctx) -> Cluster:
    cluster = Cluster.objects.select_related("run_as").filter(pk=ctx.params["cluster_id"]).first()
    if cluster is None:
        raise StepFailed("The cluster is no longer managed by Ferry.", retry=False)
    return cluster


def _lane_data(ctx, name: str) -> dict:
    return (JobStep.objects.filter(job_id=ctx.job.pk, name=name, parent_id=ctx.step.parent_id)
            .values_list("data", flat=True).first() or {})


def _template(ctx) -> DeploymentTemplate:
    template = DeploymentTemplate.from_data(_lane_data(ctx, RECORD).get("template"))
    if template is None:
        raise StepFailed("The node's configuration was not recorded: run its first step again.", retry=False)
    return template


def _target_build(ctx) -> int:
    return int(ctx.params["target_build"])


def _failed(what: str, error: agents.AgentError, state: str) -> StepFailed:
    return StepFailed(f"{what}: {str(error).rstrip('.')}. {state}", retry=error.transient)


def _bmc(ctx, host: Host) -> agents.bmc.BMCTarget:
    from fabric.models import RunAsAccount

    settings = _settings(ctx)
    run_as = RunAsAccount.objects.filter(pk=_request(ctx).bmc_run_as_id).first()
    if run_as is None:
        raise StepFailed("The BMC Run As account of this upgrade was deleted.", retry=False)
    return agents.bmc.BMCTarget(settings.bmc_address, settings.bmc_port, run_as.username, run_as.password,
                                run_as.name)


def _at(host: Host, address: str) -> agents.Connection:
    return host_connection(host).with_address(address)


def _answers_on(conn: agents.Connection):
    """The OS answering at `conn` (None while it does not)."""
    try:
        return agents.hostinfo.get_os(conn)
    except agents.AgentError:
        return None


def _node(ctx, host: Host, cluster: Cluster) -> NodeTarget:
    return NodeTarget(host, cluster)


def _is_member(cluster: Cluster, name: str, *, avoid: str) -> str | None:
    """The node's state in the cluster, None when it is not a member."""
    conn = cluster_connection(cluster, avoid=avoid)
    for node in agents.cluster.get_cluster_nodes(conn):
        if node.name.lower() == name.lower():
            return node.state
    return None


# --- 1. record ----------------------------------------------------------------------------------------

def _address(settings: NodeSettings, subnet: Subnet, host: Host, ctx) -> tuple[str, int | None]:
    if settings.ip != POOL:
        return settings.ip, None
    pool = StaticIPPool.objects.filter(subnet=subnet).order_by("name").first()
    if pool is None:
        raise StepFailed(f"The subnet {subnet.name} has no static IP pool to take {host.name}'s address from.",
                         retry=False)
    allocation = pool.allocate(description=f"{host.name}, rolling upgrade job #{ctx.job.pk}", host=host)
    ctx.log(f"Took {allocation.address} from the pool {pool.name} for {host.name}.")
    return allocation.address, allocation.pk


@register_step(RECORD, retries=2, title="Record the node's configuration")
def record_configuration(ctx) -> StepResult:
    host = _host(ctx)
    done = DeploymentTemplate.from_data(ctx.step.data.get("template"))
    if done is not None:
        return StepResult(f"{host.name}'s deployment template was recorded already.", skipped=True)
    settings = _settings(ctx)
    request = _request(ctx)
    profile = PhysicalComputerProfile.objects.filter(pk=request.profile_id).first()
    image = LibraryImage.objects.filter(pk=request.image_id or (profile.image_id if profile else None)).first()
    subnet = Subnet.objects.filter(pk=settings.subnet_id).first()
    if profile is None or image is None or subnet is None:
        raise StepFailed("The profile, image or subnet of this upgrade was deleted.", retry=False)
    ctx.ensure_lease()
    try:
        config = agents.provisioning.read_configuration(host_connection(host))
    except agents.AgentError as error:
        raise _failed(f"Could not read the configuration of {host.name}", error,
                      f"{host.name} is unchanged.") from error
    mac = agents.deployment.windows_mac(settings.management_mac)
    nic = next((n for n in config.nics if n.mac and agents.deployment.windows_mac(n.mac) == mac
                and not n.name.lower().startswith("vethernet")), None)
    if nic is None:
        found = ", ".join(f"{n.name} {n.mac}" for n in config.nics) or "none"
        raise StepFailed(f"{host.name} has no NIC with the management MAC {mac} (its NICs: {found}); correct the "
                         f"MAC in the upgrade's settings.", retry=False)
    address, allocation = _address(settings, subnet, host, ctx)
    recorded_dns = next((n.dns for n in config.nics if n.dns), [])
    template = DeploymentTemplate(
        node=host.name, computer_name=settings.new_name or host.name, mac=mac, adapter=nic.name,
        address=address, prefix_length=subnet.network.prefixlen, gateway=subnet.gateway or "",
        dns=subnet.dns_list() or recorded_dns, vlan=subnet.vlan, image_name=image.image_name,
        image_group=image.image_group, build=image.os_build, from_build=config.build, domain=profile.domain,
        disk=next((d["number"] for d in config.disks if d.get("boot")), 0) or 0, allocation_id=allocation,
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
    host, cluster = _host(ctx), _cluster(ctx)
    if host.cluster_id is None or _is_member(cluster, host.name, avoid=host.name) is None:
        return StepResult(f"{host.name} is no longer a node of {cluster.name}: nothing to evacuate.", skipped=True)
    workloads = for_cluster(cluster)
    node = _node(ctx, host, cluster)
    try:
        return StepResult(workloads.evacuate_cluster_node(ctx, node, save_state=False))
    except agents.AgentError as error:
        raise _failed(f"Evacuating {host.name} failed", error, f"{host.name} is still a node of {cluster.name}.") \
            from error


# --- 3. evict -----------------------------------------------------------------------------------------

@register_step(EVICT, retries=2, title="Pause and evict the node")
def evict_node(ctx) -> StepResult:
    host, cluster = _host(ctx), _cluster(ctx)
    try:
        state = _is_member(cluster, host.name, avoid=host.name)
        if state is None:
            return StepResult(f"{host.name} was evicted already.", skipped=True)
        running = [vm.name for vm in agents.hyperv.get_vms(host_connection(host))
                   if vm.state in ("Running", "Paused")]
        if running:
            raise StepFailed(f"{host.name} still runs {', '.join(running)}: it is not evicted while it holds "
                             f"running VMs. It is paused, still a node of {cluster.name}.", retry=False)
        node = _node(ctx, host, cluster)
        pause(ctx, node, read_live_cluster(cluster, avoid=host.name))
        ctx.ensure_lease()
        ctx.log(f"Remove-ClusterNode {host.name} from {cluster.name}.", "warning")
        agents.cluster.remove_node(cluster_connection(cluster, avoid=host.name), host.name)
    except agents.AgentError as error:
        raise _failed(f"Evicting {host.name} failed", error, f"{host.name} is paused, still a node of "
                                                            f"{cluster.name}.") from error
    return StepResult(f"{host.name} is evicted from {cluster.name}.")


# --- 4. remove from management ------------------------------------------------------------------------

def _reprovisioning_reason(ctx, host_name: str) -> str:
    return f"Being reprovisioned by rolling upgrade job #{ctx.job.pk}"


@register_step(UNMANAGE, title="Remove the node from management")
def remove_from_management(ctx) -> StepResult:
    host = _host(ctx)
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


# --- 5. provision -------------------------------------------------------------------------------------

def _deployment_server(ctx, template: DeploymentTemplate):
    image = LibraryImage.objects.select_related("deployment_server__run_as").filter(
        image_name=template.image_name, image_group=template.image_group, deployment_server__isnull=False).first()
    if image is None:
        raise StepFailed(f"No deployment server holds the image {template.image_name} any more.", retry=False)
    return image.deployment_server


def _stage(ctx, host: Host, template: DeploymentTemplate, server) -> None:
    conn = agents.Connection.for_endpoint(server)
    answer = agents.provisioning.client_unattend(template.image_name, template.image_group, template.disk)
    ctx.ensure_lease()
    agents.deployment.stage_deployment(
        conn, mac=template.mac, device_name=template.computer_name, answer_file=answer,
        remote_install=server.remote_install_path, join_domain=bool(template.domain), domain=template.domain or None)
    scope = agents.provisioning.dhcp_scope_for(conn, template.address)
    agents.provisioning.reserve_address(conn, scope=scope, address=template.address, mac=template.mac,
                                        name=template.computer_name)
    ctx.save_checkpoint(staged=True, scope=scope)
    ctx.log(f"Prestaged {template.computer_name} ({template.mac}) on {server.name} with a windowsPE-only answer "
            f"file; DHCP reservation {template.address}.")


def _unstage(ctx, template: DeploymentTemplate, server) -> None:
    """The prestaged device, its answer file and the reservation go: nothing of the deployment stays."""
    conn = agents.Connection.for_endpoint(server)
    agents.deployment.unstage_deployment(conn, mac=template.mac, remote_install=server.remote_install_path)
    scope = ctx.step.data.get("scope") or agents.provisioning.dhcp_scope_for(conn, template.address)
    agents.provisioning.release_address(conn, scope=scope, mac=template.mac)


def _configure(ctx, host: Host, template: DeploymentTemplate, conn: agents.Connection) -> None:
    """Features (with their restart), then the management switch, address and DNS."""
    target = f"{template.computer_name} at {template.address}"
    features = agents.provisioning.CLUSTER_FEATURES
    if not ctx.step.data.get("feature_restart"):
        states = agents.provisioning.feature_states(conn)
        if any(states.get(f) == "Available" or f not in states for f in features):
            ctx.ensure_lease()
            ctx.log(f"Install-WindowsFeature Hyper-V, Failover-Clustering on {target}.")
            agents.provisioning.install_features(conn)
            states = agents.provisioning.feature_states(conn)
        if any(states.get(f) == "InstallPending" for f in features):
            before = agents.hostinfo.get_os(conn).last_boot
            # recorded before it is sent: a resumed step waits for this restart instead of asking again
            ctx.save_checkpoint(feature_restart=True, boot_before=before.isoformat() if before else "")
            ctx.ensure_lease()
            agents.hostinfo.restart_computer(conn)
            ctx.log(f"Restarted {target} to finish installing the features.")
    if ctx.step.data.get("feature_restart") and not ctx.step.data.get("features_installed"):
        boot_before = ctx.step.data.get("boot_before") or ""

        def restarted():
            os_info = _answers_on(conn)
            if os_info is None or os_info.last_boot is None:
                return False
            return not boot_before or os_info.last_boot.isoformat() > boot_before

        wait_or_power_cycle(ctx, restarted, restart_timeout(), poll_seconds(), name=template.computer_name,
                            waiting_for=f"{target} to restart with Hyper-V and Failover Clustering",
                            bmc=_bmc(ctx, host), key="hung_power_cycled_after_features")
        states = agents.provisioning.feature_states(conn)
        if any(states.get(f) != "Installed" for f in features):
            raise StepFailed(f"{target} still reports {states} after its restart.", retry=False)
        ctx.save_checkpoint(features_installed=True)
    ctx.ensure_lease()
    agents.provisioning.configure_management_network(
        conn, adapter=template.adapter, address=template.address, prefix_length=template.prefix_length,
        gateway=template.gateway, dns=template.dns)
    ctx.save_checkpoint(configured=True)
    ctx.log(f"{target}: virtual switch Management on {template.adapter}, static {template.address}"
            f"/{template.prefix_length}" + (f", DNS {', '.join(template.dns)}" if template.dns else "") + ".")


def _network_boot(ctx, host: Host, template: DeploymentTemplate, server, current, state: str) -> None:
    """Next boot from the network and a power cycle through the BMC, recorded before it is sent
    together with the boot the node's system had then, so that a resumed step can tell a cycle
    that never went out (the same boot still running) from a node that is deploying."""
    bmc = _bmc(ctx, host)
    before = current.last_boot.isoformat() if current is not None and current.last_boot else ""
    ctx.save_checkpoint(boot_sent=True, boot_before_deploy=before)   # before acting: never cycled twice
    ctx.ensure_lease()
    try:
        agents.bmc.set_next_boot_network(bmc)
        if agents.bmc.power_state(bmc) == "on":
            agents.bmc.power_cycle(bmc)
        else:
            agents.bmc.power_on(bmc)
    except agents.AgentError as error:
        ctx.save_checkpoint(boot_sent=False)   # nothing started: the next attempt may try again
        _unstage(ctx, template, server)
        raise StepFailed(f"The BMC of {host.name} refused the network boot: {error}. {state}, not yet "
                         f"re-imaged (the staging on {server.name} was removed).", retry=False) from None
    ctx.log(f"Next boot from the network, then a power cycle through the BMC of {host.name} ({bmc.where}).",
            "warning")


def _cycle_never_sent(ctx, host: Host) -> bool:
    """After a worker restart: the node's old system still answers with the boot recorded before the
    cycle, so the cycle never went out. A node that does not answer is deploying: leave it alone."""
    before = ctx.step.data.get("boot_before_deploy") or ""
    current = _answers_on(host_connection(host))
    return bool(before) and current is not None and current.last_boot is not None and \
        current.last_boot.isoformat() == before


@register_step(PROVISION, retries=1, title="Re-image and configure the node")
def provision_node(ctx) -> StepResult:
    host = _host(ctx)
    template = _template(ctx)
    build = _target_build(ctx)
    release = by_build(build)
    server = _deployment_server(ctx, template)
    conn = _at(host, template.address)
    state = f"{host.name} is evicted and out of management"
    data = ctx.step.data
    now = _answers_on(conn) if data.get("boot_sent") or data.get("configured") else None
    try:
        if not data.get("boot_sent") and (now is None or now.build != build):
            current = _answers_on(host_connection(host))
            if current is not None and current.build == build:
                ctx.log(f"{host.name} already runs {release.name} (build {build}): not re-imaged again.")
                conn = host_connection(host)
                ctx.save_checkpoint(boot_sent=True, reimaged=True)
            else:
                _stage(ctx, host, template, server)
                _network_boot(ctx, host, template, server, current, state)
        elif data.get("boot_sent") and not data.get("reimaged") and _cycle_never_sent(ctx, host):
            ctx.log(f"The power cycle recorded for {host.name} was never sent (its system still runs the boot it "
                    f"had before): sending it now.", "warning")
            _network_boot(ctx, host, template, server, _answers_on(host_connection(host)), state)
        if not ctx.step.data.get("reimaged"):
            waiting = f"{template.computer_name} to come back on {release.name} at {template.address}"

            def deployed():
                os_info = _answers_on(conn)
                if os_info is None:
                    return False
                if os_info.build != build:
                    return ("wrong", os_info)
                return ("ok", os_info)

            result = wait_or_power_cycle(ctx, deployed, deploy_timeout(), poll_seconds(), waiting_for=waiting,
                                         name=template.computer_name, bmc=_bmc(ctx, host))
            if result[0] == "wrong" and result[1].build == template.from_build:
                raise StepFailed(f"{template.computer_name} started its old system ({result[1].caption}, build "
                                 f"{result[1].build}) from its disk: it never picked up the deployment (the "
                                 f"network boot set through its BMC was not used). {state}, not re-imaged; the "
                                 f"staging stays on {server.name}.", retry=False)
            if result[0] == "wrong":
                raise StepFailed(f"{template.computer_name} came back at {template.address} with build "
                                 f"{result[1].build} ({result[1].caption}), not {build} ({release.name}): the "
                                 f"deployment server gave it another image. {state}; the staging stays on "
                                 f"{server.name} for a look.", retry=False)
            ctx.save_checkpoint(reimaged=True)
            ctx.log(f"{template.computer_name} runs {release.name} (build {build}).")
        if not ctx.step.data.get("configured"):
            _configure(ctx, host, template, conn)
        _unstage(ctx, template, server)
    except agents.AgentError as error:
        phase = ("re-imaged, not yet configured" if ctx.step.data.get("reimaged") else
                 "deploying" if ctx.step.data.get("boot_sent") else "not yet re-imaged")
        raise _failed(f"Provisioning {host.name} failed", error, f"{state}, {phase}.") from error
    host.address = template.address
    host.save(update_fields=["address"])
    return StepResult(f"{template.computer_name} runs {release.name} at {template.address} with Hyper-V, "
                      f"Failover Clustering and the management switch; the staging on {server.name} is removed.")


# --- 6. back under management -------------------------------------------------------------------------

@register_step(MANAGE, retries=2, title="Bring the node back under management")
def manage_node(ctx) -> StepResult:
    host = _host(ctx)
    template = _template(ctx)
    build = _target_build(ctx)
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
    for problem in refresh_host(host):
        ctx.log(problem, "warning")
    host.refresh_from_db()
    if host.os_build != build:
        raise StepFailed(f"{host.name} reports build {host.os_build}, not {build}. It is re-imaged but out of "
                         f"the cluster.", retry=False)
    return StepResult(f"{host.name} is managed again: {host.os_name} (build {host.os_build}), same record.")


# --- 7. join, resume, VMs back ------------------------------------------------------------------------

@register_step(JOIN, retries=2, title="Join the cluster, resume, bring the VMs back")
def join_node(ctx) -> StepResult:
    host, cluster = _host(ctx), _cluster(ctx)
    state = f"{host.name} runs the new release but is not a node of {cluster.name}"
    try:
        member = _is_member(cluster, host.name, avoid=host.name)
        if member is None:
            ctx.ensure_lease()
            ctx.log(f"Add-ClusterNode {host.name} to {cluster.name}.")
            agents.cluster.add_node(cluster_connection(cluster, avoid=host.name), host.name)
        if host.cluster_id != cluster.pk:
            host.cluster = cluster
            host.save(update_fields=["cluster"])
        state = f"{host.name} is a node of {cluster.name} again"
        node = _node(ctx, host, cluster)
        now = resume(ctx, node)
        evacuated = Evacuated.from_data(_lane_data(ctx, EVACUATE))
        back = for_cluster(cluster).return_vms(ctx, node, evacuated) if not evacuated.empty else "no VM to bring back"
    except agents.AgentError as error:
        raise _failed(f"Joining {host.name} to {cluster.name} failed", error, f"{state}.") from error
    return StepResult(f"{host.name} is {now} in {cluster.name}; {back}.")
