"""Storage Spaces Direct behind the cluster shared volumes: virtual disks, the repair jobs that resync
them after a node was away, and which SOFS shares are reachable at a given moment."""
from __future__ import annotations

import re
import time

from lab.datacenter.model import NODE_DOWN, Cluster, ClusterRole, Host, StorageJob
from lab.topology import _stable_uuid

# CIM_ConcreteJob's TimeBeforeRemoval default: a finished job stays listed five minutes.
COMPLETED_JOB_SECONDS = 300.0
# Bytes a repair copies per simulated second (only for BytesProcessed / BytesTotal).
RESYNC_BYTES_PER_SECOND = 200 * 2**20
VOLUME_IN_PATH = re.compile(r"^[a-z]:\\clusterstorage\\volume(\d+)(\\|$)", re.IGNORECASE)


class StorageOps:
    # -- hooks called by power changes ---------------------------------------------------------
    def storage_node_down(self, host: Host) -> None:
        cluster = self.cluster_of(host)
        if cluster is not None and cluster.s2d:
            cluster.down_since.setdefault(host.key, self.clock.elapsed())

    def storage_node_back(self, host: Host) -> None:
        """The node's disks rejoin the pool: every virtual disk resyncs what was written while it was
        away, in proportion to how long that was."""
        cluster = self.cluster_of(host)
        if cluster is None or not cluster.s2d or host.key not in cluster.down_since:
            return
        now = self.clock.elapsed()
        away = now - cluster.down_since.pop(host.key)
        if away <= 0:
            return
        duration = max(away * cluster.resync_ratio, cluster.resync_min_seconds)
        for csv in cluster.csvs:
            job = StorageJob(id=_stable_uuid("storagejob", cluster.name, csv.name, str(now)), name="Repair",
                             virtual_disk=csv.name, started=now, duration=duration,
                             size=int(duration * RESYNC_BYTES_PER_SECOND))
            cluster.storage_jobs.append(job)
        self.event("storage-resync-started", cluster=cluster.name, node=host.name,
                   away_seconds=round(away, 1), resync_seconds=round(duration, 1))

    # -- views ---------------------------------------------------------------------------------
    def job_progress(self, job: StorageJob) -> float:
        if job.duration <= 0:
            return 1.0
        return min(max((self.clock.elapsed() - job.started) / job.duration, 0.0), 1.0)

    def storage_jobs(self, cluster: Cluster) -> list[StorageJob]:
        """Running repairs, and finished ones until they are removed."""
        now = self.clock.elapsed()
        cluster.storage_jobs = [j for j in cluster.storage_jobs
                                if now < j.started + j.duration + COMPLETED_JOB_SECONDS]
        return list(cluster.storage_jobs)

    def repairing(self, cluster: Cluster, csv: ClusterRole) -> bool:
        return any(j.virtual_disk == csv.name and self.job_progress(j) < 1.0 for j in self.storage_jobs(cluster))

    def virtual_disk_status(self, cluster: Cluster, csv: ClusterRole) -> tuple[str, str]:
        """(HealthStatus, OperationalStatus): a copy missing while a node is down or evicted (its disks
        are away), then repairing."""
        if cluster.down_since or any(self.node_state(cluster, r) == NODE_DOWN for r in cluster.nodes):
            return "Warning", "Degraded"
        if self.repairing(cluster, csv):
            return "Warning", "InService"
        return "Healthy", "OK"

    def storage_job_views(self, cluster: Cluster) -> list[dict]:
        return [{"name": j.name, "virtual_disk": j.virtual_disk, "percent_complete": int(self.job_progress(j) * 100),
                 "running": self.job_progress(j) < 1.0} for j in self.storage_jobs(cluster)]

    # -- share availability (the share-unavailable invariant) -----------------------------------
    def share_backing(self, cluster: Cluster, share) -> tuple[ClusterRole | None, ClusterRole | None]:
        """The SOFS role serving a share (its scope) and the CSV its path is on."""
        role = next((r for r in cluster.sofs_roles if r.name.lower() == share.scope.lower()), None)
        match = VOLUME_IN_PATH.match(share.path)
        index = int(match.group(1)) if match else 0
        csv = cluster.csvs[index - 1] if 0 < index <= len(cluster.csvs) else None
        return role, csv

    def share_outage(self, cluster: Cluster, share) -> str | None:
        """Why a share cannot be reached now, or None."""
        now = time.monotonic()
        for what, item in zip(("role", "cluster shared volume"), self.share_backing(cluster, share)):
            if item is None:
                continue
            owner = self.hosts.get(item.owner)
            if owner is None or not owner.online or owner.cluster != cluster.key or not self.has_quorum(cluster):
                return f"its {what} {item.name} has no running owner node"
            if item.failover_until > now:
                return (f"its {what} {item.name} is failing over to {owner.name} (its node went down "
                        f"without moving it first)")
        return None
