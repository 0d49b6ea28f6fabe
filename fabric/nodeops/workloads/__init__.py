"""What runs on a node and how it leaves and comes back, one module per cluster kind.

A Hyper-V node's workloads are its VMs (`hyperv`). A Scale-Out File Server node's are its file
shares and storage roles: its module goes here with the same functions (`evacuate`, `bring_back`)
and `for_cluster` returns it.
"""
from __future__ import annotations

from types import ModuleType

from fabric.choices import ClusterKind
from fabric.nodeops.workloads import hyperv

BY_KIND: dict[str, ModuleType] = {ClusterKind.HYPERV: hyperv}


def for_cluster(cluster) -> ModuleType:
    try:
        return BY_KIND[cluster.kind]
    except KeyError:
        raise NotImplementedError(f"Ferry cannot yet take a node of a {cluster.get_kind_display()} cluster "
                                  f"out of service.") from None
