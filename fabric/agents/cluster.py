"""Failover cluster operations (module FailoverClusters), run on any node or the cluster name."""
from dataclasses import dataclass, replace

from fabric.agents.connection import Connection
from fabric.agents.errors import AgentError
from fabric.agents.parsing import (
    CLUSTER_GROUP_STATE,
    CLUSTER_NODE_STATE,
    CLUSTER_QUORUM_TYPE,
    CSV_STATE,
    DRAIN_STATUS,
    GROUP_TYPE,
    NETWORK_INTERFACE_STATE,
    Reader,
)
from fabric.agents.quoting import ps_choice, ps_guid, ps_str
from fabric.agents.runner import run_script
from fabric.agents.scripting import as_int, as_string, select

# No error id of Windows says "no such node/group": FailoverClusters raises a ClusterCmdletException
# whose id is the cmdlet's name; fabric.agents.output knows it by the cluster API's Win32 error
# (ERROR_CLUSTER_NODE_NOT_FOUND, ERROR_GROUP_NOT_FOUND) or the category. The lab's
# "ClusterObjectNotFound" is its own invention and is not relied on.
NODE_NOT_FOUND: tuple[str, ...] = ()
GROUP_NOT_FOUND: tuple[str, ...] = ()
MIGRATION_TYPES = ("Live", "Quick", "Shutdown", "TurnOff")
FAILBACK = ("NoFailback", "Immediate", "Policy")


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    id: str
    domain: str
    functional_level: int | None
    upgrade_version: int | None


@dataclass(frozen=True)
class ClusterNode:
    name: str
    id: str
    state: str  # Up, Down, Paused, Joining, Unknown
    drain_status: str  # NotInitiated, InProgress, Completed, Failed
    status_information: int  # flags: Isolated=1, Quarantined=2, DrainInProgress=4, ...
    major_version: int | None
    minor_version: int | None
    build_number: int | None


@dataclass(frozen=True)
class NetworkInterface:
    name: str
    node: str
    address: str
    network: str
    adapter: str
    state: str  # Up, Failed, Unreachable, Unavailable


@dataclass(frozen=True)
class ClusterGroup:
    name: str
    id: str
    owner_node: str
    state: str  # Online, Offline, Failed, PartialOnline, Pending
    group_type: str  # VirtualMachine, ScaleoutFileServer, Cluster, ...
    is_core_group: bool
    vm_id: str = ""  # the virtual machine of a VM role, when it was asked for by VM id


@dataclass(frozen=True)
class ClusterQuorum:
    """Get-ClusterQuorum: how the cluster keeps quorum and its witness (QuorumResource), if any."""

    quorum_type: str  # Majority (node majority, with or without a witness), DiskOnly, Unknown
    witness: str = ""  # the witness resource's name; "" without a witness
    witness_type: str = ""  # its resource type: Physical Disk, File Share Witness, Cloud Witness
    witness_state: str = ""  # Online, Offline, Failed, …

    @property
    def witness_votes(self) -> bool:
        """The witness adds a vote to the nodes' now: node majority with a witness that is online."""
        return self.quorum_type == "Majority" and bool(self.witness) and self.witness_state == "Online"


_CLUSTER = select("Name", as_string("Id"), as_string("Domain"), as_int("ClusterFunctionalLevel"),
                  as_int("ClusterUpgradeVersion"))
_NODE = select("Name", as_string("Id"), as_string("State"), as_string("DrainStatus"),
               as_int("StatusInformation"), "MajorVersion", "MinorVersion", "BuildNumber")
_GROUP = select("Name", as_string("Id"), as_string("OwnerNode", "OwnerNode.Name"), as_string("State"),
                as_string("GroupType"), "IsCoreGroup")
_QUORUM = select(as_string("QuorumType"), as_string("Witness", "QuorumResource.Name"),
                 as_string("WitnessType", "QuorumResource.ResourceType.Name"),
                 as_string("WitnessState", "QuorumResource.State"))
# Read beside the cluster's other facts; a failure leaves the quorum unknown (no witness counted)
# rather than failing the whole reading.
_READ_QUORUM = (f"$quorum = $null; $quorumError = $null\n"
                f"try {{ $quorum = Get-ClusterQuorum | {_QUORUM} }} catch {{ $quorumError = [string]$_ }}\n")
_INTERFACE = select("Name", as_string("Node"), as_string("Address"), as_string("Network", "Network.Name"),
                    as_string("Adapter"), as_string("State"))


def _cluster(r: Reader, value) -> ClusterInfo:
    rec = r.record(value)
    return ClusterInfo(
        name=r.get(rec, "Name"),
        id=r.get(rec, "Id", required=False, default=""),
        domain=r.get(rec, "Domain", required=False, default=""),
        functional_level=r.get(rec, "ClusterFunctionalLevel", int, required=False),
        upgrade_version=r.get(rec, "ClusterUpgradeVersion", int, required=False),
    )


def _quorum(r: Reader, value) -> ClusterQuorum | None:
    if value is None:
        return None
    rec = r.record(value)
    witness = r.get(rec, "Witness", required=False, default="")
    return ClusterQuorum(
        quorum_type=r.enum(rec, "QuorumType", CLUSTER_QUORUM_TYPE),
        witness=witness,
        witness_type=r.get(rec, "WitnessType", required=False, default="") if witness else "",
        witness_state=r.enum(rec, "WitnessState", CSV_STATE, required=False, default="") if witness else "",
    )


def _node(r: Reader, rec: dict) -> ClusterNode:
    return ClusterNode(
        name=r.get(rec, "Name"),
        id=r.get(rec, "Id", required=False, default=""),
        state=r.enum(rec, "State", CLUSTER_NODE_STATE),
        drain_status=r.enum(rec, "DrainStatus", DRAIN_STATUS, required=False, default="NotInitiated"),
        status_information=r.get(rec, "StatusInformation", int, required=False, default=0),
        major_version=r.get(rec, "MajorVersion", int, required=False),
        minor_version=r.get(rec, "MinorVersion", int, required=False),
        build_number=r.get(rec, "BuildNumber", int, required=False),
    )


def _interface(r: Reader, rec: dict) -> NetworkInterface:
    return NetworkInterface(
        name=r.get(rec, "Name"),
        node=r.get(rec, "Node"),
        address=r.get(rec, "Address", required=False, default=""),
        network=r.get(rec, "Network", required=False, default=""),
        adapter=r.get(rec, "Adapter", required=False, default=""),
        state=r.enum(rec, "State", NETWORK_INTERFACE_STATE, required=False),
    )


def _group(r: Reader, rec: dict) -> ClusterGroup:
    return ClusterGroup(
        name=r.get(rec, "Name"),
        id=r.get(rec, "Id", required=False, default=""),
        owner_node=r.get(rec, "OwnerNode", required=False, default=""),
        state=r.enum(rec, "State", CLUSTER_GROUP_STATE),
        group_type=r.enum(rec, "GroupType", GROUP_TYPE, required=False, default="Unknown"),
        is_core_group=r.get(rec, "IsCoreGroup", bool, required=False, default=False),
        vm_id=r.get(rec, "VMId", required=False, default=""),
    )


def get_cluster(conn: Connection) -> ClusterInfo:
    op = "Get-Cluster"
    value = run_script(conn, f"$result = Get-Cluster | {_CLUSTER}", operation=op)
    return _cluster(Reader(op, conn.where), value)


def get_cluster_nodes(conn: Connection) -> list[ClusterNode]:
    op = "Get-ClusterNode"
    value = run_script(conn, f"$result = @(Get-ClusterNode | {_NODE})", operation=op)
    r = Reader(op, conn.where)
    return [_node(r, rec) for rec in r.records(value)]


def get_cluster_state(conn: Connection) -> tuple[list[ClusterNode], ClusterQuorum | None, str]:
    """The nodes and the quorum configuration now, in one round trip (the checks before a node
    leaves); the quorum is None, with the reason, when it could not be read."""
    op = "Get-ClusterNode, Get-ClusterQuorum"
    body = (f"$nodes = @(Get-ClusterNode | {_NODE})\n{_READ_QUORUM}"
            "$result = @{ Nodes = $nodes; Quorum = $quorum; QuorumError = $quorumError }")
    value = run_script(conn, body, operation=op)
    r = Reader(op, conn.where)
    rec = r.record(value)
    return ([_node(r, n) for n in r.records(rec.get("Nodes"))], _quorum(r, rec.get("Quorum")),
            r.get(rec, "QuorumError", required=False, default=""))


def get_cluster_node(conn: Connection, node: str) -> ClusterNode:
    op = f"Get-ClusterNode {node}"
    value = run_script(conn, f"$result = Get-ClusterNode -Name {ps_str(node, what='node name')} | {_NODE}",
                       operation=op, not_found_fqids=NODE_NOT_FOUND)
    r = Reader(op, conn.where)
    return _node(r, r.record(value))


def get_cluster_network_interfaces(conn: Connection) -> list[NetworkInterface]:
    op = "Get-ClusterNetworkInterface"
    value = run_script(conn, f"$result = @(Get-ClusterNetworkInterface | {_INTERFACE})", operation=op)
    r = Reader(op, conn.where)
    return [_interface(r, rec) for rec in r.records(value)]


def get_cluster_groups(conn: Connection) -> list[ClusterGroup]:
    op = "Get-ClusterGroup"
    value = run_script(conn, f"$result = @(Get-ClusterGroup | {_GROUP})", operation=op)
    r = Reader(op, conn.where)
    return [_group(r, rec) for rec in r.records(value)]


def suspend_node(conn: Connection, node: str, *, drain: bool = True, force_drain: bool = False,
                 target_node: str | None = None, timeout: float = 3600) -> ClusterNode:
    """Pause `node`; with drain, move its roles off first and wait until that finished.

    Already paused (and drained, when a drain is asked for) → nothing is done. A drain that ends with
    DrainStatus Failed raises AgentError naming the roles still on the node: the cmdlet itself can
    return without an error then. force_drain (-ForceDrain, which only means something with -Drain)
    stops the roles that cannot move and pauses anyway.
    """
    name = ps_str(node, what="node name")
    switches = ""
    if drain:
        switches += " -Drain" + (" -ForceDrain" if force_drain else "") + " -Wait"
    if target_node:
        switches += f" -TargetNode {ps_str(target_node, what='target node name')}"
    done = "[string]$node.State -eq 'Paused'" + (" -and [string]$node.DrainStatus -eq 'Completed'" if drain else "")
    body = (
        f"$node = Get-ClusterNode -Name {name}\n"
        f"if (-not ({done})) {{ $null = Suspend-ClusterNode -Name {name}{switches} }}\n"
        f"$left = @(Get-ClusterGroup | Where-Object {{ -not $_.IsCoreGroup -and $_.OwnerNode.Name -eq {name} }} | "
        f"ForEach-Object {{ [string]$_.Name }})\n"
        f"$result = @{{ Node = Get-ClusterNode -Name {name} | {_NODE}; Left = $left }}"
    )
    op = f"Suspend-ClusterNode {node}"
    value = run_script(conn, body, operation=op, timeout=timeout, not_found_fqids=NODE_NOT_FOUND)
    r = Reader(op, conn.where)
    rec = r.record(value)
    result = _node(r, r.record(rec.get("Node")))
    if drain and result.drain_status == "Failed":
        left = [str(n) for n in (rec.get("Left") or []) if n]
        still = f"; roles still on it: {', '.join(left)}" if left else ""
        raise AgentError(f"Draining {result.name} failed (the cluster reports DrainStatus Failed){still}. "
                         f"{result.name} is {result.state}.", target=conn.where, operation=op)
    return result


def resume_node(conn: Connection, node: str, *, failback: str = "NoFailback", timeout: float = 600) -> ClusterNode:
    """Resume a paused node (no-op when it is already up); failback: NoFailback, Immediate, Policy."""
    name = ps_str(node, what="node name")
    mode = ps_choice(failback, FAILBACK, what="failback")
    body = (
        f"$node = Get-ClusterNode -Name {name}\n"
        f"if ([string]$node.State -eq 'Paused') {{ $null = Resume-ClusterNode -Name {name} -Failback {mode} }}\n"
        f"$result = Get-ClusterNode -Name {name} | {_NODE}"
    )
    op = f"Resume-ClusterNode {node}"
    value = run_script(conn, body, operation=op, timeout=timeout, not_found_fqids=NODE_NOT_FOUND)
    r = Reader(op, conn.where)
    return _node(r, r.record(value))


def remove_node(conn: Connection, node: str, *, timeout: float = 600) -> None:
    """Evict `node` from the cluster (run on another node). Already gone → nothing to do."""
    name = ps_str(node, what="node name")
    body = (
        f"$present = @(Get-ClusterNode | Where-Object {{ $_.Name -eq {name} }})\n"
        f"if ($present.Count -gt 0) {{ Remove-ClusterNode -Name {name} -Force }}\n"
        f"$result = @{{ Removed = $present.Count -gt 0 }}"
    )
    run_script(conn, body, operation=f"Remove-ClusterNode {node}", timeout=timeout, idempotent=True,
               second_hop=True)


def add_node(conn: Connection, node: str, *, timeout: float = 900) -> ClusterNode:
    """Join `node` to the cluster of `conn` (no-op if it is already a member)."""
    name = ps_str(node, what="node name")
    body = (
        f"$present = @(Get-ClusterNode | Where-Object {{ $_.Name -eq {name} }})\n"
        f"if ($present.Count -eq 0) {{ $null = Add-ClusterNode -Name {name} -NoStorage }}\n"
        f"$result = Get-ClusterNode -Name {name} | {_NODE}"
    )
    op = f"Add-ClusterNode {node}"
    value = run_script(conn, body, operation=op, timeout=timeout, second_hop=True)
    r = Reader(op, conn.where)
    return _node(r, r.record(value))


def update_functional_level(conn: Connection, *, what_if: bool = False, timeout: float = 600) -> ClusterInfo:
    """Raise the cluster functional level (permanent); what_if only checks that it would succeed."""
    action = "Update-ClusterFunctionalLevel -WhatIf" if what_if else "$null = Update-ClusterFunctionalLevel -Force"
    body = f"{action}\n$result = Get-Cluster | {_CLUSTER}"
    op = "Update-ClusterFunctionalLevel" + (" -WhatIf" if what_if else "")
    value = run_script(conn, body, operation=op, timeout=timeout, idempotent=True)
    return _cluster(Reader(op, conn.where), value)


def move_vm_role(conn: Connection, vm_id: str, node: str, *, name: str = "", migration_type: str = "Live",
                 timeout: float = 3600) -> ClusterGroup:
    """Move the role of the VM with this id to `node` and wait; already there → nothing moves.

    The role is found by the VM's id (Get-ClusterGroup -VMId) and piped on, never by a name."""
    group = f"Get-ClusterGroup -VMId {ps_guid(vm_id, what='VM id')}"
    target = ps_str(node, what="node name")
    kind = ps_choice(migration_type, MIGRATION_TYPES, what="migration type")
    body = (
        f"$group = {group}\n"
        f"if ($group.OwnerNode.Name -ne {target}) {{ "
        f"$null = $group | Move-ClusterVirtualMachineRole -Node {target} -MigrationType {kind} }}\n"
        f"$result = {group} | {_GROUP}"
    )
    op = f"Move-ClusterVirtualMachineRole {name or vm_id} → {node}"
    value = run_script(conn, body, operation=op, timeout=timeout, idempotent=True, second_hop=True,
                       not_found_fqids=GROUP_NOT_FOUND)
    r = Reader(op, conn.where)
    return replace(_group(r, r.record(value)), vm_id=vm_id)


def get_vm_roles(conn: Connection, vm_ids: list[str]) -> dict[str, ClusterGroup]:
    """The cluster roles of these VMs by VM id, in one round trip; a VM the cluster no longer has is
    left out."""
    if not vm_ids:
        return {}
    ids = "@(" + ",".join(ps_guid(v, what="VM id") for v in vm_ids) + ")"
    body = (
        f"$result = @(foreach ($id in {ids}) {{\n"
        "  $group = $null\n"
        "  try { $group = Get-ClusterGroup -VMId $id } "
        "catch { if ([string]$_.CategoryInfo.Category -ne 'ObjectNotFound') { throw } }\n"
        f"  if ($group) {{ $group | {_GROUP}, @{{Name='VMId';Expression={{$id}}}} }}\n"
        "})"
    )
    op = "Get-ClusterGroup -VMId"
    value = run_script(conn, body, operation=op)
    r = Reader(op, conn.where)
    roles = [_group(r, rec) for rec in r.records(value)]
    return {role.vm_id.lower(): role for role in roles}


def move_cluster_group(conn: Connection, group: str, node: str, *, timeout: float = 600) -> ClusterGroup:
    """Move a cluster role that is not a VM (a Scale-Out File Server, the core group) to `node`;
    already there → nothing moves."""
    name = ps_str(group, what="cluster group name")
    target = ps_str(node, what="node name")
    body = (
        f"$group = Get-ClusterGroup -Name {name}\n"
        f"if ($group.OwnerNode.Name -ne {target}) {{ $null = Move-ClusterGroup -Name {name} -Node {target} }}\n"
        f"$result = Get-ClusterGroup -Name {name} | {_GROUP}"
    )
    op = f"Move-ClusterGroup {group} → {node}"
    value = run_script(conn, body, operation=op, timeout=timeout, idempotent=True, not_found_fqids=GROUP_NOT_FOUND)
    r = Reader(op, conn.where)
    return _group(r, r.record(value))


def cluster_inventory(conn: Connection) -> dict:
    """Cluster, nodes, network interfaces, groups and the quorum configuration in one round trip
    (discovery and refresh). "quorum" is None, with "quorum_error", when it could not be read."""
    body = (
        f"$cluster = Get-Cluster | {_CLUSTER}\n"
        f"$nodes = @(Get-ClusterNode | {_NODE})\n"
        f"$interfaces = @(Get-ClusterNetworkInterface | {_INTERFACE})\n"
        f"$groups = @(Get-ClusterGroup | {_GROUP})\n"
        f"{_READ_QUORUM}"
        "$result = @{ Cluster = $cluster; Nodes = $nodes; Interfaces = $interfaces; Groups = $groups; "
        "Quorum = $quorum; QuorumError = $quorumError }"
    )
    op = "cluster inventory"
    value = run_script(conn, body, operation=op)
    r = Reader(op, conn.where)
    rec = r.record(value)
    nodes = [_node(r, n) for n in r.records(rec.get("Nodes"))]
    if not nodes:
        raise r.fail("the cluster reports no nodes")
    return {
        "cluster": _cluster(r, rec.get("Cluster")),
        "nodes": nodes,
        "interfaces": [_interface(r, i) for i in r.records(rec.get("Interfaces"))],
        "groups": [_group(r, g) for g in r.records(rec.get("Groups"))],
        "quorum": _quorum(r, rec.get("Quorum")),
        "quorum_error": r.get(rec, "QuorumError", required=False, default=""),
    }


__all__ = [
    "ClusterGroup", "ClusterInfo", "ClusterNode", "ClusterQuorum", "NetworkInterface", "add_node",
    "cluster_inventory", "get_cluster", "get_cluster_groups", "get_cluster_network_interfaces", "get_cluster_node",
    "get_cluster_nodes", "get_cluster_state", "get_vm_roles", "move_cluster_group", "move_vm_role", "remove_node",
    "resume_node", "suspend_node", "update_functional_level",
]
