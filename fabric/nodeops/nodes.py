"""Taking a cluster node out of service and back, whatever the cluster runs: pause, resume.

Every function looks at the real state first, so running it again (a retry, a resumed job) does
only what is still needed.
"""
from __future__ import annotations

from dataclasses import dataclass

from fabric import agents
from fabric.models import Cluster, Host
from fabric.nodeops.live import LiveCluster, cluster_connection
from jobs.engine import StepFailed


@dataclass
class NodeTarget:
    """The node a step works on, with the names the cluster itself uses."""

    host: Host
    cluster: Cluster | None
    was_paused: bool = False  # in maintenance before the job started: left paused at the end

    @property
    def name(self) -> str:
        return self.host.name

    def cluster_conn(self, live: LiveCluster | None = None) -> agents.Connection:
        return cluster_connection(self.cluster, avoid=self.name, states=live.nodes if live else None)

    def live_name(self, live: LiveCluster) -> str:
        for name in live.nodes:
            if name.lower() == self.name.lower():
                return name
        raise StepFailed(f"{self.name} is no longer a node of {self.cluster.name}.", retry=False)


def pause(ctx, node: NodeTarget, live: LiveCluster) -> None:
    name = node.live_name(live)
    if live.nodes[name] == "Paused":
        return
    ctx.ensure_lease()
    result = agents.cluster.suspend_node(node.cluster_conn(live), name, drain=False)
    if result.state != "Paused":
        raise StepFailed(f"{name} is {result.state} after Suspend-ClusterNode; it should be Paused.")
    ctx.log(f"Paused {name} (no new roles are placed on it).")


def resume(ctx, node: NodeTarget) -> str:
    conn = cluster_connection(node.cluster, avoid=node.name)
    current = agents.cluster.get_cluster_node(conn, node.name)
    if current.state == "Up":
        return "Up"
    if current.state != "Paused":
        raise StepFailed(
            f"{node.name} is {current.state} in the cluster; it can only be resumed once it is back (Paused)."
        )
    ctx.ensure_lease()
    result = agents.cluster.resume_node(conn, node.name, failback="NoFailback")
    ctx.log(f"Resumed {node.name}: {result.state}.")
    return result.state


def rollback_pause(ctx, node: NodeTarget) -> None:
    """Resume a node whose evacuation failed, unless it was in maintenance before the job."""
    if node.was_paused:
        return
    try:
        resume(ctx, node)
    except (agents.AgentError, StepFailed) as error:
        ctx.log(f"Could not resume {node.name} after the failed evacuation: {error}", "error")
