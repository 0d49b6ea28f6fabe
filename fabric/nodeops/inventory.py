"""The planner's inputs from the database inventory (what the last refresh recorded)."""
from __future__ import annotations

from fabric.choices import VM_IN_MEMORY, NodeState, VMState
from fabric.models import Host, VirtualMachine
from fabric.nodeops.planner import PlanHost, PlanVM


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
