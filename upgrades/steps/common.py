"""What every step of a node in a rolling upgrade needs: the request, the node, its template, its BMC."""
from __future__ import annotations

import os

from fabric import agents
from fabric.models import Cluster, Host, RunAsAccount
from fabric.nodeops.live import cluster_connection, host_connection
from fabric.nodeops.nodes import NodeTarget
from jobs.engine import StepFailed
from jobs.models import JobStep
from upgrades.request import NodeSettings, UpgradeRequest
from upgrades.rolling import PROVISION, RECORD
from upgrades.steps.records import DeploymentTemplate


def deploy_timeout() -> float:
    """Seconds a node may take to come back re-imaged (FERRY_DEPLOY_TIMEOUT_SECONDS)."""
    return float(os.environ.get("FERRY_DEPLOY_TIMEOUT_SECONDS", "5400"))


def restart_timeout() -> float:
    return float(os.environ.get("FERRY_RESTART_TIMEOUT_SECONDS", "1800"))


def request(ctx) -> UpgradeRequest:
    return UpgradeRequest.from_dict(ctx.params["request"])


def settings(ctx) -> NodeSettings:
    for settings in request(ctx).nodes:
        if settings.host_id == ctx.params["host_id"]:
            return settings
    raise StepFailed("This node is not in the upgrade request.", retry=False)


def host(ctx) -> Host:
    host = Host.objects.select_related("run_as", "cluster__run_as").filter(pk=ctx.params["host_id"]).first()
    if host is None:
        raise StepFailed("The host record of this node was deleted: the upgrade cannot go on with it.", retry=False)
    return host


def cluster(ctx) -> Cluster:
    cluster = Cluster.objects.select_related("run_as").filter(pk=ctx.params["cluster_id"]).first()
    if cluster is None:
        raise StepFailed("The cluster is no longer managed by Ferry.", retry=False)
    return cluster


def lane_data(ctx, name: str) -> dict:
    return (JobStep.objects.filter(job_id=ctx.job.pk, name=name, parent_id=ctx.step.parent_id)
            .values_list("data", flat=True).first() or {})


def template(ctx) -> DeploymentTemplate:
    """The node's deployment template; an address from a pool is the one provisioning took."""
    template = DeploymentTemplate.from_data(lane_data(ctx, RECORD).get("template"))
    if template is None:
        raise StepFailed("The node's configuration was not recorded: run its first step again.", retry=False)
    if not template.address:
        taken = lane_data(ctx, PROVISION)
        template.address, template.allocation_id = taken.get("address", ""), taken.get("allocation_id")
    return template


def target_build(ctx) -> int:
    return int(ctx.params["target_build"])


def failed(what: str, error: agents.AgentError, state: str) -> StepFailed:
    return StepFailed(f"{what}: {str(error).rstrip('.')}. {state}", retry=error.transient, node_state=state)


def bmc(ctx, host: Host) -> agents.bmc.BMCTarget:
    chosen = settings(ctx)
    run_as = RunAsAccount.objects.filter(pk=request(ctx).bmc_run_as_id).first()
    if run_as is None:
        raise StepFailed("The BMC Run As account of this upgrade was deleted.", retry=False)
    return agents.bmc.BMCTarget(chosen.bmc_address, chosen.bmc_port, run_as.username, run_as.password,
                                run_as.name)


def at(host: Host, address: str) -> agents.Connection:
    return host_connection(host).with_address(address)


def answers_on(conn: agents.Connection):
    """The OS answering at `conn` (None while it does not)."""
    try:
        return agents.hostinfo.get_os(conn)
    except agents.AgentError:
        return None


def node(ctx, host: Host, cluster: Cluster) -> NodeTarget:
    return NodeTarget(host, cluster)


def is_member(cluster: Cluster, name: str, *, avoid: str) -> str | None:
    """The node's state in the cluster, None when it is not a member."""
    conn = cluster_connection(cluster, avoid=avoid)
    for node in agents.cluster.get_cluster_nodes(conn):
        if node.name.lower() == name.lower():
            return node.state
    return None


