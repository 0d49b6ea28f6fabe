"""The simulated datacenter: hosts, clusters, VMs, SOFS, updates, WSUS, the deployment server.

All state lives in one `Datacenter` behind one lock; operations that take simulated time sleep
outside the lock so only the WinRM command that asked for them waits.
"""
from __future__ import annotations

from lab.datacenter.cluster_ops import ClusterOps
from lab.datacenter.core import Core, OperationError, loopback_address
from lab.datacenter.deployment import DeploymentOps
from lab.datacenter.dhcp import DhcpOps
from lab.datacenter.hostconfig import ROLE_FEATURES, HostConfigOps
from lab.datacenter.migration import MigrationOps
from lab.datacenter.power import PowerOps
from lab.datacenter.storage import StorageOps
from lab.datacenter.updates import UpdateOps
from lab.invariants import InvariantChecker
from lab.topology import OS_RELEASES, Topology

__all__ = ["Datacenter", "OperationError", "loopback_address"]

INVARIANT_TICK_WALL_SECONDS = 0.25


class Datacenter(Core, MigrationOps, ClusterOps, PowerOps, UpdateOps, DeploymentOps, DhcpOps, HostConfigOps,
                 StorageOps):
    def __init__(self, topology: Topology, speed: float | None = None):
        super().__init__(topology, speed)
        self.images = list(topology.images)      # WDS install images (imported) and media waiting on disk
        self.reservations = []                   # DHCP IPv4 reservations on the deployment server
        by_level = {r.functional_level: r for r in OS_RELEASES.values()}
        specs = {vm.name: vm for host in topology.hosts for vm in host.vms}
        for host in self.hosts.values():
            host.features = set(ROLE_FEATURES[host.role])
            cluster = self.cluster_of(host)
            default = by_level[cluster.functional_level].vm_version if cluster else host.os.vm_version
            for vm in host.vms.values():
                vm.version = specs[vm.name].version or default
        self.invariants = InvariantChecker(self)
        with self.change():
            for cluster in self.clusters.values():
                self.refresh_ownership(cluster)
        # Time-based rules (a paused node left with running VMs) need a look even when nothing changes.
        self.scheduler.every(INVARIANT_TICK_WALL_SECONDS, self._tick)

    def _tick(self) -> None:
        with self.lock:
            self.invariants.check()

    def add_fault(self, spec: dict) -> dict:
        with self.change():
            fault = self.faults.add(spec, self._fault_host, self._fault_vm, self._fault_csv)
            self.event("fault-added", **{k: v for k, v in fault.items() if k != "remaining"})
            if fault["kind"] in ("winrm_timeout", "winrm_http500"):
                self._touch_fault_target(fault)
            return fault

    def remove_faults(self, fault_id: int | None = None) -> list[dict]:
        with self.change():
            removed = self.faults.remove(fault_id)
            for fault in removed:
                self.event("fault-removed", id=fault["id"], kind=fault["kind"])
                if fault["kind"] in ("winrm_timeout", "winrm_http500"):
                    self._touch_fault_target(fault)
            return removed

    def _touch_fault_target(self, fault: dict) -> None:
        key = fault["host_key"]
        if key.startswith("cluster:"):
            self.touch("cluster", key.removeprefix("cluster:"))
        else:
            self.touch("host", key)

    def take_winrm_fault(self, kind: str, key: str) -> str | None:
        """The fault one request to a host's (or a cluster name's) WinRM endpoint meets, if any,
        counted as one firing: "timeout" (never answered), "http500", or None."""
        with self.lock:
            target = key if kind == "host" else "cluster:" + key
            for fault_kind, answer in (("winrm_timeout", "timeout"), ("winrm_http500", "http500")):
                fault = self.faults.take(fault_kind, host_key=target)
                if fault is not None:
                    self.event("fault-fired", id=fault["id"], kind=fault_kind, host=fault["host"],
                               remaining=fault["remaining"])
                    return answer
            return None

    def stop(self) -> None:
        self.scheduler.stop()
