"""How node operations reach hosts and read a cluster's live state (through fabric.agents only)."""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from fabric import agents
from fabric.choices import VM_IN_MEMORY, VMState
from fabric.models import Cluster, Host
from fabric.nodeops.planner import PlanHost, PlanVM, quorum_problem


def poll_seconds() -> float:
    """How often waits ask the machines again (FERRY_COMPLIANCE_POLL_SECONDS; small in the lab)."""
    return float(os.environ.get("FERRY_COMPLIANCE_POLL_SECONDS", "2"))


def host_connection(host: Host) -> agents.Connection:
    run_as = host.run_as or (host.cluster.run_as if host.cluster_id else None)
    return agents.Connection.for_endpoint(host, run_as=run_as)


def cluster_connection(cluster: Cluster, *, avoid: str = "", states: dict[str, str] | None = None) -> agents.Connection:
    """A node to run cluster cmdlets on: an Up one other than `avoid` (the node being worked on).

    Falls back to the cluster's own address when no other node is known to be up.
    """
    nodes = list(cluster.nodes.order_by("name"))
    for node in nodes:
        state = (states or {}).get(node.name, node.node_state)
        if node.name.lower() != avoid.lower() and state in ("Up", "Paused"):
            return host_connection(node)
    return agents.Connection.for_endpoint(cluster)


@dataclass
class LiveVM:
    name: str
    owner: str
    state: str
    memory_bytes: int
    highly_available: bool
    id: str = ""


@dataclass
class LiveCluster:
    """What the cluster reports now: node states and, per reachable node, its VMs."""

    nodes: dict[str, str]  # node name → Up / Down / Paused / Joining
    vms: list[LiveVM]
    hosts: dict[str, Host]  # node name → inventory row (memory, migration limit)
    witness: bool = False  # Get-ClusterQuorum now: a witness that is online adds a vote
    quorum_error: str = ""  # why Get-ClusterQuorum could not be read (then no witness is counted)
    storage: object = None  # read_live_cluster(storage=True): StorageHealth, or the AgentError reading it

    def plan_inputs(self) -> tuple[list[PlanHost], list[PlanVM]]:
        plan_hosts = [
            PlanHost(name, (self.hosts[name].memory_bytes or 0) if name in self.hosts else 0,
                     self.hosts[name].live_migration_limit if name in self.hosts else 1, state)
            for name, state in sorted(self.nodes.items())
        ]
        plan_vms = [PlanVM(vm.name, vm.memory_bytes, vm.owner, running=vm.state in VM_IN_MEMORY,
                           highly_available=vm.highly_available, id=vm.id, paused=vm.state == VMState.PAUSED)
                    for vm in self.vms]
        return plan_hosts, plan_vms


def read_live_cluster(cluster: Cluster, *, avoid: str = "", storage: bool = False) -> LiveCluster:
    """Get-ClusterNode and Get-ClusterQuorum from one node and Get-VM on every node that is up or
    paused, all at once. A quorum that could not be read in three tries counts as no witness.

    Get-VM goes to the nodes the inventory last saw Up or Paused while Get-ClusterNode runs (every
    read costs a round trip; one after the other they add up on every node of a rolling run); the
    answer of a node the cluster does not report Up or Paused is dropped, and a node it reports Up
    that was not asked yet is asked then. `storage`: the storage health is read in the same wave
    (`LiveCluster.storage`: a StorageHealth, or the AgentError that reading it raised)."""
    conn = cluster_connection(cluster, avoid=avoid)
    hosts = {h.name: h for h in cluster.nodes.select_related("run_as", "cluster__run_as")}
    by_lower = {h.lower(): h for h in hosts}
    pool = ThreadPoolExecutor(max_workers=max(1, min(8, len(hosts) + 1)), thread_name_prefix="ferry-read")
    try:
        health = pool.submit(_storage_reading, conn) if storage else None
        asked = {name.lower(): pool.submit(agents.hyperv.get_vms, host_connection(host))
                 for name, host in hosts.items() if host.node_state in ("Up", "Paused")}
        found, quorum, quorum_error = _cluster_state(conn)
        nodes = {n.name: n.state for n in found}
        readable = [name for name, state in nodes.items() if state in ("Up", "Paused") and name.lower() in by_lower]
        for name in readable:
            if name.lower() not in asked:
                asked[name.lower()] = pool.submit(agents.hyperv.get_vms, host_connection(hosts[by_lower[name.lower()]]))
        vms = []
        for name in readable:
            for vm in asked[name.lower()].result():
                vms.append(LiveVM(vm.name, name, vm.state, vm.memory_assigned or vm.memory_startup, vm.is_clustered,
                                  vm.id))
        live = LiveCluster(nodes=nodes, vms=vms, hosts={name: hosts[by_lower[name.lower()]] for name in nodes
                                                        if name.lower() in by_lower},
                           witness=quorum is not None and quorum.witness_votes, quorum_error=quorum_error)
        if health is not None:
            live.storage = health.result()
        return live
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a node that does not answer is not waited for


QUORUM_READS = 3  # a failed Get-ClusterQuorum is tried again before no witness is counted
QUORUM_RETRY_SECONDS = 1.0


def _cluster_state(conn: agents.Connection):
    """Get-ClusterNode and Get-ClusterQuorum; a quorum that could not be read is read again (a
    cluster service busy for a moment should not refuse a 2-node cluster its witness)."""
    for attempt in range(QUORUM_READS):
        found, quorum, quorum_error = agents.cluster.get_cluster_state(conn)
        if not quorum_error:
            break
        if attempt + 1 < QUORUM_READS:
            time.sleep(QUORUM_RETRY_SECONDS)
    return found, quorum, quorum_error


def _storage_reading(conn: agents.Connection):
    try:
        return agents.storage.storage_health(conn)
    except agents.AgentError as error:
        return error


def live_quorum_problem(live: LiveCluster, node: str) -> str | None:
    """The re-check before `node` leaves, on what the cluster reports now (its nodes and witness)."""
    hosts, _ = live.plan_inputs()
    problem = quorum_problem(hosts, node, witness=live.witness)
    if problem and live.quorum_error:
        problem += f" (the witness could not be read: {live.quorum_error})"
    return problem


def log_quorum_reading(ctx, live: LiveCluster) -> None:
    """A job's check before anything moves: say so when the witness could not be read, since the
    refusal that may follow counts the nodes only."""
    if live.quorum_error:
        ctx.log(f"The quorum configuration could not be read ({live.quorum_error}): no witness vote is counted.",
                "warning")
