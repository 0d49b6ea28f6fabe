"""FailoverClusters: Get-Cluster, nodes, groups, network interfaces, pause/drain/resume, evict/add,
functional level, VM role moves, cluster shared volumes."""
from __future__ import annotations

import ipaddress
import threading
import time

from lab.cmdlets.common import (
    HostContext,
    as_guid,
    as_int,
    as_list,
    choice,
    cmdlet,
    dotnet,
    fail,
    flags_enum,
    names_of,
    ps_enum,
    truthy,
)
from lab.datacenter import OperationError
from lab.datacenter.model import (
    DRAIN_NAMES,
    DRAIN_STATUS_FLAG,
    NODE_DOWN,
    NODE_STATE_NAMES,
    NODE_UP,
    STATUS_FLAGS,
    Cluster,
    NodeRecord,
)

M = "FailoverClusters"
NS = "Microsoft.FailoverClusters.PowerShell."
CLUSTER_EXCEPTION = NS + "ClusterCmdletException"
# "ClusterObjectNotFound" below is an error id the lab invented (unconfirmed): Windows names most
# FailoverClusters errors after the cmdlet and wraps the cluster API's Win32 error.
GROUP_STATES = {0: "Online", 1: "Offline", 2: "Failed", 3: "PartialOnline", 4: "Pending"}
GROUP_TYPES = {1: "Cluster", 2: "AvailableStorage", 111: "VirtualMachine", 114: "ScaleoutFileServer"}
MIGRATION_TYPES = ("TurnOff", "Quick", "Shutdown", "ShutdownForce", "Live")


# -- objects -------------------------------------------------------------------------------------------
def node_object(dc, cluster: Cluster, record: NodeRecord) -> dict:
    host = dc.hosts[record.host_key]
    state = dc.node_state(cluster, record)
    member = host.cluster == cluster.key
    drain = host.drain_status if member else 0
    return dotnet(NS + "ClusterNode", record.name, {
        "Name": record.name, "Id": str(record.id),
        "State": ps_enum(state, NODE_STATE_NAMES[state]),
        "DrainStatus": ps_enum(drain, DRAIN_NAMES[drain]),
        "StatusInformation": flags_enum(DRAIN_STATUS_FLAG.get(drain, 0), STATUS_FLAGS),
        "NodeWeight": 1, "DynamicWeight": 1 if state != NODE_DOWN else 0,
        "MajorVersion": host.os.major, "MinorVersion": 0, "BuildNumber": host.os.build,
        "NodeHighestVersion": host.os.functional_level * 0x10000 + host.os.upgrade_version,
        "NodeLowestVersion": host.os.functional_level * 0x10000,
        "Model": host.model, "Manufacturer": host.manufacturer, "SerialNumber": host.serial_number,
        "FaultDomain": f"Site:, Rack:, Chassis:, Node:{record.name}", "Description": "",
        "Cluster": cluster.name,
    })


def cluster_object(dc, cluster: Cluster) -> dict:
    hosts = [dc.hosts[r.host_key] for r in cluster.nodes]
    upgrade = min((h.os.upgrade_version for h in hosts if h.os.functional_level == cluster.functional_level),
                  default=hosts[0].os.upgrade_version if hosts else 0)
    out = {
        "Name": cluster.name, "Id": cluster.id, "Domain": cluster.domain,
        "ClusterFunctionalLevel": cluster.functional_level, "ClusterUpgradeVersion": upgrade,
        "DynamicQuorum": 1, "S2DEnabled": 1 if cluster.s2d else 0, "SharedVolumesRoot": "C:\\ClusterStorage",
        "Description": "",
        "FixQuorum": 0, "WitnessDynamicWeight": 0, "QuorumArbitrationTimeMax": 20,
    }
    if cluster.functional_level >= 11:
        out["MaximumParallelMigrations"] = 2
    return dotnet(NS + "Cluster", cluster.name, out)


def _group(dc, cluster, name, group_id, owner_key, state, group_type, core=False) -> dict:
    record = cluster.record(owner_key)
    owner = node_object(dc, cluster, record) if record else None
    return dotnet(NS + "ClusterGroup", name, {"Name": name, "Id": group_id, "OwnerNode": owner,
            "State": ps_enum(state, GROUP_STATES[state]),
            "GroupType": ps_enum(group_type, GROUP_TYPES[group_type]), "IsCoreGroup": core,
            "Priority": 2000, "Description": "", "FailoverThreshold": 4294967295, "FailoverPeriod": 6,
            "AutoFailbackType": 0, "PersistentState": 1 if state == 0 else 0, "Cluster": cluster.name})


def cluster_groups(dc, cluster: Cluster) -> list[dict]:
    online = 0
    groups = [_group(dc, cluster, "Cluster Group", cluster.core_group_id, cluster.core_owner, online, 1, True),
              _group(dc, cluster, "Available Storage", cluster.storage_group_id, cluster.core_owner,
                     1 if cluster.kind == "hyperv" else online, 2, True)]
    for role in cluster.sofs_roles:
        groups.append(_group(dc, cluster, role.name, role.id, role.owner, _role_state(role), 114))
    for record in cluster.nodes:
        host = dc.hosts[record.host_key]
        if host.cluster != cluster.key:
            continue
        for vm in host.vms.values():
            if vm.highly_available:
                state = 0 if vm.in_memory else 1
                groups.append(_group(dc, cluster, vm.name, vm.group_id, host.key, state, 111))
    return groups


def _role_state(item) -> int:
    """Online, or Pending while a failover brings it up on another node."""
    return 4 if item.failover_until > time.monotonic() else 0


def _local_node(ctx: HostContext, cluster: Cluster, command_type: str) -> NodeRecord:
    record = cluster.record(ctx.host.key)
    if record is None:
        raise fail(f"The node '{ctx.host.name}' is not a member of cluster '{cluster.name}'.", "ObjectNotFound",
                   "ClusterObjectNotFound", command_type, CLUSTER_EXCEPTION)
    return record


def _nodes(ctx, cluster, names, command_type) -> list[NodeRecord]:
    if not names:
        return [_local_node(ctx, cluster, command_type)]
    try:
        return [ctx.dc._record_named(cluster, n) for n in names]
    except OperationError as error:
        raise fail(error.message, error.category, error.error_id, command_type, CLUSTER_EXCEPTION) from None


def _confirm(force, confirm, message, command_type):
    if truthy(force) or (confirm is not None and not truthy(confirm)):
        return
    raise fail("A command that prompts the user failed because the host program or the command type does not "
               "support user interaction. The host was attempting to request confirmation with the following "
               f"message: {message}", "NotImplemented", "HostException", command_type,
               "System.Management.Automation.Host.HostException")


# -- cmdlets -------------------------------------------------------------------------------------------
@cmdlet(M, "Get-Cluster", {"Name": "value", "Domain": "value"}, positional=("Name",),
        command_type=NS + "GetClusterCommand")
def get_cluster(ctx, Name=None, Domain=None):
    cluster = ctx.cluster(Name, NS + "GetClusterCommand")
    with ctx.dc.lock:
        return cluster_object(ctx.dc, cluster)


@cmdlet(M, "Get-ClusterNode", {"Name": "value", "Cluster": "value", "InputObject": "value"},
        positional=("Name",), pipeline="InputObject", command_type=NS + "GetNodeCommand")
def get_cluster_node(ctx, Name=None, Cluster=None, InputObject=None):
    cluster = ctx.cluster(Cluster, NS + "GetNodeCommand")
    dc = ctx.dc
    with dc.lock:
        if Name is None:
            return [node_object(dc, cluster, r) for r in cluster.nodes]
        out = []
        for name in names_of(Name):
            try:
                out.append(node_object(dc, cluster, dc._record_named(cluster, name)))
            except OperationError as error:
                raise fail(error.message, "ObjectNotFound", "ClusterObjectNotFound", NS + "GetNodeCommand",
                           CLUSTER_EXCEPTION, target=name) from None
        return out


@cmdlet(M, "Get-ClusterNetworkInterface", {"Name": "value", "Node": "value", "Network": "value",
                                           "Cluster": "value", "InputObject": "value"},
        positional=("Name",), pipeline="InputObject", command_type=NS + "GetClusterNetworkInterfaceCommand")
def get_cluster_network_interface(ctx, Name=None, Node=None, Network=None, Cluster=None, InputObject=None):
    cluster = ctx.cluster(Cluster, NS + "GetClusterNetworkInterfaceCommand")
    dc = ctx.dc
    with dc.lock:
        networks: dict[str, dict] = {}
        out = []
        wanted_nodes = {n.lower() for n in names_of(Node) + names_of(InputObject)}
        for record in cluster.nodes:
            host = dc.hosts[record.host_key]
            if wanted_nodes and record.name.lower() not in wanted_nodes:
                continue
            up = dc.node_state(cluster, record) != NODE_DOWN
            for nic in host.nics:
                if not nic.ip:
                    continue
                subnet = ipaddress.IPv4Interface(f"{nic.ip}/{nic.prefix_length}").network
                net_name = f"Cluster Network {len(networks) + 1}"
                net = networks.setdefault(str(subnet), dotnet(NS + "ClusterNetwork", net_name, {
                    "Name": net_name, "Address": str(subnet.network_address),
                    "AddressMask": str(subnet.netmask), "Role": ps_enum(3, "ClusterAndClient"),
                    "State": ps_enum(3, "Up"), "Metric": 70384 + len(networks), "Cluster": cluster.name}))
                item = dotnet(NS + "ClusterNetworkInterface", f"{record.name} - {nic.name}", {
                        "Name": f"{record.name} - {nic.name}", "Node": record.name, "Network": net,
                        "Address": nic.ip, "Ipv4Addresses": [nic.ip], "Ipv6Addresses": [],
                        "Adapter": nic.name, "AdapterId": nic.mac, "DhcpEnabled": False,
                        "State": ps_enum(3, "Up") if up else ps_enum(0, "Unavailable"),
                        "Description": "", "Cluster": cluster.name})
                if Name is not None and item["Name"].lower() not in {n.lower() for n in names_of(Name)}:
                    continue
                if Network is not None and net["Name"].lower() not in {n.lower() for n in names_of(Network)}:
                    continue
                out.append(item)
        return out


SUSPEND = NS + "SuspendClusterNodeCommand"


@cmdlet(M, "Suspend-ClusterNode", {"Name": "value", "TargetNode": "value", "Drain": "switch",
                                   "ForceDrain": "switch", "Wait": "switch", "Cluster": "value",
                                   "InputObject": "value"},
        positional=("Name", "TargetNode"), pipeline="InputObject", command_type=SUSPEND)
def suspend_cluster_node(ctx, Name=None, TargetNode=None, Drain=False, ForceDrain=False, Wait=False,
                         Cluster=None, InputObject=None):
    if truthy(ForceDrain) and not truthy(Drain):
        # Microsoft documents -ForceDrain as used in conjunction with -Drain; whether the module refuses it
        # alone is unconfirmed, so the lab does (lab-made error id).
        raise fail("The -ForceDrain parameter can only be used together with -Drain.", "InvalidArgument",
                   "ForceDrainWithoutDrain", SUSPEND, "System.Management.Automation.PSArgumentException")
    cluster = ctx.cluster(Cluster, SUSPEND)
    drain = truthy(Drain)
    records = _nodes(ctx, cluster, names_of(Name) + names_of(InputObject), SUSPEND)
    target = names_of(TargetNode)[0] if TargetNode is not None else None
    for record in records:
        ctx.dc.pause_node(cluster.key, record.host_key, drain=drain, force=truthy(ForceDrain),
                          target_ref=target, wait=truthy(Wait))
    with ctx.dc.lock:
        return [node_object(ctx.dc, cluster, r) for r in records]


RESUME = NS + "ResumeClusterNodeCommand"


@cmdlet(M, "Resume-ClusterNode", {"Name": "value", "Failback": "value", "Cluster": "value", "InputObject": "value"},
        positional=("Name", "Failback"), pipeline="InputObject", command_type=RESUME)
def resume_cluster_node(ctx, Name=None, Failback=None, Cluster=None, InputObject=None):
    cluster = ctx.cluster(Cluster, RESUME)
    failback = choice(Failback or "NoFailback", ("NoFailback", "Immediate", "Policy"), "Failback", RESUME)
    records = _nodes(ctx, cluster, names_of(Name) + names_of(InputObject), RESUME)
    for record in records:
        ctx.dc.resume_node(cluster.key, record.host_key, failback)
    with ctx.dc.lock:
        return [node_object(ctx.dc, cluster, r) for r in records]


REMOVE = NS + "RemoveClusterNodeCommand"


@cmdlet(M, "Remove-ClusterNode", {"Name": "value", "Force": "switch", "Wait": "value", "CleanupDisks": "switch",
                                  "Cluster": "value", "InputObject": "value", "Confirm": "switch"},
        positional=("Name",), pipeline="InputObject", command_type=REMOVE)
def remove_cluster_node(ctx, Name=None, Force=False, Wait=None, CleanupDisks=False, Cluster=None,
                        InputObject=None, Confirm=None):
    cluster = ctx.cluster(Cluster, REMOVE)
    records = _nodes(ctx, cluster, names_of(Name) + names_of(InputObject), REMOVE)
    if Wait is not None:
        as_int(Wait, "Wait", REMOVE)
    for record in records:
        _confirm(Force, Confirm, f"Are you sure you want to evict node {record.name}?", REMOVE)
        # evicting cleans the cluster configuration up on the evicted node itself
        ctx.require_second_hop(record.name, REMOVE)
        ctx.dc.evict_node(cluster.key, record.name)
    return None


ADD = NS + "AddClusterNodeCommand"


@cmdlet(M, "Add-ClusterNode", {"Name": "value", "Cluster": "value", "NoStorage": "switch", "InputObject": "value"},
        positional=("Name",), pipeline="InputObject", command_type=ADD)
def add_cluster_node(ctx, Name=None, Cluster=None, NoStorage=False, InputObject=None):
    cluster = ctx.cluster(Cluster, ADD)
    names = names_of(Name)
    if not names:
        raise fail("Cannot process command because of one or more missing mandatory parameters: Name.",
                   "InvalidArgument", "MissingMandatoryParameter", ADD,
                   "System.Management.Automation.ParameterBindingException")
    for name in names:  # the new node is validated and configured over the network
        ctx.require_second_hop(name, ADD)
    records = [ctx.dc.add_node(cluster.key, name) for name in names]
    with ctx.dc.lock:
        return [node_object(ctx.dc, cluster, r) for r in records]


LEVEL = NS + "UpdateClusterFunctionalLevelCommand"


@cmdlet(M, "Update-ClusterFunctionalLevel", {"Cluster": "value", "Force": "switch", "WhatIf": "switch",
                                             "Confirm": "switch", "InputObject": "value"},
        pipeline="InputObject", command_type=LEVEL)
def update_cluster_functional_level(ctx, Cluster=None, Force=False, WhatIf=False, Confirm=None, InputObject=None):
    cluster = ctx.cluster(Cluster or (names_of(InputObject) or [None])[0], LEVEL)
    if truthy(WhatIf):
        ctx.dc.raise_functional_level(cluster.key, what_if=True)
        return None
    _confirm(Force, Confirm, f"Updating the functional level for cluster {cluster.name} cannot be undone. "
                             f"Do you want to continue?", LEVEL)
    ctx.dc.raise_functional_level(cluster.key)
    with ctx.dc.lock:
        return cluster_object(ctx.dc, cluster)


SUPPORTED = NS + "GetClusterNodeSupportedVersionCommand"


@cmdlet(M, "Get-ClusterNodeSupportedVersion", {"Cluster": "value", "InputObject": "value"},
        pipeline="InputObject", command_type=SUPPORTED)
def get_cluster_node_supported_version(ctx, Cluster=None, InputObject=None):
    """What this computer's release supports (whether it can join a cluster at a given level); it
    needs no cluster. With -Cluster: what the nodes of that cluster support, one object per node."""
    with ctx.dc.lock:
        hosts = [ctx.host]
    if Cluster is not None:
        cluster = ctx.cluster(Cluster, SUPPORTED)
        with ctx.dc.lock:
            hosts = [ctx.dc.hosts[r.host_key] for r in cluster.nodes]
    with ctx.dc.lock:
        return [dotnet(NS + "ClusterNodeSupportedVersion", NS + "ClusterNodeSupportedVersion", {
            "ClusterFunctionalLevel": h.os.functional_level, "ClusterUpgradeVersion": h.os.upgrade_version})
            for h in hosts]


GROUP = NS + "GetClusterGroupCommand"


@cmdlet(M, "Get-ClusterGroup", {"Name": "value", "VMId": "value", "Cluster": "value", "InputObject": "value"},
        positional=("Name",), pipeline="InputObject", command_type=GROUP)
def get_cluster_group(ctx, Name=None, VMId=None, Cluster=None, InputObject=None):
    """-Name is matched exactly (no wildcards: a role name is a StringCollection); -VMId gives the role
    of that virtual machine."""
    cluster = ctx.cluster(Cluster, GROUP)
    vm_id = as_guid(VMId, "VMId", GROUP) if VMId is not None else None
    with ctx.dc.lock:
        groups = cluster_groups(ctx.dc, cluster)
        owners = {n.lower() for n in names_of(InputObject)}
        if owners:
            groups = [g for g in groups if g["OwnerNode"] and g["OwnerNode"]["Name"].lower() in owners]
        if vm_id is not None:
            found = ctx.dc.find_vm(vm_id)
            group_id = found[1].group_id if found is not None and found[1].id == vm_id else None
            groups = [g for g in groups if g["Id"] == group_id]
            if not groups:  # unconfirmed text; the error identity follows a missing group name
                raise fail(f"The cluster group for virtual machine '{vm_id}' was not found.", "ObjectNotFound",
                           "ClusterObjectNotFound", GROUP, CLUSTER_EXCEPTION, target=vm_id)
        if Name is None:
            return groups
        out = []
        for name in names_of(Name):
            match = [g for g in groups if g["Name"].lower() == name.lower()]
            if not match:
                raise fail(f"The cluster group '{name}' was not found.", "ObjectNotFound", "ClusterObjectNotFound",
                           GROUP, CLUSTER_EXCEPTION, target=name)
            out.extend(match)
        return out


MOVE = NS + "MoveClusterVirtualMachineRoleCommand"


@cmdlet(M, "Move-ClusterVirtualMachineRole", {"Name": "value", "Node": "value", "MigrationType": "value",
                                              "Wait": "value", "VMId": "value", "Cluster": "value",
                                              "InputObject": "value"},
        positional=("Name", "Node"), pipeline="InputObject", command_type=MOVE)
def move_cluster_virtual_machine_role(ctx, Name=None, Node=None, MigrationType=None, Wait=None, VMId=None,
                                      Cluster=None, InputObject=None):
    cluster = ctx.cluster(Cluster, MOVE)
    kind = choice(MigrationType if MigrationType is not None else "Live", MIGRATION_TYPES, "MigrationType", MOVE)
    if kind.isdigit():
        kind = dict(enumerate(MIGRATION_TYPES)).get(int(kind), "Live")
    if kind == "ShutdownForce":
        kind = "Shutdown"
    wait = as_int(Wait, "Wait", MOVE) if Wait is not None else None
    if VMId is not None:
        refs = [as_guid(VMId, "VMId", MOVE)]
    else:  # a role name is matched exactly, never as a wildcard pattern
        refs = [_role_vm_id(ctx, cluster, role) for role in names_of(Name)[:1] + as_list(InputObject)]
    if not refs:
        raise fail("Cannot process command because of one or more missing mandatory parameters: Name.",
                   "InvalidArgument", "MissingMandatoryParameter", MOVE,
                   "System.Management.Automation.ParameterBindingException")
    node = names_of(Node)[0] if Node is not None else None
    out = []
    for ref in refs:
        if wait == 0:
            with ctx.dc.lock:
                ctx.dc.cluster_vm(cluster, ref)
            threading.Thread(target=_move_quietly, args=(ctx.dc, cluster.key, ref, node, kind), daemon=True).start()
            target = None
        else:
            target, vm = ctx.dc.move_vm(cluster.key, ref, node, kind)
        with ctx.dc.lock:
            groups = cluster_groups(ctx.dc, cluster)
            vm_host, vm = ctx.dc.cluster_vm(cluster, ref)
            out.extend(g for g in groups if g["Id"] == vm.group_id)
    return out


def _role_vm_id(ctx, cluster, role) -> str:
    """The VM of a role given by its exact name, or by a ClusterGroup object from the pipeline."""
    group_id = str(role.get("Id")) if isinstance(role, dict) else None
    name = str(role.get("Name") if isinstance(role, dict) else role)
    with ctx.dc.lock:
        for record in cluster.nodes:
            host = ctx.dc.hosts[record.host_key]
            for vm in host.vms.values() if host.cluster == cluster.key else ():
                if vm.highly_available and (vm.group_id == group_id if group_id else vm.name.lower() == name.lower()):
                    return vm.id
    raise fail(f"The cluster group '{name}' was not found.", "ObjectNotFound", "ClusterObjectNotFound", MOVE,
               CLUSTER_EXCEPTION, target=name)


def _move_quietly(dc, cluster_key, ref, node, kind):
    try:
        dc.move_vm(cluster_key, ref, node, kind)
    except OperationError:
        pass


CSV = NS + "GetClusterSharedVolumeCommand"


def csv_object(dc, cluster, csv) -> dict:
    record = cluster.record(csv.owner)
    index = cluster.csvs.index(csv) + 1
    used = csv.size - csv.free
    partition = dotnet(NS + "ClusterDiskPartitionInfo", NS + "ClusterDiskPartitionInfo", {
        "Name": f"\\\\?\\Volume{{{csv.id}}}\\", "Size": csv.size, "FreeSpace": csv.free, "UsedSpace": used,
        "PercentFree": round(csv.free * 100 / csv.size, 2)})
    info = dotnet(NS + "ClusterSharedVolumeInfo", NS + "ClusterSharedVolumeInfo", {
        "FriendlyVolumeName": f"C:\\ClusterStorage\\Volume{index}", "Partition": partition,
        "MaintenanceMode": False, "FaultState": ps_enum(0, "NoFaults")})
    return dotnet(NS + "ClusterSharedVolume", csv.name, {
        "Name": csv.name, "Id": csv.id, "OwnerNode": node_object(dc, cluster, record) if record else None,
        "State": ps_enum(129, "OnlinePending") if _role_state(csv) else ps_enum(2, "Online"),
        "SharedVolumeInfo": [info], "Cluster": cluster.name})


@cmdlet(M, "Get-ClusterSharedVolume", {"Name": "value", "Cluster": "value", "InputObject": "value"},
        positional=("Name",), pipeline="InputObject", command_type=CSV)
def get_cluster_shared_volume(ctx, Name=None, Cluster=None, InputObject=None):
    cluster = ctx.cluster(Cluster, CSV)
    with ctx.dc.lock:
        items = [csv_object(ctx.dc, cluster, c) for c in cluster.csvs]
        if Name is None:
            return items
        wanted = {n.lower() for n in names_of(Name)}
        found = [i for i in items if i["Name"].lower() in wanted]
        if len(found) < len(wanted):
            raise fail(f"The cluster shared volume '{', '.join(names_of(Name))}' was not found.", "ObjectNotFound",
                       "ClusterObjectNotFound", CSV, CLUSTER_EXCEPTION)
        return found


MOVE_CSV = NS + "MoveClusterSharedVolumeCommand"


@cmdlet(M, "Move-ClusterSharedVolume", {"Name": "value", "Node": "value", "Cluster": "value", "InputObject": "value"},
        positional=("Name", "Node"), pipeline="InputObject", command_type=MOVE_CSV)
def move_cluster_shared_volume(ctx, Name=None, Node=None, Cluster=None, InputObject=None):
    cluster = ctx.cluster(Cluster, MOVE_CSV)
    out = []
    for name in names_of(Name) + names_of(InputObject):
        csv = ctx.dc.move_csv(cluster.key, name, names_of(Node)[0] if Node is not None else None)
        with ctx.dc.lock:
            out.append(csv_object(ctx.dc, cluster, csv))
    return out


MOVE_GROUP = NS + "MoveClusterGroupCommand"


@cmdlet(M, "Move-ClusterGroup", {"Name": "value", "Node": "value", "IgnoreLocked": "switch", "Wait": "value",
                                 "Cluster": "value", "InputObject": "value"},
        positional=("Name", "Node"), pipeline="InputObject", command_type=MOVE_GROUP)
def move_cluster_group(ctx, Name=None, Node=None, IgnoreLocked=False, Wait=None, Cluster=None, InputObject=None):
    """Moves SOFS roles and the core groups; the move is quick, so -Wait changes nothing here."""
    cluster = ctx.cluster(Cluster, MOVE_GROUP)
    if Wait is not None:
        as_int(Wait, "Wait", MOVE_GROUP)
    refs = names_of(Name) + names_of(InputObject)
    if not refs:
        raise fail("Cannot process command because of one or more missing mandatory parameters: Name.",
                   "InvalidArgument", "MissingMandatoryParameter", MOVE_GROUP,
                   "System.Management.Automation.ParameterBindingException")
    node = names_of(Node)[0] if Node is not None else None
    out = []
    for ref in refs:
        try:
            moved = ctx.dc.move_group(cluster.key, ref, node)
        except OperationError as error:
            raise fail(error.message, error.category, error.error_id, MOVE_GROUP, CLUSTER_EXCEPTION,
                       target=ref) from None
        with ctx.dc.lock:
            out.extend(g for g in cluster_groups(ctx.dc, cluster) if g["Name"] == moved)
    return out


__all__ = ["node_object", "cluster_object", "cluster_groups", "NODE_UP"]
