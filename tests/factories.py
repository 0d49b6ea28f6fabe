"""Small builders for the objects tests need (one call, sensible defaults, override anything)."""
import datetime as dt
import itertools
import uuid
from dataclasses import dataclass

from compliance.models import Update, UpdateServer
from fabric.choices import ClusterKind, HostStatus, NodeState, VMState
from fabric.models import (
    Cluster,
    DeploymentServer,
    FileShare,
    Host,
    HostGroup,
    LibraryImage,
    LogicalNetwork,
    PhysicalComputerProfile,
    RunAsAccount,
    StaticIPPool,
    Subnet,
    VirtualMachine,
)

RUNAS_PASSWORD = "Tr0ub4dor&3-run-as-secret"
_numbers = itertools.count(1)


def _n() -> int:
    return next(_numbers)


def group(name=None, parent=None, **kw) -> HostGroup:
    return HostGroup.objects.create(name=name or f"group{_n()}", parent=parent or HostGroup.root(), **kw)


def runas(name=None, password=RUNAS_PASSWORD, **kw) -> RunAsAccount:
    return RunAsAccount.objects.create(name=name or f"runas{_n()}", username="CONTOSO\\svc-ferry", password=password,
                                       **kw)


def cluster(name=None, kind=ClusterKind.HYPERV, host_group=None, nodes=0, memory_gib=256, **kw) -> Cluster:
    """A cluster; with `nodes`, that many nodes named <cluster>-N1, -N2, …"""
    n = _n()
    values = dict(address=f"10.1.0.{n % 250 + 1}", functional_level=10, host_group=host_group or HostGroup.root())
    values.update(kw)
    made = Cluster.objects.create(name=name or f"clu{n}", kind=kind, **values)
    for i in range(1, nodes + 1):
        host(f"{made.name}-N{i}", cluster=made, memory_gib=memory_gib)
    return made


def host(name=None, cluster=None, host_group=None, memory_gib=256, **kw) -> Host:
    n = _n()
    values = dict(
        address=f"10.2.{n // 250}.{n % 250 + 1}",
        host_group=host_group or (cluster.host_group if cluster else HostGroup.root()),
        os_name="Windows Server 2019 Datacenter", os_version="10.0.17763", os_build=17763,
        status=HostStatus.RESPONDING, node_state=NodeState.UP if cluster else "", memory_bytes=memory_gib * 1024**3,
        cpu_count=32,
    )
    values.update(kw)
    return Host.objects.create(name=name or f"host{n}", cluster=cluster, **values)


def vm(name=None, host=None, memory_gib=4, **kw) -> VirtualMachine:
    values = dict(state=VMState.RUNNING, memory_bytes=memory_gib * 1024**3,
                  highly_available=bool(host and host.cluster_id))
    values.update(kw)
    return VirtualMachine.objects.create(
        name=name or f"vm{_n()}", vm_id=uuid.uuid4(), host=host, cluster=host.cluster if host else None, **values
    )


def image(name=None, **kw) -> LibraryImage:
    values = dict(vhd_path="\\\\library\\images\\ws2022.vhdx", os_name="Windows Server 2022 Datacenter",
                  os_version="10.0.20348", os_build=20348)
    values.update(kw)
    return LibraryImage.objects.create(name=name or f"image{_n()}", **values)


def network(name=None, **kw) -> LogicalNetwork:
    return LogicalNetwork.objects.create(name=name or f"net{_n()}", **kw)


def subnet(logical_network=None, cidr="10.10.0.0/24", name=None, **kw) -> Subnet:
    values = dict(gateway=cidr.split("/")[0].rsplit(".", 1)[0] + ".1", vlan=10)
    values.update(kw)
    return Subnet.objects.create(logical_network=logical_network or network(), cidr=cidr, name=name or f"subnet{_n()}",
                                 **values)


def pool(subnet, start, end, name=None) -> StaticIPPool:
    return StaticIPPool.objects.create(subnet=subnet, name=name or f"pool{_n()}", range_start=start, range_end=end)


@dataclass
class Inventory:
    group: HostGroup
    runas: RunAsAccount
    cluster: Cluster
    node: Host
    standalone: Host
    sofs: Cluster
    image: LibraryImage
    network: LogicalNetwork
    subnet: Subnet
    pool: StaticIPPool
    profile: PhysicalComputerProfile
    deployment_server: DeploymentServer


def small_inventory() -> Inventory:
    prod = group("Production")
    account = runas("fabric-admin")
    hv = cluster("hv-prod", host_group=prod, run_as=account)
    node = host("hv-prod-n1", cluster=hv, run_as=account, bmc_address="10.9.0.11", bmc_run_as=account)
    host("hv-prod-n2", cluster=hv)
    standalone = host("hv-lab-01", host_group=prod)
    vm("sql01", node)
    vm("web01", standalone)
    sofs = cluster("sofs-prod", kind=ClusterKind.SOFS, host_group=prod)
    host("sofs-prod-n1", cluster=sofs)
    FileShare.objects.create(cluster=sofs, name="vmstore1", scope_name="sofs-fs",
                             path="C:\\ClusterStorage\\Volume1\\vmstore1")
    img = image("ws2022")
    net = network("Management")
    sub = subnet(net, "10.20.0.0/24", name="mgmt-site1")
    ip_pool = pool(sub, "10.20.0.100", "10.20.0.150", name="mgmt-hosts")
    ip_pool.allocate("reserved for hv-prod-n3")
    profile = PhysicalComputerProfile.objects.create(
        name="hyperv-2022", image=img, host_group=prod, ip_pool=ip_pool, domain="contoso.example",
        domain_join_run_as=account, admin_run_as=account,
    )
    wds = DeploymentServer.objects.create(name="wds01", address="10.20.0.5", run_as=account)
    return Inventory(prod, account, hv, node, standalone, sofs, img, net, sub, ip_pool, profile, wds)


# -- compliance: the update catalog and scanned clusters -------------------------------------------

def server() -> UpdateServer:
    return UpdateServer.objects.get_or_create(name="WSUS01", defaults={"address": "wsus01.contoso.com"})[0]


def update(kb=None, classification="Security Updates", severity="Critical", released=None, **extra) -> Update:
    kb = str(kb or 5000000 + _n())
    return Update.objects.create(
        server=server(), update_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"kb{kb}")), kb=kb,
        title=extra.pop("title", f"Cumulative update KB{kb}"), classification=classification, severity=severity,
        release_date=released or dt.date(2024, 1, 9), approved=True, **extra,
    )


def scanned_cluster(name="HVC1", nodes=4, vms_per_node=2, vm_gib=8, memory_gib=64, compliant=()) -> Cluster:
    """A cluster whose nodes were scanned against one baseline: nodes in `compliant` have the update."""
    from compliance import baselines as bl
    from compliance.evaluation import ScanResult, record_scan, update_key
    from compliance.models import Baseline

    made = cluster(name, nodes=nodes, memory_gib=memory_gib)
    needed = update()
    baseline = Baseline.objects.get_or_create(name="Security")[0]
    bl.set_picked_updates(baseline, [*baseline.updates.all(), needed])
    bl.assign(baseline, made)
    keys = update_key(needed.update_id, needed.kb)
    for node in made.nodes.order_by("name"):
        for j in range(vms_per_node):
            vm(f"{node.name}-VM{j}", node, memory_gib=vm_gib)
        done = node.name in compliant
        record_scan(node, ScanResult(installed=keys if done else set(), missing=set() if done else keys))
    return made
