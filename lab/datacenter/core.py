"""The datacenter's state, its one lock, lookups, the event log and the effects run after a change."""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import logging
import threading
import time
import uuid

from lab.datacenter.clock import Scheduler, SimClock
from lab.datacenter.faults import Faults
from lab.datacenter.model import NODE_DOWN, NODE_PAUSED, NODE_UP, VM, Cluster, ClusterRole, Host, NodeRecord, Share
from lab.topology import GB, Topology, _stable_uuid

log = logging.getLogger("lab.datacenter")
FAILOVER_SECONDS = 10.0     # simulated: a role or CSV failing over is offline this long


def loopback_address(index: int) -> str:
    """The index-th lab address (1-based): 127.0.10.1 … 127.0.10.254, then 127.0.11.1 …"""
    block, offset = divmod(index - 1, 254)
    return f"127.0.{10 + block}.{offset + 1}"


class OperationError(Exception):
    """An operation the simulated machine refuses; cmdlets turn it into a PowerShell error."""

    def __init__(self, message: str, category: str = "InvalidOperation", error_id: str = "",
                 exception: str = "System.InvalidOperationException"):
        super().__init__(message)
        self.message = message
        self.category = category
        self.error_id = error_id
        self.exception = exception


class Core:
    def __init__(self, topology: Topology, speed: float | None = None):
        self.topology = topology
        self.clock = SimClock(speed if speed is not None else topology.speed)
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self._local = threading.local()
        self._pending: set[tuple[str, str]] = set()
        self.on_endpoints_changed = None      # callable(list of ("host"|"cluster", key)), set by the server
        self.events: collections.deque = collections.deque(maxlen=20000)
        self.event_count = 0
        self.faults = Faults()
        self.scheduler = Scheduler()
        self.started = time.monotonic()
        self.hosts: dict[str, Host] = {}
        self.clusters: dict[str, Cluster] = {}
        self.updates = {u.id: u for u in topology.updates}
        self.stagings = {}
        self.expected_vms: dict[str, str] = {}   # vm id → name: every VM that must exist exactly once
        self.invariants = None                    # lab.invariants.InvariantChecker, set by Datacenter
        self._build()

    # -- construction -------------------------------------------------------------------------
    def _build(self) -> None:
        topo = self.topology
        now = self.clock.now()
        index = 0
        for spec in topo.hosts:
            index += 1
            address = loopback_address(index)
            nics = [dataclasses.replace(n, dns=list(n.dns)) for n in spec.nics]
            for i, nic in enumerate(nics):
                if i == 0 and nic.ip is None:
                    nic.ip = address
            host = Host(
                key=spec.name, name=spec.name, role=spec.role, address=address, bmc_address=address,
                os=spec.os, domain=topo.domain, memory=int(spec.memory_gb * GB), cpus=spec.cpus,
                nics=nics, disks=list(spec.disks), bandwidth=spec.migration_bandwidth_gbps * 1e9 / 8,
                max_migrations=spec.max_migrations, timings=dict(spec.timings),
                winrm_username=spec.winrm_username, winrm_password=spec.winrm_password,
                winrm_transport=spec.winrm_transport, https=spec.https, has_bmc=spec.bmc,
                credssp=spec.credssp, trusted_for_delegation=spec.trusted_for_delegation,
                bmc_username=spec.bmc_username, bmc_password=spec.bmc_password,
                manufacturer=spec.manufacturer, model=spec.model, serial_number=spec.serial_number,
                last_boot=now - dt.timedelta(days=12, hours=index), install_date=now - dt.timedelta(days=400),
                cluster=spec.cluster)
            host.installed = self._initial_updates(spec, now)
            for vm_spec in spec.vms:
                vm_id = vm_spec.id or _stable_uuid("vm", vm_spec.name)
                vm = VM(id=vm_id, name=vm_spec.name, memory=int(vm_spec.memory_gb * GB), cpus=vm_spec.cpus,
                        state=vm_spec.state, highly_available=vm_spec.highly_available,
                        generation=vm_spec.generation, automatic_stop_action=vm_spec.automatic_stop_action,
                        group_id=_stable_uuid("group", vm_spec.name), path=vm_spec.path,
                        started_at=now - dt.timedelta(days=3) if vm_spec.state in ("Running", "Paused") else None)
                host.vms[vm.id] = vm
                self.expected_vms[vm.id] = vm.name
            self.hosts[host.key] = host
        for spec in topo.clusters:
            index += 1
            records = [NodeRecord(host_key=n, name=n, id=i + 1) for i, n in enumerate(spec.nodes)]
            cluster = Cluster(
                key=spec.name, name=spec.name, kind=spec.kind, id=spec.id or _stable_uuid("cluster", spec.name),
                address=loopback_address(index), domain=topo.domain, functional_level=spec.functional_level,
                nodes=records, core_owner=spec.nodes[0], winrm_username=spec.winrm_username,
                winrm_password=spec.winrm_password, winrm_transport=spec.winrm_transport,
                credssp=spec.credssp, trusted_for_delegation=spec.trusted_for_delegation,
                witness=spec.witness, witness_type=spec.witness_type,
                core_group_id=_stable_uuid("core", spec.name), storage_group_id=_stable_uuid("storage", spec.name),
                next_node_id=len(records) + 1, s2d=spec.s2d, resync_ratio=spec.resync_ratio,
                resync_min_seconds=spec.resync_min_seconds)
            for i, role in enumerate(spec.sofs_roles):
                cluster.sofs_roles.append(ClusterRole(name=role, id=_stable_uuid("role", spec.name, role),
                                                      owner=spec.nodes[i % len(spec.nodes)]))
            for csv in spec.csvs:
                cluster.csvs.append(ClusterRole(name=csv.name, id=csv.id or _stable_uuid("csv", spec.name, csv.name),
                                                owner=self._host_named(csv.owner).key, size=int(csv.size_gb * GB),
                                                free=int(csv.free_gb * GB)))
            for share in spec.shares:
                cluster.shares.append(Share(share.name, share.path, share.scope, share.continuously_available,
                                            share.description))
            self.clusters[cluster.key] = cluster
        for fault in topo.faults:
            self.faults.add(fault, self._fault_host, self._fault_vm, self._fault_csv)

    def _initial_updates(self, spec, now) -> dict[str, dt.datetime]:
        applicable = [u for u in self.topology.updates if spec.os.key in u.applies_to]
        refs = {r.lower().removeprefix("kb") for r in (spec.installed_updates or spec.missing_updates)}

        def named(update):
            return update.id.lower() in refs or update.kb.lower() in refs

        if spec.installed_updates is not None:
            chosen = [u for u in applicable if named(u)]
        else:
            chosen = [u for u in applicable if not named(u)]
        return {u.id: dt.datetime.combine(u.release_date, dt.time(3), dt.timezone.utc) for u in chosen}

    # -- locking, change tracking --------------------------------------------------------------
    @contextlib.contextmanager
    def change(self):
        """Hold the lock while changing state; on the way out check invariants, wake waiters and
        (outside the lock) bring endpoints in line with the new state."""
        depth = getattr(self._local, "depth", 0)
        pending = None
        with self.lock:
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
                if depth == 0:
                    if self.invariants is not None:
                        self.invariants.check()
                    self.cond.notify_all()
                    pending, self._pending = self._pending, set()
        if pending and self.on_endpoints_changed is not None:
            self.on_endpoints_changed(sorted(pending))

    def touch(self, kind: str, key: str) -> None:
        """Mark an endpoint ("host" or "cluster") whose listening state must be reconciled."""
        self._pending.add((kind, key))

    def event(self, name: str, /, **detail) -> None:
        self.event_count += 1
        entry = {"seq": self.event_count, "time": self.clock.now().isoformat(),
                 "elapsed": round(self.clock.elapsed(), 3), "event": name}
        entry.update(detail)
        self.events.append(entry)
        log.info("%s %s", name, detail)

    # -- lookups -------------------------------------------------------------------------------
    def _host_named(self, name: str) -> Host:
        host = self.find_host(name)
        if host is None:
            raise KeyError(name)
        return host

    def find_host(self, name: str) -> Host | None:
        """A host by computer name, FQDN, management address or stable key (case-insensitive)."""
        if not name:
            return None
        wanted = name.strip().lower()
        for host in self.hosts.values():
            if wanted in (host.name.lower(), host.fqdn.lower(), host.address):
                return host
        for host in self.hosts.values():
            if any(nic.ip == wanted for nic in host.nics):
                return host
        for host in self.hosts.values():
            if host.key.lower() == wanted:
                return host
        return None

    def find_cluster(self, name: str) -> Cluster | None:
        wanted = name.strip().lower()
        for cluster in self.clusters.values():
            if wanted in (cluster.name.lower(), cluster.fqdn.lower(), cluster.address):
                return cluster
        return None

    def find_vm(self, name_or_id: str, hosts=None) -> tuple[Host, VM] | None:
        wanted = str(name_or_id).strip().lower()
        for host in hosts if hosts is not None else self.hosts.values():
            for vm in host.vms.values():
                if vm.id == wanted or vm.name.lower() == wanted:
                    return host, vm
        return None

    def cluster_of(self, host: Host) -> Cluster | None:
        return self.clusters.get(host.cluster) if host.cluster else None

    def _fault_host(self, name: str) -> str:
        host = self.find_host(name)
        if host is not None:
            return host.key
        cluster = self.find_cluster(name)
        if cluster is not None:
            return "cluster:" + cluster.key
        raise ValueError(f"no host or cluster named '{name}'")

    def _fault_csv(self, name: str, cluster_name: str | None = None) -> str:
        """A CSV by name (names repeat across clusters: then 'cluster' says which)."""
        found = [(c, v) for c in self.clusters.values() for v in c.csvs if v.name.lower() == name.strip().lower()
                 and (cluster_name is None or c.name.lower() == str(cluster_name).strip().lower())]
        if not found:
            raise ValueError(f"no cluster shared volume named '{name}'"
                             + (f" in cluster '{cluster_name}'" if cluster_name else ""))
        if len(found) > 1:
            raise ValueError(f"several clusters have a volume named '{name}' "
                             f"({', '.join(c.name for c, _ in found)}): give 'cluster'")
        return found[0][1].id

    def _fault_vm(self, name: str) -> str:
        found = self.find_vm(name)
        if found is None:
            raise ValueError(f"no VM named '{name}'")
        return found[1].id

    # -- cluster views -------------------------------------------------------------------------
    def node_state(self, cluster: Cluster, record: NodeRecord) -> int:
        host = self.hosts.get(record.host_key)
        if host is None or host.cluster != cluster.key or not host.online:
            return NODE_DOWN
        return NODE_PAUSED if host.paused else NODE_UP

    def members(self, cluster: Cluster, states=(NODE_UP,)) -> list[Host]:
        return [self.hosts[r.host_key] for r in cluster.nodes if self.node_state(cluster, r) in states]

    def has_quorum(self, cluster: Cluster) -> bool:
        votes = sum(1 for r in cluster.nodes if self.node_state(cluster, r) in (NODE_UP, NODE_PAUSED))
        witness = 1 if cluster.witness else 0
        return (votes + witness) * 2 > len(cluster.nodes) + witness

    def cluster_online(self, cluster: Cluster) -> bool:
        return self.has_quorum(cluster) and bool(self.members(cluster, (NODE_UP, NODE_PAUSED)))

    def refresh_ownership(self, cluster: Cluster) -> None:
        """Fail the core group, SOFS roles and CSVs over to a running node, as the cluster does."""
        up = self.members(cluster, (NODE_UP,))
        running = up or self.members(cluster, (NODE_PAUSED,))
        if not running:
            return
        running_keys = {h.key for h in running}
        outage_ends = time.monotonic() + self.clock.wall(FAILOVER_SECONDS)
        if cluster.core_owner not in running_keys:
            old, cluster.core_owner = cluster.core_owner, running[0].key
            self.event("core-group-moved", cluster=cluster.name, source=old, target=cluster.core_owner)
            self.touch("cluster", cluster.key)
        for i, item in enumerate(cluster.sofs_roles + cluster.csvs):
            if item.owner not in running_keys:
                # Not moved before its node went: the cluster fails it over, a short outage.
                item.owner = running[i % len(running)].key
                item.failover_until = outage_ends
                self.event("failover", cluster=cluster.name, item=item.name, target=self.hosts[item.owner].name)

    # -- state for the control endpoint ----------------------------------------------------------
    def vm_view(self, host: Host, vm: VM) -> dict:
        return {"name": vm.name, "id": vm.id, "state": vm.state, "host": host.name, "host_key": host.key,
                "memory_bytes": vm.memory, "highly_available": vm.highly_available,
                "migrating_to": self.hosts[vm.migration.target].name if vm.migration else None}

    def state(self) -> dict:
        with self.lock:
            hosts = []
            for host in self.hosts.values():
                cluster = self.cluster_of(host)
                record = cluster.record(host.key) if cluster else None
                node_state = self.node_state(cluster, record) if record else None
                hosts.append({
                    "key": host.key, "name": host.name, "fqdn": host.fqdn, "role": host.role,
                    "address": host.address, "power": "on" if host.power_on else "off",
                    "os_state": host.os_state, "online": host.online,
                    "os": {"caption": host.os.caption, "version": host.os.version, "build": host.os.build},
                    "cluster": cluster.name if cluster else None,
                    "node_state": {0: "Up", 1: "Down", 2: "Paused"}.get(node_state) if record else None,
                    "drain_status": host.drain_status if record else None,
                    "memory_bytes": host.memory, "memory_in_use_bytes": host.memory_in_use(),
                    "active_migrations": host.active_migrations, "max_migrations": host.max_migrations,
                    "installed_updates": sorted(self.updates[u].kb for u in host.installed if u in self.updates),
                    "missing_updates": sorted(u.kb for u in self.applicable_missing(host)),
                    "pending_reboot": host.pending_reboot,
                    "last_boot": host.last_boot.isoformat() if host.last_boot else None,
                    "boot_device": host.boot_device, "domain": host.domain,
                    "ip": host.management_nic().ip,
                    "vms": [vm.name for vm in host.vms.values()],
                })
            clusters = []
            for cluster in self.clusters.values():
                clusters.append({
                    "name": cluster.name, "kind": cluster.kind, "address": cluster.address,
                    "functional_level": cluster.functional_level, "quorum": self.has_quorum(cluster),
                    "online": self.cluster_online(cluster),
                    "core_owner": self.hosts[cluster.core_owner].name,
                    "nodes": [{"name": r.name,
                               "host": self.hosts[r.host_key].name if r.host_key in self.hosts else None,
                               "state": {0: "Up", 1: "Down", 2: "Paused"}[self.node_state(cluster, r)]}
                              for r in cluster.nodes],
                    "sofs_roles": [{"name": r.name, "owner": self.hosts[r.owner].name} for r in cluster.sofs_roles],
                    "csvs": [{"name": c.name, "owner": self.hosts[c.owner].name} for c in cluster.csvs],
                    "storage_jobs": self.storage_job_views(cluster),
                    "shares": [s.name for s in cluster.shares],
                })
            vms = [self.vm_view(h, vm) for h in self.hosts.values() for vm in h.vms.values()]
            return {"time": self.clock.now().isoformat(), "elapsed": self.clock.elapsed(),
                    "speed": self.clock.speed, "hosts": hosts, "clusters": clusters, "vms": vms,
                    "stagings": [{"device_id": s.device_id, "device_name": s.device_name}
                                 for s in self.stagings.values()],
                    "faults": self.faults.list()}

    def timings(self) -> dict:
        with self.lock:
            return {"speed": self.clock.speed, "hosts": {
                h.name: {**h.timings, "migration_bandwidth_bytes_per_second": h.bandwidth,
                         "max_migrations": h.max_migrations, "memory_bytes": h.memory,
                         "vms": {vm.name: {"memory_bytes": vm.memory, "state": vm.state}
                                 for vm in h.vms.values()}}
                for h in self.hosts.values()},
                "migration_seconds": "memory_bytes / min(source, target) migration_bandwidth_bytes_per_second",
                "install_seconds": "install_base_seconds + install_per_update_seconds * updates installed",
                "restart_seconds": "reboot_seconds from Restart-Computer until WinRM answers again"}

    def new_id(self) -> str:
        return str(uuid.uuid4())
