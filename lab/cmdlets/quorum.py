"""FailoverClusters: Get-ClusterQuorum — how the cluster keeps quorum, and its witness.

Windows Server 2016 and later report QuorumType Majority for every node-majority configuration,
with or without a witness; the witness is QuorumResource (a ClusterResource in the core group:
a Physical Disk, a File Share Witness or a Cloud Witness), null without one. DiskOnly is a legacy
configuration the lab does not model.
"""
from __future__ import annotations

from lab.cmdlets.binding import not_empty
from lab.cmdlets.cluster import NS, cluster_groups, cluster_object, node_object
from lab.cmdlets.common import cmdlet, dotnet, names_of, ps_enum
from lab.datacenter.model import Cluster
from lab.topology import _stable_uuid

M = "FailoverClusters"
QUORUM = NS + "GetClusterQuorumCommand"
# witness_type → (the resource's name, its resource type); the disk's name is the lab's choice
WITNESS_RESOURCES = {
    "disk": ("Cluster Disk Witness", "Physical Disk"),
    "file_share": ("File Share Witness", "File Share Witness"),
    "cloud": ("Cloud Witness", "Cloud Witness"),
}


def witness_resource(dc, cluster: Cluster) -> dict | None:
    """The witness as a ClusterResource of the core group ("Cluster Group"), or None."""
    if not cluster.witness:
        return None
    name, type_name = WITNESS_RESOURCES[cluster.witness_type]
    record = cluster.record(cluster.core_owner)
    core_group = next(g for g in cluster_groups(dc, cluster) if g["Name"] == "Cluster Group")
    resource_type = dotnet(NS + "ClusterResourceType", type_name, {
        "Name": type_name, "DisplayName": type_name, "Cluster": cluster.name})
    return dotnet(NS + "ClusterResource", name, {
        "Name": name, "Id": _stable_uuid("witness", cluster.name), "State": ps_enum(2, "Online"),
        "OwnerGroup": core_group, "OwnerNode": node_object(dc, cluster, record) if record else None,
        "ResourceType": resource_type, "IsCoreResource": True, "IsStorageClassResource": type_name == "Physical Disk",
        "IsNetworkClassResource": False, "MaintenanceMode": False, "Description": "", "Cluster": cluster.name})


@cmdlet(M, "Get-ClusterQuorum", {"Cluster": "value", "InputObject": "value"}, positional=("Cluster",),
        pipeline="InputObject", command_type=QUORUM)
def get_cluster_quorum(ctx, Cluster=None, InputObject=None):
    """-Cluster NAME (or "." for the local cluster), or a Cluster from the pipeline (Get-Cluster |)."""
    if Cluster is not None:
        not_empty(Cluster, "Cluster", QUORUM)   # [ValidateNotNullOrEmpty]
    name = names_of(Cluster)[0] if Cluster is not None else (names_of(InputObject) or [None])[0]
    cluster = ctx.cluster(None if name == "." else name, QUORUM)
    with ctx.dc.lock:
        return dotnet(NS + "ClusterQuorumSettings", NS + "ClusterQuorumSettings", {
            "Cluster": cluster_object(ctx.dc, cluster),
            "QuorumResource": witness_resource(ctx.dc, cluster),
            "QuorumType": ps_enum(1, "Majority"),
        })


__all__ = ["witness_resource"]
