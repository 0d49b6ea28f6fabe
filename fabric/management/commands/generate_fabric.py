"""A synthetic fabric for demos and benchmarks: Hyper-V clusters, their VMs, SOFS file servers.

Everything generated sits under one host group, "Synthetic fabric <prefix>", so --replace (and
nothing else) removes exactly what an earlier run made.
"""
import ipaddress
import random
import time
import uuid
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone

from core.audit import AuditAction, record
from fabric.choices import ClusterKind, HostStatus, NodeState, VMState
from fabric.models import Cluster, FileShare, Host, HostGroup, VirtualMachine
from fabric.models.grouptree import GroupTree
from fabric.models.validators import is_dns_name

GIB = 1024**3
WS2019 = ("Windows Server 2019 Datacenter", "10.0.17763", 17763, 10)
WS2022 = ("Windows Server 2022 Datacenter", "10.0.20348", 20348, 11)
CLUSTERS_PER_SITE = 10


class Command(BaseCommand):
    help = "Generate a synthetic fabric: by default 1,000 Hyper-V hosts in clusters and 25,000 VMs."

    def add_arguments(self, parser):
        parser.add_argument("--hosts", type=int, default=1000, help="Hyper-V hosts (default 1000)")
        parser.add_argument("--vms", type=int, default=25000, help="virtual machines (default 25000)")
        parser.add_argument("--cluster-size", type=int, default=16, help="nodes per Hyper-V cluster (default 16)")
        parser.add_argument("--sofs-clusters", type=int, default=2, help="Scale-Out File Server clusters (default 2)")
        parser.add_argument("--sofs-nodes", type=int, default=4, help="nodes per file server (default 4)")
        parser.add_argument("--prefix", default="syn", help="name prefix of everything generated (default syn)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--replace", action="store_true", help="remove an earlier fabric with this prefix first")

    def handle(self, *args, hosts, vms, cluster_size, sofs_clusters, sofs_nodes, prefix, seed, replace, **options):
        if hosts < 0 or vms < 0 or sofs_clusters < 0:
            raise CommandError("--hosts, --vms and --sofs-clusters cannot be negative.")
        if not 1 <= cluster_size <= 64 or not 1 <= sofs_nodes <= 64:
            raise CommandError("A failover cluster has 1 to 64 nodes.")
        if vms and not hosts:
            raise CommandError("VMs need at least one Hyper-V host.")
        if not is_dns_name(prefix) or "." in prefix or len(prefix) > 20:
            raise CommandError("--prefix must be a short DNS label (letters, digits, hyphens).")
        started = time.monotonic()
        group_name = f"Synthetic fabric {prefix}"
        with transaction.atomic():
            existing = HostGroup.objects.filter(name=group_name, parent=HostGroup.root()).first()
            if existing is not None:
                if not replace:
                    raise CommandError(f"'{group_name}' already exists: pass --replace to generate it again.")
                self._remove(existing)
            counts = Generator(prefix, random.Random(f"{prefix}/{seed}")).build(
                group_name, hosts, vms, cluster_size, sofs_clusters, sofs_nodes
            )
            record(None, AuditAction.CREATE, HostGroup.objects.get(name=group_name, parent=HostGroup.root()),
                   f"synthetic fabric generated{' (replacing the earlier one)' if existing else ''}: "
                   f"{counts['hosts']} hosts, {counts['vms']} VMs")
        self.stdout.write(
            f"Generated {counts['clusters']} Hyper-V clusters ({counts['hosts']} hosts), "
            f"{counts['sofs']} file servers ({counts['sofs_nodes']} nodes, {counts['shares']} shares) and "
            f"{counts['vms']} VMs under '{group_name}' in {time.monotonic() - started:.1f} s."
        )

    def _remove(self, top: HostGroup) -> None:
        group_ids = GroupTree.load().descendant_ids(top.pk)
        try:
            VirtualMachine.objects.filter(host__host_group_id__in=group_ids).delete()
            VirtualMachine.objects.filter(cluster__host_group_id__in=group_ids).delete()
            Host.objects.filter(host_group_id__in=group_ids).delete()
            Cluster.objects.filter(host_group_id__in=group_ids).delete()
            # Children before parents (the parent link protects).
            for pk in reversed(group_ids):
                HostGroup.objects.filter(pk=pk).delete()
        except (ProtectedError, RestrictedError) as exc:
            raise CommandError(f"Cannot remove the earlier synthetic fabric: {exc.args[0]}") from exc


class Generator:
    def __init__(self, prefix: str, rng: random.Random):
        self.prefix = prefix
        self.rng = rng
        self.now = timezone.now()
        self.next_address = int(ipaddress.ip_address("10.64.0.10"))

    def address(self) -> str:
        self.next_address += 1
        return str(ipaddress.ip_address(self.next_address))

    def build(self, group_name, hosts, vms, cluster_size, sofs_clusters, sofs_nodes) -> dict:
        top = HostGroup.objects.create(name=group_name, parent=HostGroup.root(), description="Made by generate_fabric")
        cluster_count = -(-hosts // cluster_size)
        sites = [
            HostGroup(name=f"Site {n + 1}", parent=top)
            for n in range(max(1, -(-cluster_count // CLUSTERS_PER_SITE)))
        ]
        HostGroup.objects.bulk_create(sites)
        storage = HostGroup.objects.create(name="Storage", parent=top) if sofs_clusters else None

        clusters = []
        for c in range(cluster_count):
            mixed = c % 5 == 4
            os = WS2019 if c % 3 else WS2022
            clusters.append(Cluster(
                name=f"{self.prefix}-c{c + 1:03d}", fqdn=f"{self.prefix}-c{c + 1:03d}.ferry.example",
                kind=ClusterKind.HYPERV, host_group=sites[c // CLUSTERS_PER_SITE], address=self.address(),
                functional_level=WS2019[3] if mixed else os[3], upgrade_version=WS2019[3] if mixed else os[3],
                mixed_mode_since=self.now - timedelta(days=self.rng.randint(1, 20)) if mixed else None,
            ))
        for s in range(sofs_clusters):
            clusters.append(Cluster(
                name=f"{self.prefix}-sofs{s + 1:02d}", fqdn=f"{self.prefix}-sofs{s + 1:02d}.ferry.example",
                kind=ClusterKind.SOFS, host_group=storage, address=self.address(),
                functional_level=WS2022[3], upgrade_version=WS2022[3],
            ))
        Cluster.objects.bulk_create(clusters)

        nodes = []
        for i in range(hosts):
            cluster = clusters[i // cluster_size]
            position = i % cluster_size
            if cluster.mixed_mode_since and position < cluster_size // 2:
                os = WS2022
            else:
                os = WS2022 if cluster.functional_level == WS2022[3] else WS2019
            nodes.append(self.host(f"{cluster.name}-n{position + 1:02d}", cluster, os))
        for s, cluster in enumerate(clusters[cluster_count:]):
            nodes.extend(self.host(f"{cluster.name}-n{n + 1}", cluster, WS2022, memory_gib=256) for n in range(sofs_nodes))
        Host.objects.bulk_create(nodes, batch_size=500)

        shares = [
            FileShare(cluster=cluster, name=f"vmstore{n + 1}", scope_name=f"{cluster.name}-fs",
                      path=f"C:\\ClusterStorage\\Volume{n + 1}\\Shares\\vmstore{n + 1}")
            for cluster in clusters[cluster_count:] for n in range(4)
        ]
        FileShare.objects.bulk_create(shares)

        hyperv_hosts = nodes[:hosts]
        machines = []
        for v in range(vms):
            host = hyperv_hosts[v % len(hyperv_hosts)]
            running = host.node_state == NodeState.UP and self.rng.random() < 0.9
            machines.append(VirtualMachine(
                name=f"{self.prefix}-vm-{v + 1:05d}", vm_id=uuid.UUID(int=self.rng.getrandbits(128), version=4),
                host=host, cluster=host.cluster, state=VMState.RUNNING if running else VMState.OFF,
                memory_bytes=self.rng.choice((2, 4, 8, 16, 32)) * GIB, cpu_count=self.rng.choice((1, 2, 4, 8)),
                highly_available=self.rng.random() < 0.95,
            ))
            if len(machines) >= 2000:
                VirtualMachine.objects.bulk_create(machines)
                machines = []
        VirtualMachine.objects.bulk_create(machines)
        return {
            "clusters": cluster_count, "hosts": hosts, "sofs": sofs_clusters, "sofs_nodes": sofs_clusters * sofs_nodes,
            "shares": len(shares), "vms": vms,
        }

    def host(self, name, cluster, os, memory_gib=512) -> Host:
        roll = self.rng.random()
        if roll < 0.01:
            status, node_state = HostStatus.NOT_RESPONDING, NodeState.DOWN
        elif roll < 0.02:
            status, node_state = HostStatus.IN_MAINTENANCE, NodeState.PAUSED
        elif roll < 0.05:
            status, node_state = HostStatus.PENDING_REBOOT, NodeState.UP
        else:
            status, node_state = HostStatus.RESPONDING, NodeState.UP
        mac = self.rng.getrandbits(24)
        return Host(
            name=name, fqdn=f"{name}.ferry.example", host_group=cluster.host_group, cluster=cluster,
            address=self.address(), os_name=os[0], os_version=os[1], os_build=os[2], status=status,
            node_state=node_state, memory_bytes=memory_gib * GIB, cpu_count=64,
            management_mac="00-15-5D-" + "-".join(f"{(mac >> s) & 0xFF:02X}" for s in (16, 8, 0)),
            bmc_address=str(ipaddress.ip_address(self.next_address + 0x10000)), last_refreshed=self.now,
        )
