"""Scale-Out File Server: its SMB shares and the cluster shared volumes behind them."""
from dataclasses import dataclass

from fabric.agents.connection import Connection
from fabric.agents.parsing import AVAILABILITY_TYPE, CSV_STATE, SHARE_STATE, Reader
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
    "SharedVolume", "SmbShare", "get_cluster_shared_volumes", "get_smb_shares", "move_cluster_shared_volume",
    "sofs_inventory",
]
