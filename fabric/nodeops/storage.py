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


def wait_for_storage(ctx, cluster: Cluster, *, before: str, timeout: float = STORAGE_WAIT_SECONDS,
                     first=None) -> bool:
    """Before `before` leaves: no storage repair running, every virtual disk Healthy / OK, every CSV
    Online. The job page shows what is awaited; the log says what storage still does. `first`: a
    reading the caller already took (a StorageHealth, or the AgentError reading it raised), the
    first look. Returns True when it had to wait (what the caller read meanwhile is stale)."""
    seen = {"summary": ""}

    def healthy(reading=None):
        if reading is None:
            try:
                reading = storage_health_of(cluster, avoid=before)
            except agents.AgentError as error:
                reading = error
        if isinstance(reading, agents.AgentError):
            summary = f"could not read the storage health: {reading}"
        else:
            if reading.healthy:
                return True
            summary = reading.summary()
        if summary != seen["summary"]:
            seen["summary"] = summary
            ctx.log(f"Waiting for storage resync on {cluster.name} before {before} leaves: {summary}.")
        return False

    if healthy(first):
        return False
    ctx.wait_until(healthy, timeout, poll_seconds(), waiting_for=f"storage resync on {cluster.name}")
    ctx.log(f"Storage of {cluster.name} is healthy again; {before} may leave.")
    return True
