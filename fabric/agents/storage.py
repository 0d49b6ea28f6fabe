"""Scale-Out File Server: its SMB shares and the cluster shared volumes behind them."""
import re
from dataclasses import dataclass

from fabric.agents.connection import Connection
from fabric.agents.parsing import (
    AVAILABILITY_TYPE,
    CSV_STATE,
    HEALTH_STATUS,
    OPERATIONAL_STATUS,
    SHARE_STATE,
    STORAGE_JOB_STATE,
    Reader,
)
from fabric.agents.quoting import ps_str
from fabric.agents.runner import run_script
from fabric.agents.scripting import as_string, select


@dataclass(frozen=True)
class SmbShare:
    name: str
    scope_name: str  # the SOFS access point ("*" for an ordinary share)
    path: str
    continuously_available: bool
    state: str  # Online, Offline, Pending
    availability: str  # ScaleOut, Clustered, NonClustered, ...

    @property
    def is_scale_out(self) -> bool:
        return self.availability == "ScaleOut"


@dataclass(frozen=True)
class SharedVolume:
    name: str
    id: str
    owner_node: str
    state: str  # Online, Offline, Failed, ...


SHARE_PROPERTIES = select("Name", as_string("ScopeName"), as_string("Path"), "ContinuouslyAvailable",
                          as_string("ShareState"), as_string("AvailabilityType"))
CSV_PROPERTIES = select("Name", as_string("Id"), as_string("OwnerNode", "OwnerNode.Name"), as_string("State"))


def read_share(r: Reader, rec: dict) -> SmbShare:
    return SmbShare(
        name=r.get(rec, "Name"),
        scope_name=r.get(rec, "ScopeName", required=False, default="*"),
        path=r.get(rec, "Path", required=False, default=""),
        continuously_available=r.get(rec, "ContinuouslyAvailable", bool, required=False, default=False),
        state=r.enum(rec, "ShareState", SHARE_STATE, required=False, default="Online"),
        availability=r.enum(rec, "AvailabilityType", AVAILABILITY_TYPE, required=False, default="NonClustered"),
    )


def read_csv(r: Reader, rec: dict) -> SharedVolume:
    return SharedVolume(
        name=r.get(rec, "Name"),
        id=r.get(rec, "Id", required=False, default=""),
        owner_node=r.get(rec, "OwnerNode", required=False, default=""),
        state=r.enum(rec, "State", CSV_STATE, required=False),
    )


def get_smb_shares(conn: Connection) -> list[SmbShare]:
    """Every SMB share on the machine (filter with `.is_scale_out` for the SOFS ones)."""
    op = "Get-SmbShare"
    value = run_script(conn, f"$result = @(Get-SmbShare | {SHARE_PROPERTIES})", operation=op)
    r = Reader(op, conn.where)
    return [read_share(r, rec) for rec in r.records(value)]


def get_cluster_shared_volumes(conn: Connection) -> list[SharedVolume]:
    op = "Get-ClusterSharedVolume"
    value = run_script(conn, f"$result = @(Get-ClusterSharedVolume | {CSV_PROPERTIES})", operation=op)
    r = Reader(op, conn.where)
    return [read_csv(r, rec) for rec in r.records(value)]


def move_cluster_shared_volume(conn: Connection, name: str, node: str | None = None, *,
                               timeout: float = 600) -> SharedVolume:
    """Move a CSV's ownership to `node` (or let the cluster choose); no-op when already there."""
    volume = ps_str(name, what="volume name")
    if node:
        target = ps_str(node, what="node name")
        act = (f"$csv = Get-ClusterSharedVolume -Name {volume}\n"
               f"if ($csv.OwnerNode.Name -ne {target}) {{ $null = Move-ClusterSharedVolume -Name {volume} "
               f"-Node {target} }}")
    else:
        act = f"$null = Move-ClusterSharedVolume -Name {volume}"
    op = f"Move-ClusterSharedVolume {name}"
    value = run_script(conn, f"{act}\n$result = Get-ClusterSharedVolume -Name {volume} | {CSV_PROPERTIES}",
                       operation=op, timeout=timeout, idempotent=bool(node))
    r = Reader(op, conn.where)
    return read_csv(r, r.record(value))


@dataclass(frozen=True)
class StorageJob:
    name: str  # "Repair", "Regeneration", "Rebalance", ...
    state: str  # Running, Completed, Suspended, ...
    percent_complete: int
    is_background_task: bool
    bytes_processed: int | None
    bytes_total: int | None

    @property
    def running(self) -> bool:
        """Not finished: a repair that is new, running or suspended still has data to resync."""
        return self.state not in FINISHED_JOB_STATES


@dataclass(frozen=True)
class VirtualDisk:
    friendly_name: str
    health_status: str  # Healthy, Warning, Unhealthy, Unknown
    operational_status: tuple[str, ...]  # OK; Degraded, InService, Incomplete, Detached, ...

    @property
    def healthy(self) -> bool:
        return self.health_status == "Healthy" and self.operational_status == ("OK",)


@dataclass(frozen=True)
class StorageHealth:
    """What must be true before another node of the cluster may leave: no repair running, every
    virtual disk Healthy / OK, every cluster shared volume Online."""
    jobs: tuple[StorageJob, ...]
    virtual_disks: tuple[VirtualDisk, ...]
    volumes: tuple[SharedVolume, ...]

    @property
    def running_jobs(self) -> list[StorageJob]:
        return [j for j in self.jobs if j.running]

    @property
    def healthy(self) -> bool:
        return (not self.running_jobs and all(d.healthy for d in self.virtual_disks)
                and all(v.state == "Online" for v in self.volumes))

    def summary(self) -> str:
        """One line for the job page: what storage is still doing."""
        if self.healthy:
            return "storage healthy"
        parts = [f"{j.name} job {j.percent_complete} %" for j in self.running_jobs]
        parts += [f"virtual disk {d.friendly_name} {d.health_status}/{'+'.join(d.operational_status)}"
                  for d in self.virtual_disks if not d.healthy]
        parts += [f"volume {v.name} {v.state}" for v in self.volumes if v.state != "Online"]
        return ", ".join(parts)


FINISHED_JOB_STATES = ("Completed", "Terminated", "Killed", "Exception")
# JobState stays a number through [string] (no type data names it); HealthStatus and OperationalStatus
# come named from the Storage module's type data. The readers take either.
JOB_PROPERTIES = select("Name", as_string("JobState"), "PercentComplete", "IsBackgroundTask", "BytesProcessed",
                        "BytesTotal")
VDISK_PROPERTIES = select("FriendlyName", as_string("HealthStatus"), as_string("OperationalStatus"))


def read_job(r: Reader, rec: dict) -> StorageJob:
    return StorageJob(
        name=r.get(rec, "Name", required=False, default=""),
        state=r.enum(rec, "JobState", STORAGE_JOB_STATE),
        percent_complete=r.get(rec, "PercentComplete", int, required=False, default=0),
        is_background_task=r.get(rec, "IsBackgroundTask", bool, required=False, default=False),
        bytes_processed=r.get(rec, "BytesProcessed", int, required=False),
        bytes_total=r.get(rec, "BytesTotal", int, required=False),
    )


def read_virtual_disk(r: Reader, rec: dict) -> VirtualDisk:
    # OperationalStatus is an array: [string] joins it with spaces ("Degraded Incomplete", or "3 53263").
    text = r.get(rec, "OperationalStatus", required=False, default="Unknown")
    statuses = tuple(OPERATIONAL_STATUS.get(int(t), t) if t.isdigit() else t for t in re.split(r"[\s,]+", text) if t)
    return VirtualDisk(
        friendly_name=r.get(rec, "FriendlyName"),
        health_status=r.enum(rec, "HealthStatus", HEALTH_STATUS, required=False),
        operational_status=statuses or ("Unknown",),
    )


def get_storage_jobs(conn: Connection) -> list[StorageJob]:
    """Storage jobs (S2D repairs and rebalances), running and recently finished."""
    op = "Get-StorageJob"
    value = run_script(conn, f"$result = @(Get-StorageJob | {JOB_PROPERTIES})", operation=op)
    r = Reader(op, conn.where)
    return [read_job(r, rec) for rec in r.records(value)]


def get_virtual_disks(conn: Connection) -> list[VirtualDisk]:
    op = "Get-VirtualDisk"
    value = run_script(conn, f"$result = @(Get-VirtualDisk | {VDISK_PROPERTIES})", operation=op)
    r = Reader(op, conn.where)
    return [read_virtual_disk(r, rec) for rec in r.records(value)]


def storage_health(conn: Connection) -> StorageHealth:
    """Storage jobs, virtual disks and CSV states of a cluster in one round trip (run on a node or
    the cluster name). A cluster without Storage Spaces has no jobs or virtual disks: only its CSVs count."""
    body = (f"$jobs = @(Get-StorageJob | {JOB_PROPERTIES})\n"
            f"$disks = @(Get-VirtualDisk | {VDISK_PROPERTIES})\n"
            f"$volumes = @(Get-ClusterSharedVolume | {CSV_PROPERTIES})\n"
            "$result = @{ Jobs = $jobs; VirtualDisks = $disks; Volumes = $volumes }")
    op = "storage health"
    value = run_script(conn, body, operation=op)
    r = Reader(op, conn.where)
    rec = r.record(value)
    return StorageHealth(
        jobs=tuple(read_job(r, j) for j in r.records(rec.get("Jobs"))),
        virtual_disks=tuple(read_virtual_disk(r, d) for d in r.records(rec.get("VirtualDisks"))),
        volumes=tuple(read_csv(r, v) for v in r.records(rec.get("Volumes"))),
    )


def sofs_inventory(conn: Connection) -> dict:
    """Shares and CSVs of a SOFS cluster in one round trip."""
    body = (f"$shares = @(Get-SmbShare | {SHARE_PROPERTIES})\n"
            f"$volumes = @(Get-ClusterSharedVolume | {CSV_PROPERTIES})\n"
            "$result = @{ Shares = $shares; Volumes = $volumes }")
    op = "file server inventory"
    value = run_script(conn, body, operation=op)
    r = Reader(op, conn.where)
    rec = r.record(value)
    return {
        "shares": [read_share(r, s) for s in r.records(rec.get("Shares"))],
        "volumes": [read_csv(r, v) for v in r.records(rec.get("Volumes"))],
    }


__all__ = [
    "SharedVolume", "SmbShare", "StorageHealth", "StorageJob", "VirtualDisk", "get_cluster_shared_volumes",
    "get_smb_shares", "get_storage_jobs", "get_virtual_disks", "move_cluster_shared_volume", "sofs_inventory",
    "storage_health",
]
