"""Step 5 of a node in a rolling upgrade: re-image it through its BMC and the deployment server, then
configure the new system over WinRM (features and their restart, the management switch, the
static address, DNS) and remove everything the deployment left on the deployment server. A file
server's node gets File Server and Failover Clustering, and its address on the NIC itself (no
virtual switch without Hyper-V).

Each phase is recorded in the step's data before it acts (staged, boot sent with the boot the
node had then, re-imaged, feature restart, configured), so a resumed step neither stages nor
power-cycles twice, and tells a power cycle that never went out from a node that is deploying.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError

from fabric import agents
from fabric.choices import ClusterKind
from fabric.models import Cluster, Host, IPAllocation, LibraryImage, StaticIPPool
from fabric.nodeops.hung import wait_or_power_cycle
from fabric.nodeops.live import host_connection, poll_seconds
from jobs.engine import StepFailed, StepResult, register_step
from upgrades.releases import by_build
from upgrades.rolling import PROVISION
from upgrades.steps import common as c
from upgrades.steps.records import DeploymentTemplate


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


def _file_server(ctx) -> bool:
    return Cluster.objects.filter(pk=ctx.params["cluster_id"], kind=ClusterKind.SOFS).exists()


def _features(ctx) -> tuple[str, ...]:
    return agents.provisioning.FILE_SERVER_FEATURES if _file_server(ctx) else agents.provisioning.CLUSTER_FEATURES


def _configure(ctx, host: Host, template: DeploymentTemplate, conn: agents.Connection) -> None:
    """Features (with their restart), then the management switch (none on a file server), address and DNS."""
    target = f"{template.computer_name} at {template.address}"
    features = _features(ctx)
    if not ctx.step.data.get("feature_restart"):
        states = agents.provisioning.feature_states(conn, features)
        if any(states.get(f) == "Available" or f not in states for f in features):
            ctx.ensure_lease()
            ctx.log(f"Install-WindowsFeature {', '.join(features)} on {target}.")
            agents.provisioning.install_features(conn, features)
            states = agents.provisioning.feature_states(conn, features)
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
            os_info = c.answers_on(conn)
            if os_info is None or os_info.last_boot is None:
                return False
            return not boot_before or os_info.last_boot.isoformat() > boot_before

        wait_or_power_cycle(ctx, restarted, c.restart_timeout(), poll_seconds(), name=template.computer_name,
                            waiting_for=f"{target} to restart with {', '.join(features)}",
                            bmc=c.bmc(ctx, host), key="hung_power_cycled_after_features")
        states = agents.provisioning.feature_states(conn, features)
        if any(states.get(f) != "Installed" for f in features):
            raise StepFailed(f"{target} still reports {states} after its restart.", retry=False)
        ctx.save_checkpoint(features_installed=True)
    switch = None if _file_server(ctx) else agents.provisioning.MANAGEMENT_SWITCH
    ctx.ensure_lease()
    agents.provisioning.configure_management_network(
        conn, adapter=template.adapter, address=template.address, prefix_length=template.prefix_length,
        gateway=template.gateway, dns=template.dns, switch=switch)
    ctx.save_checkpoint(configured=True)
    where = f"virtual switch {switch} on {template.adapter}" if switch else template.adapter
    ctx.log(f"{target}: {where}, static {template.address}"
            f"/{template.prefix_length}" + (f", DNS {', '.join(template.dns)}" if template.dns else "") + ".")


def _network_boot(ctx, host: Host, template: DeploymentTemplate, server, current, state: str) -> None:
    """Next boot from the network and a power cycle through the BMC, recorded before it is sent
    together with the boot the node's system had then, so that a resumed step can tell a cycle
    that never went out (the same boot still running) from a node that is deploying."""
    bmc = c.bmc(ctx, host)
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
                         f"re-imaged (the staging on {server.name} was removed).", retry=False,
                         node_state=f"{state}, not yet re-imaged") from None
    ctx.log(f"Next boot from the network, then a power cycle through the BMC of {host.name} ({bmc.where}).",
            "warning")


def _cycle_never_sent(ctx, host: Host) -> bool:
    """After a worker restart: the node's old system still answers with the boot recorded before the
    cycle, so the cycle never went out. A node that does not answer is deploying: leave it alone."""
    before = ctx.step.data.get("boot_before_deploy") or ""
    current = c.answers_on(host_connection(host))
    return bool(before) and current is not None and current.last_boot is not None and \
        current.last_boot.isoformat() == before


@register_step(PROVISION, retries=1, title="Re-image and configure the node")
def provision_node(ctx) -> StepResult:
    host = c.host(ctx)
    template = _with_address(ctx, host, c.template(ctx))
    try:
        return _provision(ctx, host, template)
    except StepFailed:
        if template.allocation_id and not ctx.step.data.get("boot_sent"):
            # never used: the node did not boot into the deployment
            IPAllocation.objects.filter(pk=template.allocation_id).delete()
            ctx.save_checkpoint(address="", allocation_id=None)
            ctx.log(f"Released {template.address} back to its pool: {host.name} never used it.")
        raise


def _with_address(ctx, host: Host, template: DeploymentTemplate) -> DeploymentTemplate:
    """Take the node's address from its pool now, when it is about to be used (once)."""
    if template.address or not template.pool_id:
        return template
    pool = StaticIPPool.objects.filter(pk=template.pool_id).first()
    if pool is None:
        raise StepFailed(f"The static IP pool of {host.name}'s address was deleted.", retry=False)
    try:
        allocation = pool.allocate(description=f"{host.name}, rolling upgrade job #{ctx.job.pk}", host=host)
    except ValidationError as error:
        raise StepFailed(f"{' '.join(error.messages)} {host.name} is evicted and out of management, not yet "
                         f"re-imaged.", retry=False, node_state="evicted and out of management, not yet re-imaged") from None
    ctx.save_checkpoint(address=allocation.address, allocation_id=allocation.pk)
    ctx.log(f"Took {allocation.address} from the pool {pool.name} for {host.name}.")
    template.address, template.allocation_id = allocation.address, allocation.pk
    return template


def _provision(ctx, host: Host, template: DeploymentTemplate) -> StepResult:
    build = c.target_build(ctx)
    release = by_build(build)
    server = _deployment_server(ctx, template)
    conn = c.at(host, template.address)
    state = f"{host.name} is evicted and out of management"
    data = ctx.step.data
    now = c.answers_on(conn) if data.get("boot_sent") or data.get("configured") else None
    try:
        if not data.get("boot_sent") and (now is None or now.build != build):
            current = c.answers_on(host_connection(host))
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
            _network_boot(ctx, host, template, server, c.answers_on(host_connection(host)), state)
        if not ctx.step.data.get("reimaged"):
            waiting = f"{template.computer_name} to come back on {release.name} at {template.address}"

            def deployed():
                os_info = c.answers_on(conn)
                if os_info is None:
                    return False
                if os_info.build != build:
                    return ("wrong", os_info)
                return ("ok", os_info)

            result = wait_or_power_cycle(ctx, deployed, c.deploy_timeout(), poll_seconds(), waiting_for=waiting,
                                         name=template.computer_name, bmc=c.bmc(ctx, host))
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
        raise c.failed(f"Provisioning {host.name} failed", error, f"{state}, {phase}.") from error
    host.address = template.address
    host.save(update_fields=["address"])
    what = ("File Server and Failover Clustering" if _file_server(ctx) else
            "Hyper-V, Failover Clustering and the management switch")
    return StepResult(f"{template.computer_name} runs {release.name} at {template.address} with {what}; the "
                      f"staging on {server.name} is removed.")
