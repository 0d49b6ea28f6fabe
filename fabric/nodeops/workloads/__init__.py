"""What runs on a node and how it leaves and comes back, one module per cluster kind.

A Hyper-V node's workloads are its VMs (`hyperv`). A Scale-Out File Server node's are its SOFS
roles and the cluster shared volumes it coordinates (`sofs`). Both offer `evacuate_cluster_node`
and `return_vms`; `for_cluster` returns the module for a cluster.
"""
from __future__ import annotations

from types import ModuleType

from fabric.choices import ClusterKind
from fabric.nodeops.workloads import hyperv, sofs

BY_KIND: dict[str, ModuleType] = {ClusterKind.HYPERV: hyperv, ClusterKind.SOFS: sofs}


def for_cluster(cluster) -> ModuleType:
    try:
        return BY_KIND[cluster.kind]
    except KeyError:
        raise NotImplementedError(f"Ferry cannot yet take a node of a {cluster.get_kind_display()} cluster "
                                  f"out of service.") from None
