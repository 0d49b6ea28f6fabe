"""The planner's inputs from the database inventory (what the last refresh recorded)."""
from __future__ import annotations

from fabric.choices import VM_IN_MEMORY, NodeState, VMState
from fabric.models import Cluster, Host, VirtualMachine
from fabric.nodeops.planner import PlanHost, PlanVM, quorum_votes, votes_text


def plan_inputs(hosts: list[Host], vms: list[VirtualMachine]) -> tuple[list[PlanHost], list[PlanVM]]:
    """The planner's view of these hosts and VMs."""
    names = {h.pk: h.name for h in hosts}
    plan_hosts = [
        PlanHost(h.name, h.memory_bytes or 0, h.live_migration_limit or 1, h.node_state or NodeState.UNKNOWN)
        for h in hosts
    ]
    plan_vms = [
        PlanVM(vm.name, vm.memory_bytes, names[vm.host_id], running=vm.state in VM_IN_MEMORY,
               highly_available=vm.highly_available, id=str(vm.vm_id), paused=vm.state == VMState.PAUSED)
        for vm in vms if vm.host_id in names
    ]
    return plan_hosts, plan_vms


def plan_inputs_from_inventory(hosts: list[Host]) -> tuple[list[PlanHost], list[PlanVM]]:
    """The planner's view of these hosts with the VMs the inventory records on them."""
    return plan_inputs(hosts, list(VirtualMachine.objects.filter(host__in=hosts)))


def quorum_with_one_node_out(cluster: Cluster, hosts: list[Host]) -> str:
    """For the cluster's page: the votes left with one node out, as the planner counts them from the
    last refresh (the node states and the witness)."""
    if not hosts:
        return ""
    plan_hosts, _ = plan_inputs(hosts, [])
    node = next((h.name for h in plan_hosts if h.state == NodeState.UP), plan_hosts[0].name)
    witness = cluster.witness_votes
    votes, total = quorum_votes(plan_hosts, node, witness=witness)
    if votes * 2 > total:
        return f"One node out leaves {votes_text(votes, total, witness)}: a node may leave for its updates."
    return (f"One node out would leave {votes_text(votes, total, witness)}, more than {total / 2:g} are needed: "
            "Ferry takes no node out.")
