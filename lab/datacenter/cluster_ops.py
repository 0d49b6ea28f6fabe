"""Cluster membership: evict, add, functional level, shared volumes; out-of-band changes."""
from __future__ import annotations

import time

from lab.datacenter.core import OperationError
from lab.datacenter.model import NODE_DOWN, NODE_PAUSED, NODE_UP, NodeRecord

CLUSTER_EXCEPTION = "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException"
# The error ids "ClusterObjectNotFound" (here and in migration.py) are the lab's invention (unconfirmed).


class ClusterOps:
    def evict_node(self, cluster_key: str, node_ref: str) -> None:
        """Remove-ClusterNode: running clustered VMs still on it fail over (they crash and restart)."""
        with self.change():
            cluster = self.clusters[cluster_key]
            record = self._record_named(cluster, node_ref)
            if len(cluster.nodes) == 1:
                raise OperationError(f"The node '{record.name}' is the last node of cluster '{cluster.name}'; "
                                     f"remove the cluster instead.", "InvalidOperation", "RemoveClusterNodeFailed",
                                     CLUSTER_EXCEPTION)
            host = self.hosts.get(record.host_key)
            cluster.nodes.remove(record)
            if cluster.s2d:
                # its pool disks leave with it: the virtual disks miss a copy until it rejoins and resyncs
                cluster.down_since.setdefault(record.host_key, self.clock.elapsed())
            else:
                cluster.down_since.pop(record.host_key, None)
            if host is not None and host.cluster == cluster.key:
                host.cluster = None
                host.paused = False
                host.drain_status = 0
                survivors = self.members(cluster, (NODE_UP,))
                for vm in [v for v in host.vms.values() if v.highly_available]:
                    crashed = vm.in_memory
                    if crashed:
                        vm.state, vm.started_at = "Off", None
                        self.invariants.record("vm-crashed", vm.name, f"VM {vm.name} was running on {host.name} "
                                               f"when it was evicted from {cluster.name}; it failed over")
                    fits = [h for h in survivors if h.free_memory() >= vm.memory]
                    target = max(fits or survivors, key=lambda h: h.free_memory(), default=None)
                    if target is None:
                        continue
                    del host.vms[vm.id]
                    target.vms[vm.id] = vm
                    if crashed and target in fits:
                        vm.state, vm.started_at = "Running", self.clock.now()
                    self.event("vm-failed-over", vm=vm.name, target=target.name, state=vm.state)
            self.refresh_ownership(cluster)
            self.touch("cluster", cluster.key)
            self.event("node-evicted", cluster=cluster.name, node=record.name)

    def _record_named(self, cluster, node_ref: str) -> NodeRecord:
        wanted = node_ref.strip().lower()
        for record in cluster.nodes:
            host = self.hosts.get(record.host_key)
            names = {record.name.lower()}
            if host is not None and host.cluster == cluster.key:
                names |= {host.name.lower(), host.fqdn.lower(), host.address}
            if wanted in names:
                return record
        raise OperationError(f"The node '{node_ref}' was not found in cluster '{cluster.name}'.", "ObjectNotFound",
                             "ClusterObjectNotFound", CLUSTER_EXCEPTION)

    def add_node(self, cluster_key: str, host_ref: str) -> NodeRecord:
        with self.change():
            cluster = self.clusters[cluster_key]
            host = self.find_host(host_ref)
            if host is None or not host.online:
                raise OperationError(f"The computer '{host_ref}' could not be reached; the node cannot be added "
                                     f"to cluster '{cluster.name}'.", "ConnectionError", "AddClusterNodeFailed",
                                     CLUSTER_EXCEPTION)
            if host.cluster is not None:
                owner = self.clusters[host.cluster].name
                raise OperationError(f"The computer '{host.name}' is already a member of cluster '{owner}'.",
                                     "ResourceExists", "AddClusterNodeFailed", CLUSTER_EXCEPTION)
            if any(r.name.lower() == host.name.lower() for r in cluster.nodes):
                raise OperationError(f"A node named '{host.name}' is already in cluster '{cluster.name}'; evict it "
                                     f"first.", "ResourceExists", "AddClusterNodeFailed", CLUSTER_EXCEPTION)
            if host.role != cluster.kind:
                needs = "Hyper-V" if cluster.kind == "hyperv" else "File Server"
                raise OperationError(f"The computer '{host.name}' does not have the {needs} role that the nodes of "
                                     f"cluster '{cluster.name}' run.", "InvalidOperation", "AddClusterNodeFailed",
                                     CLUSTER_EXCEPTION)
            self.require_cluster_features(host, cluster.kind, cluster.name)
            if (host.domain or "").lower() != cluster.domain.lower():
                raise OperationError(f"The computer '{host.name}' is not joined to domain {cluster.domain}.",
                                     "InvalidOperation", "AddClusterNodeFailed", CLUSTER_EXCEPTION)
            level = host.os.functional_level
            if level < cluster.functional_level or level > cluster.functional_level + 1:
                raise OperationError(
                    f"The computer '{host.name}' runs {host.os.caption} (cluster functional level {level}); "
                    f"cluster '{cluster.name}' at functional level {cluster.functional_level} accepts nodes at "
                    f"level {cluster.functional_level} or {cluster.functional_level + 1}.", "InvalidOperation",
                    "AddClusterNodeFailed", CLUSTER_EXCEPTION)
            record = NodeRecord(host_key=host.key, name=host.name, id=cluster.next_node_id)
            cluster.next_node_id += 1
            cluster.nodes.append(record)
            host.cluster = cluster.key
            host.paused = False
            host.drain_status = 0
            host.activity = time.monotonic()
            self.storage_node_back(host)      # an evicted (or re-imaged) S2D node resyncs its time away
            self.refresh_ownership(cluster)
            self.touch("cluster", cluster.key)
            self.event("node-added", cluster=cluster.name, node=host.name)
            return record

    def raise_functional_level(self, cluster_key: str, what_if: bool = False) -> int:
        with self.change():
            cluster = self.clusters[cluster_key]
            down = [r.name for r in cluster.nodes if self.node_state(cluster, r) == NODE_DOWN]
            if down:
                raise OperationError(f"Update-ClusterFunctionalLevel requires every node to be online; "
                                     f"down: {', '.join(down)}.", "InvalidOperation",
                                     "UpdateClusterFunctionalLevelFailed", CLUSTER_EXCEPTION)
            hosts = [self.hosts[r.host_key] for r in cluster.nodes]
            target = min(h.os.functional_level for h in hosts)
            if target <= cluster.functional_level:
                old = [h.name for h in hosts if h.os.functional_level == cluster.functional_level]
                raise OperationError(
                    f"The cluster functional level of '{cluster.name}' is already {cluster.functional_level}; "
                    f"every node must run a newer operating system first ({', '.join(old)} do not).",
                    "InvalidOperation", "UpdateClusterFunctionalLevelFailed", CLUSTER_EXCEPTION)
            if not what_if:
                cluster.functional_level = target
                self.event("functional-level-raised", cluster=cluster.name, level=target)
            return target

    def _role_target(self, cluster, item, node_ref: str | None, what: str, error_id: str):
        """The node a role or CSV moves to: the one named (it must be Up), or the cluster's pick."""
        if node_ref is None:
            others = [h for h in self.members(cluster, (NODE_UP,)) if h.key != item.owner]
            if not others:
                raise OperationError(f"No other node of cluster '{cluster.name}' is up to take the {what} "
                                     f"'{item.name}'.", "InvalidOperation", error_id, CLUSTER_EXCEPTION)
            return others[0]
        target = self.hosts[self._record_named(cluster, node_ref).host_key]
        state = self.node_state(cluster, cluster.record(target.key))
        if state != NODE_UP:
            word = "paused" if state == NODE_PAUSED else "down"
            raise OperationError(f"Move of the {what} '{item.name}' to node '{target.name}' failed: the node is "
                                 f"{word}.", "InvalidOperation", error_id, CLUSTER_EXCEPTION)
        return target

    def _take_csv_fault(self, csv) -> str | None:
        """The reason an injected fault keeps a CSV where it is, or None."""
        fault = self.faults.take("csv_move_fails", csv_id=csv.id)
        if fault is None:
            return None
        return fault.get("message") or (f"The cluster shared volume '{csv.name}' could not be moved: the volume "
                                        f"is in redirected access and its owner cannot hand it over.")

    def move_csv(self, cluster_key: str, name: str, node_ref: str | None):
        with self.change():
            cluster = self.clusters[cluster_key]
            csv = next((c for c in cluster.csvs if c.name.lower() == name.lower()), None)
            if csv is None:
                raise OperationError(f"The cluster shared volume '{name}' was not found.", "ObjectNotFound",
                                     "ClusterObjectNotFound", CLUSTER_EXCEPTION)
            target = self._role_target(cluster, csv, node_ref, "cluster shared volume",
                                       "MoveClusterSharedVolumeFailed")
            if target.key == csv.owner:
                return csv
            reason = self._take_csv_fault(csv)
            if reason is not None:
                self.event("csv-move-failed", cluster=cluster.name, csv=csv.name, reason=reason)
                raise OperationError(reason, "OperationStopped", "MoveClusterSharedVolumeFailed", CLUSTER_EXCEPTION)
            csv.owner = target.key
            self.event("csv-moved", cluster=cluster.name, csv=csv.name, target=target.name)
            return csv

    def move_group(self, cluster_key: str, name: str, node_ref: str | None) -> str:
        """Move-ClusterGroup for the groups that are not VMs: the core group, Available Storage and SOFS
        roles (a planned move: the SMB clients of a continuously available share follow it). Returns
        the group's name."""
        with self.change():
            cluster = self.clusters[cluster_key]
            wanted = name.strip().lower()
            role = next((r for r in cluster.sofs_roles if r.name.lower() == wanted), None)
            if role is None and wanted in ("cluster group", "available storage"):
                role = _CoreGroup(cluster, "Cluster Group" if wanted == "cluster group" else "Available Storage")
            if role is None:
                if self.find_vm(name, self.members(cluster, (NODE_UP, NODE_PAUSED))) is not None:
                    raise OperationError(
                        f"The cluster group '{name}' is a virtual machine role: move it with "
                        f"Move-ClusterVirtualMachineRole.", "InvalidOperation", "MoveClusterGroupFailed",
                        CLUSTER_EXCEPTION)
                raise OperationError(f"The cluster group '{name}' was not found.", "ObjectNotFound",
                                     "ClusterObjectNotFound", CLUSTER_EXCEPTION)
            target = self._role_target(cluster, role, node_ref, "cluster group", "MoveClusterGroupFailed")
            if target.key != role.owner:
                role.owner = target.key
                if isinstance(role, _CoreGroup):
                    self.touch("cluster", cluster.key)
                self.event("group-moved", cluster=cluster.name, group=role.name, target=target.name)
            return role.name

    # -- out-of-band changes (the control endpoint's POST /vm-action) -----------------------------
    def vm_action(self, body: dict) -> dict:
        """Change a VM behind the orchestrator's back: move (instantly), start, stop, save, or
        start even without memory (to provoke the over-commit invariant)."""
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        action = body.get("action")
        name = body.get("vm")
        if action not in ("move", "start", "stop", "save", "start-overcommit"):
            raise ValueError("action must be one of move, start, stop, save, start-overcommit")
        if not isinstance(name, str):
            raise ValueError("'vm' (a VM name) is required")
        found = self.find_vm(name)
        if found is None:
            raise ValueError(f"no VM named '{name}'")
        host, vm = found
        if action == "move":
            target = self.find_host(str(body.get("host", "")))
            if target is None:
                raise ValueError("'host' (the target host) is required and must exist")
            with self.change():
                if vm.migration is not None:
                    raise ValueError(f"{vm.name} is being migrated")
                del host.vms[vm.id]
                target.vms[vm.id] = vm
                host.activity = target.activity = time.monotonic()
                self.event("vm-moved-out-of-band", vm=vm.name, source=host.name, target=target.name)
        else:
            mapping = {"start": "start", "stop": "turnoff", "save": "save", "start-overcommit": "start"}
            try:
                self.vm_power(host.key, vm.id, mapping[action], force_memory=action == "start-overcommit")
            except OperationError as error:
                raise ValueError(error.message) from None
        with self.lock:
            found = self.find_vm(vm.id)
            return self.vm_view(*found)

    def node_counts(self, cluster) -> dict[str, int]:
        states = [self.node_state(cluster, r) for r in cluster.nodes]
        return {"up": states.count(NODE_UP), "paused": states.count(NODE_PAUSED), "down": states.count(NODE_DOWN)}


class _CoreGroup:
    """The cluster core group and Available Storage, which move together with the core owner."""

    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name

    @property
    def owner(self):
        return self.cluster.core_owner

    @owner.setter
    def owner(self, key):
        self.cluster.core_owner = key
