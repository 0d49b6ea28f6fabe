"""Small builders for compliance tests (plain functions: a handful of rows per test)."""
import datetime as dt
import itertools
import uuid

from compliance.models import Update, UpdateServer
from fabric.models import Cluster, Host, HostGroup

_seq = itertools.count(1)


def group(name, parent=None):
    return HostGroup.objects.create(name=name, parent=parent or HostGroup.root())


def cluster(name, host_group=None, nodes=0, memory_gib=256):
    c = Cluster.objects.create(name=name, address=f"{name.lower()}.contoso.com", host_group=host_group or HostGroup.root())
    for i in range(1, nodes + 1):
        host(f"{name}-N{i}", host_group=c.host_group, cluster=c, memory_gib=memory_gib)
    return c


def host(name, host_group=None, cluster=None, memory_gib=256):
    return Host.objects.create(
        name=name, address=f"{name.lower()}.contoso.com", host_group=host_group or HostGroup.root(),
        cluster=cluster, memory_bytes=memory_gib * 2**30, node_state="Up" if cluster else "",
    )


def server():
    return UpdateServer.objects.get_or_create(name="WSUS01", defaults={"address": "wsus01.contoso.com"})[0]


def update(kb=None, classification="Security Updates", severity="Critical", released=None, **extra):
    kb = str(kb or 5000000 + next(_seq))
    return Update.objects.create(
        server=server(), update_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"kb{kb}")), kb=kb,
        title=extra.pop("title", f"Cumulative update KB{kb}"), classification=classification, severity=severity,
        release_date=released or dt.date(2024, 1, 9), approved=True, **extra,
    )


def vm(name, host, memory_gib=8, state="Running", highly_available=True):
    from fabric.models import VirtualMachine

    return VirtualMachine.objects.create(
        name=name, vm_id=uuid.uuid5(uuid.NAMESPACE_URL, f"vm:{name}"), host=host, cluster=host.cluster,
        state=state, memory_bytes=memory_gib * 2**30, highly_available=highly_available,
    )


def scanned_cluster(name="HVC1", nodes=4, vms_per_node=2, vm_gib=8, memory_gib=64, compliant=()):
    """A cluster whose nodes were scanned against one baseline: nodes in `compliant` have the update."""
    from compliance import baselines as bl
    from compliance.evaluation import ScanResult, record_scan, update_key
    from compliance.models import Baseline

    c = cluster(name, nodes=nodes, memory_gib=memory_gib)
    needed = update()
    baseline = Baseline.objects.get_or_create(name="Security")[0]
    bl.set_picked_updates(baseline, [*baseline.updates.all(), needed])
    bl.assign(baseline, c)
    keys = update_key(needed.update_id, needed.kb)
    for node in c.nodes.order_by("name"):
        for j in range(vms_per_node):
            vm(f"{node.name}-VM{j}", node, memory_gib=vm_gib)
        done = node.name in compliant
        record_scan(node, ScanResult(installed=keys if done else set(), missing=set() if done else keys))
    return c
