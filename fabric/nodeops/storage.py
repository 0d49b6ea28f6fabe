"""Storage health between nodes: after a node of a cluster with Storage Spaces Direct comes back its
disks resync, and the next node may leave only once no repair job runs, every virtual disk is
Healthy / OK and every cluster shared volume Online. Any cluster kind (Hyper-V nodes can hold S2D
storage too); a cluster without Storage Spaces only has its CSVs checked.
"""
from __future__ import annotations

from fabric import agents
from fabric.models import Cluster
from fabric.nodeops.live import cluster_connection, poll_seconds

# A resync after a long absence can take hours; past this the job stops and says what storage does.
STORAGE_WAIT_SECONDS = 6 * 3600


def storage_health_of(cluster: Cluster, avoid: str = "") -> agents.storage.StorageHealth:
    return agents.storage.storage_health(cluster_connection(cluster, avoid=avoid))


def wait_for_storage(ctx, cluster: Cluster, *, before: str, timeout: float = STORAGE_WAIT_SECONDS) -> None:
    """Before `before` leaves: no storage repair running, every virtual disk Healthy / OK, every CSV
    Online. The job page shows what is awaited; the log says what storage still does."""
    seen = {"summary": ""}

    def healthy():
        try:
            health = storage_health_of(cluster, avoid=before)
        except agents.AgentError as error:
            summary = f"could not read the storage health: {error}"
        else:
            if health.healthy:
                return True
            summary = health.summary()
        if summary != seen["summary"]:
            seen["summary"] = summary
            ctx.log(f"Waiting for storage resync on {cluster.name} before {before} leaves: {summary}.")
        return False

    if healthy():
        return
    ctx.wait_until(healthy, timeout, poll_seconds(), waiting_for=f"storage resync on {cluster.name}")
    ctx.log(f"Storage of {cluster.name} is healthy again; {before} may leave.")
