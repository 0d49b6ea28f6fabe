"""Moving VMs: live and quick migration, the cluster's own drain, failback, VM power."""
from __future__ import annotations

import threading
import time

from lab.datacenter.core import OperationError
from lab.datacenter.model import DRAIN_COMPLETED, DRAIN_FAILED, DRAIN_IN_PROGRESS, NODE_UP, VM, Cluster, Host, Migration

MOVE_FQID = "Move-ClusterVirtualMachineRole"


class MigrationOps:
    # -- placement -----------------------------------------------------------------------------
    def cluster_vm(self, cluster: Cluster, ref: str) -> tuple[Host, VM]:
        hosts = [self.hosts[r.host_key] for r in cluster.nodes if r.host_key in self.hosts
                 and self.hosts[r.host_key].cluster == cluster.key]
        found = self.find_vm(ref, hosts)
        if found is None or not found[1].highly_available:
            raise OperationError(f"The cluster group '{ref}' was not found in cluster '{cluster.name}'.",
                                 "ObjectNotFound", "ClusterObjectNotFound",
                                 "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")
        return found

    def pick_target(self, cluster: Cluster, vm: VM, exclude: Host, promised: dict | None = None) -> Host | None:
        """What the cluster itself does: the Up node with the most free memory that fits the VM (and
        runs a release that supports its configuration version).

        `promised`: vm id → (target key, bytes) chosen for moves that have not reserved memory yet."""
        def free(host: Host) -> int:
            waiting = sum(size for vm_id, (key, size) in (promised or {}).items()
                          if key == host.key and vm_id not in host.incoming and vm_id not in host.vms)
            return host.free_memory() - waiting

        best = None
        for host in self.members(cluster, (NODE_UP,)):
            if host is exclude or free(host) < vm.memory or float(vm.version) > float(host.os.vm_version):
                continue
            if best is None or free(host) > free(best):
                best = host
        return best

    def _check_target(self, cluster: Cluster, source: Host, target: Host, vm: VM) -> None:
        record = cluster.record(target.key)
        if record is None or target.cluster != cluster.key:
            raise OperationError(f"The node '{target.name}' is not a member of cluster '{cluster.name}'.",
                                 "ObjectNotFound", "ClusterObjectNotFound",
                                 "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")
        state = self.node_state(cluster, record)
        if state != NODE_UP:
            word = "paused" if target.paused and target.online else "down"
            raise OperationError(
                f"Move of cluster role '{vm.name}' to node '{target.name}' failed: the node is {word}.",
                "InvalidOperation", "MoveClusterGroupFailed",
                "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")
        if float(vm.version) > float(target.os.vm_version):
            # Mixed mode lets VMs move between releases only while their version is one both run.
            raise OperationError(
                f"Virtual machine migration operation for '{vm.name}' failed at migration destination "
                f"'{target.name}'. The virtual machine's configuration version {vm.version} is not supported "
                f"by {target.os.caption} (highest {target.os.vm_version}).", "InvalidOperation",
                "MigrationFailed", "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")
        if vm.in_memory and target.free_memory() < vm.memory:
            self.event("migration-refused", vm=vm.name, source=source.name, target=target.name,
                       reason="not enough memory")
            raise OperationError(
                f"Virtual machine migration operation for '{vm.name}' failed at migration destination "
                f"'{target.name}'. (Virtual machine ID {vm.id.upper()}) Not enough memory in the system "
                f"to start the virtual machine {vm.name}.", "InvalidOperation", "MigrationFailed",
                "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")

    # -- moving one VM -------------------------------------------------------------------------
    def move_vm(self, cluster_key: str, vm_ref: str, target_ref: str | None = None,
                kind: str = "Live") -> tuple[Host, VM]:
        """Move a clustered VM (Move-ClusterVirtualMachineRole). Blocks for the migration time."""
        with self.change():
            cluster = self.clusters[cluster_key]
            source, vm = self.cluster_vm(cluster, vm_ref)
            if target_ref is None:
                target = self.pick_target(cluster, vm, exclude=source)
                if target is None:
                    raise OperationError(f"No node of cluster '{cluster.name}' can host '{vm.name}' "
                                         f"({vm.memory / 2**30:.0f} GB).", "InvalidOperation",
                                         "MoveClusterGroupFailed",
                                         "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")
            else:
                target = self.find_host(target_ref)
                if target is None:
                    raise OperationError(f"The node '{target_ref}' was not found in cluster '{cluster.name}'.",
                                         "ObjectNotFound", "ClusterObjectNotFound",
                                         "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")
            if target is source:
                return source, vm
            self._check_target(cluster, source, target, vm)
            if not vm.in_memory:
                self._transfer(source, target, vm)
                self.event("vm-moved", vm=vm.name, source=source.name, target=target.name, state=vm.state)
                return target, vm
            if kind == "Live":
                while (vm.migration is not None or source.active_migrations >= source.max_migrations
                       or target.active_migrations >= target.max_migrations):
                    self.cond.wait()
                    source, vm = self.cluster_vm(cluster, vm_ref)
                    if target is source:
                        return source, vm
                    self._check_target(cluster, source, target, vm)
                    if not vm.in_memory:
                        self._transfer(source, target, vm)
                        return target, vm
            elif vm.migration is not None:
                raise OperationError(f"'{vm.name}' is already being migrated.", "ResourceBusy", "MigrationInProgress")
            duration = self.clock.wall(vm.memory / min(source.bandwidth, target.bandwidth))
            if kind in ("Shutdown", "TurnOff"):
                duration = 0.0
            fault = self.faults.take("migration_fails", vm_id=vm.id) if kind == "Live" else None
            self.event("migration-started", vm=vm.name, kind=kind, source=source.name, target=target.name,
                       seconds=round(duration * self.clock.speed, 3))
            now = time.monotonic()
            if kind == "Live":
                source.active_migrations += 1
                target.active_migrations += 1
            vm.migration = Migration(vm.id, source.key, target.key, kind, now, now + duration)
            target.incoming[vm.id] = vm.memory
            source.activity = target.activity = now
            if kind == "Quick":
                vm.state = "Saved"
            elif kind != "Live":
                vm.state = "Off"
        time.sleep(duration / 2 if fault else duration)
        with self.change():
            vm.migration = None
            target.incoming.pop(vm.id, None)
            if kind == "Live":
                source.active_migrations -= 1
                target.active_migrations -= 1
            source.activity = target.activity = time.monotonic()
            if fault:
                self.event("migration-failed", vm=vm.name, source=source.name, target=target.name,
                           reason="injected fault")
                message = fault.get("message") or (
                    f"Virtual machine migration operation for '{vm.name}' failed at migration source "
                    f"'{source.name}'. (Virtual machine ID {vm.id.upper()}) The virtual machine migration "
                    f"operation was cancelled because the connection with the destination was lost.")
                raise OperationError(message, "OperationStopped", "MigrationFailed",
                                     "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")
            if vm.id not in source.vms or (kind == "Live" and not vm.in_memory):
                raise OperationError(f"Live migration of '{vm.name}' failed: the source node "
                                     f"'{source.name}' went down.", "OperationStopped", "MigrationFailed",
                                     "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")
            if not target.online or target.cluster != cluster_key:
                if kind != "Live":
                    vm.state = "Saved" if kind == "Quick" else "Off"
                raise OperationError(f"Migration of '{vm.name}' failed: the destination node "
                                     f"'{target.name}' went down.", "OperationStopped", "MigrationFailed",
                                     "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")
            self._transfer(source, target, vm)
            if kind != "Live":
                vm.state = "Running"
                vm.started_at = self.clock.now()
            self.event("migration-finished", vm=vm.name, kind=kind, source=source.name, target=target.name)
            return target, vm

    def _transfer(self, source: Host, target: Host, vm: VM) -> None:
        del source.vms[vm.id]
        target.vms[vm.id] = vm

    # -- drain / failback (what Suspend-ClusterNode -Drain and Resume-ClusterNode do) ------------
    def pause_node(self, cluster_key: str, host_key: str, drain: bool, force: bool = False,
                   target_ref: str | None = None, wait: bool = True) -> None:
        with self.change():
            cluster = self.clusters[cluster_key]
            host = self.hosts[host_key]
            if not host.online:
                raise OperationError(f"The node '{host.name}' is down and cannot be paused.",
                                     "InvalidOperation", "SuspendClusterNodeFailed",
                                     "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")
            host.paused = True
            host.activity = time.monotonic()
            self.event("node-paused", cluster=cluster.name, node=host.name, drain=drain)
            if not drain:
                return
            host.drain_status = DRAIN_IN_PROGRESS
            stuck = self._move_roles_off(cluster, host)
        if wait:
            self._drain(cluster_key, host_key, force, target_ref, stuck)
        else:
            threading.Thread(target=self._drain_quietly, args=(cluster_key, host_key, force, target_ref, stuck),
                             daemon=True, name=f"drain-{host_key}").start()

    def _move_roles_off(self, cluster: Cluster, host: Host) -> list[str]:
        """The drain moves the core group, SOFS roles and CSVs first; returns what could not move."""
        up = [h for h in self.members(cluster, (NODE_UP,)) if h is not host]
        if not up:
            return []
        if cluster.core_owner == host.key:
            cluster.core_owner = up[0].key
            self.touch("cluster", cluster.key)
        stuck = []
        for i, item in enumerate(cluster.sofs_roles + cluster.csvs):
            if item.owner != host.key:
                continue
            reason = self._take_csv_fault(item) if item in cluster.csvs else None
            if reason is not None:
                stuck.append(f"{item.name}: {reason}")
                continue
            item.owner = up[i % len(up)].key
            self.event("role-drained", cluster=cluster.name, item=item.name, target=self.hosts[item.owner].name)
        return stuck

    def _drain_quietly(self, *args) -> None:
        try:
            self._drain(*args)
        except OperationError:
            pass

    def _drain(self, cluster_key: str, host_key: str, force: bool, target_ref: str | None,
               stuck: list[str] = ()) -> None:
        """As many live migrations at once as the node's limit (MaximumVirtualMachineMigrations), the
        rest queued; each VM goes to the Up node with the most free memory when its turn comes.

        A VM that cannot move leaves DrainStatus Failed and the node paused, and the cmdlet still
        returns without an error (the caller must read DrainStatus; unconfirmed whether Windows also
        writes an error). With -ForceDrain such a VM is stopped and moved as a failed role, and the
        drain completes. `stuck`: SOFS roles or CSVs that could not move (they fail the drain too)."""
        with self.lock:
            cluster = self.clusters[cluster_key]
            host = self.hosts[host_key]
            queue = [vm.id for vm in host.vms.values() if vm.highly_available]
            width = max(1, host.max_migrations)
        failures: list[str] = list(stuck)
        promised: dict[str, tuple[str, int]] = {}
        lock = threading.Lock()

        def worker():
            while True:
                with lock:
                    if not queue:
                        return
                    vm_id = queue.pop(0)
                with self.lock:
                    vm = host.vms.get(vm_id)
                    if vm is None:
                        continue
                    target = self.find_host(target_ref) if target_ref else self.pick_target(cluster, vm, host, promised)
                    if target is not None:
                        promised[vm_id] = (target.key, vm.memory)
                    else:
                        self.event("migration-refused", vm=vm.name, source=host.name, target=None,
                                   reason="no node has the memory free")
                try:
                    if target is None:
                        raise OperationError(f"no node has {vm.memory / 2**30:.0f} GB free for '{vm.name}'")
                    self.move_vm(cluster_key, vm_id, target.key)
                    with self.lock:
                        vm.drained_from = host_key
                except OperationError as error:
                    if force:
                        self._force_off(cluster, host, vm)
                    with lock:
                        failures.append(f"{vm.name}: {error.message}")
                finally:
                    with self.lock:
                        promised.pop(vm_id, None)

        workers = [threading.Thread(target=worker, daemon=True) for _ in range(width)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        with self.change():
            if host.paused and host.cluster == cluster_key:
                host.drain_status = DRAIN_FAILED if failures and not force else DRAIN_COMPLETED
            self.event("drain-finished", node=host.name, failures=failures)

    def _force_off(self, cluster: Cluster, host: Host, vm: VM) -> None:
        """-ForceDrain: a role that cannot move is stopped and moved to another node as a failed role."""
        with self.change():
            if vm.id not in host.vms:
                return
            if vm.in_memory:
                vm.state, vm.started_at = "Off", None
                self.invariants.record("vm-crashed", vm.name, f"VM {vm.name} could not be moved off {host.name}; "
                                                              f"-ForceDrain stopped it")
            others = [h for h in self.members(cluster, (NODE_UP,)) if h is not host]
            if others:
                self._transfer(host, others[0], vm)
            self.event("vm-stopped-by-force-drain", vm=vm.name, node=host.name)

    def resume_node(self, cluster_key: str, host_key: str, failback: str = "NoFailback") -> None:
        with self.change():
            cluster = self.clusters[cluster_key]
            host = self.hosts[host_key]
            if not host.online:
                raise OperationError(f"The node '{host.name}' is down.", "InvalidOperation",
                                     "ResumeClusterNodeFailed",
                                     "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")
            host.paused = False
            host.drain_status = 0
            self.event("node-resumed", cluster=cluster.name, node=host.name, failback=failback)
            back = []
            for other in self.members(cluster, (NODE_UP,)):
                for vm in other.vms.values():
                    if vm.drained_from == host_key:
                        if failback == "Immediate" and other is not host:
                            back.append(vm.id)
                        else:
                            vm.drained_from = None
        for vm_id in back:
            try:
                self.move_vm(cluster_key, vm_id, host_key)
            except OperationError as error:
                with self.lock:
                    self.event("failback-failed", node=host.name, vm=vm_id, reason=error.message)
            with self.lock:
                found = self.find_vm(vm_id)
                if found:
                    found[1].drained_from = None

    # -- VM power (Hyper-V cmdlets) ---------------------------------------------------------------
    def vm_power(self, host_key: str, vm_ref: str, action: str, force_memory: bool = False) -> VM:
        with self.change():
            host = self.hosts[host_key]
            found = self.find_vm(vm_ref, [host])
            if found is None:
                raise OperationError(f'Hyper-V was unable to find a virtual machine with name "{vm_ref}".',
                                     "InvalidArgument", "InvalidParameter",
                                     "Microsoft.HyperV.PowerShell.VirtualizationException")
            vm = found[1]
            if vm.migration is not None:
                raise OperationError(f"The operation cannot be performed while the virtual machine "
                                     f"'{vm.name}' is being migrated.", "ResourceBusy", "OperationFailed",
                                     "Microsoft.HyperV.PowerShell.VirtualizationException")
            if (action == "start" and vm.state == "Paused") or (action == "resume" and vm.state != "Paused"):
                # Unconfirmed, stricter than may be needed: a Paused VM is continued with Resume-VM, and
                # Resume-VM continues only a Paused one.
                raise OperationError(f"'{vm.name}' failed to change state. The operation cannot be performed "
                                     f"while the object is in its current state ({vm.state}).", "InvalidOperation",
                                     "InvalidState", "Microsoft.HyperV.PowerShell.VirtualizationException")
            if action == "resume":
                vm.state = "Running"
            elif action == "start":
                if vm.state == "Running":
                    return vm
                if host.free_memory() < vm.memory and not force_memory:
                    raise OperationError(f"'{vm.name}' failed to start. Not enough memory in the system to "
                                         f"start the virtual machine {vm.name}.", "ResourceUnavailable",
                                         "OutOfMemory", "Microsoft.HyperV.PowerShell.VirtualizationException")
                vm.started_at = self.clock.now()
                vm.state = "Running"
            elif action == "save":
                if vm.state not in ("Running", "Paused"):
                    raise OperationError(f"The virtual machine '{vm.name}' is not in a state that can be saved.",
                                         "InvalidOperation", "InvalidState",
                                         "Microsoft.HyperV.PowerShell.VirtualizationException")
                vm.state, vm.started_at = "Saved", None
            elif action in ("stop", "turnoff"):
                vm.state, vm.started_at = "Off", None
            elif action == "suspend":
                vm.state = "Paused"
            host.activity = time.monotonic()
            self.event("vm-" + action, vm=vm.name, host=host.name)
            return vm
