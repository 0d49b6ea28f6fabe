"""Hyper-V operations (module Hyper-V) on one host: its VMs and its live-migration settings."""
from dataclasses import dataclass

from fabric.agents.connection import Connection
from fabric.agents.parsing import MIGRATION_AUTH, VM_STATE, Reader
from fabric.agents.quoting import ps_choice, ps_guid
from fabric.agents.runner import run_script
from fabric.agents.scripting import as_int, as_string, select

# A missing VM: VirtualizationException, InvalidParameter,...GetVM (seen for -Name; unconfirmed for -Id).
VM_NOT_FOUND = ("InvalidParameter,Microsoft.HyperV.PowerShell.Commands",)
STOP_MODES = ("ShutDown", "TurnOff", "Save")


@dataclass(frozen=True)
class VirtualMachineInfo:
    name: str
    id: str
    state: str  # Running, Off, Saved, Paused, ...
    memory_assigned: int
    memory_startup: int
    processor_count: int
    dynamic_memory: bool
    is_clustered: bool
    computer_name: str  # the host it runs on
    uptime_seconds: int
    generation: int | None
    version: str = ""  # the configuration version ("9.0"); it moves with the VM
    path: str = ""  # its folder; on a file server \\\\SCALE-OUT-NAME\\share\\…


@dataclass(frozen=True)
class VMHostInfo:
    name: str
    max_vm_migrations: int
    max_storage_migrations: int
    memory_capacity: int
    logical_processors: int
    migration_enabled: bool
    migration_authentication: str  # CredSSP or Kerberos


VM_PROPERTIES = select("Name", as_string("Id"), as_string("State"), as_int("MemoryAssigned"), as_int("MemoryStartup"),
                       "ProcessorCount", "DynamicMemoryEnabled", "IsClustered", "ComputerName",
                       as_int("UptimeSeconds", "Uptime.TotalSeconds"), "Generation",
                       as_string("Version"), as_string("Path"))
VMHOST_PROPERTIES = select("Name", "MaximumVirtualMachineMigrations", "MaximumStorageMigrations",
                           as_int("MemoryCapacity"), "LogicalProcessorCount", "VirtualMachineMigrationEnabled",
                           as_string("VirtualMachineMigrationAuthenticationType"))


def read_vm(r: Reader, rec: dict) -> VirtualMachineInfo:
    return VirtualMachineInfo(
        name=r.get(rec, "Name"),
        id=r.get(rec, "Id"),
        state=r.enum(rec, "State", VM_STATE),
        memory_assigned=r.get(rec, "MemoryAssigned", int, required=False, default=0),
        memory_startup=r.get(rec, "MemoryStartup", int, required=False, default=0),
        processor_count=r.get(rec, "ProcessorCount", int, required=False, default=1),
        dynamic_memory=r.get(rec, "DynamicMemoryEnabled", bool, required=False, default=False),
        is_clustered=r.get(rec, "IsClustered", bool, required=False, default=False),
        computer_name=r.get(rec, "ComputerName", required=False, default=""),
        uptime_seconds=r.get(rec, "UptimeSeconds", int, required=False, default=0),
        generation=r.get(rec, "Generation", int, required=False),
        version=r.get(rec, "Version", required=False, default="") or "",
        path=r.get(rec, "Path", required=False, default="") or "",
    )


def read_vmhost(r: Reader, rec: dict) -> VMHostInfo:
    return VMHostInfo(
        name=r.get(rec, "Name", required=False, default=""),
        max_vm_migrations=r.get(rec, "MaximumVirtualMachineMigrations", int, required=False, default=2),
        max_storage_migrations=r.get(rec, "MaximumStorageMigrations", int, required=False, default=2),
        memory_capacity=r.get(rec, "MemoryCapacity", int, required=False, default=0),
        logical_processors=r.get(rec, "LogicalProcessorCount", int, required=False, default=0),
        migration_enabled=r.get(rec, "VirtualMachineMigrationEnabled", bool, required=False, default=False),
        migration_authentication=r.enum(rec, "VirtualMachineMigrationAuthenticationType", MIGRATION_AUTH,
                                        required=False, default=""),
    )


def get_vms(conn: Connection) -> list[VirtualMachineInfo]:
    op = "Get-VM"
    value = run_script(conn, f"$result = @(Get-VM | {VM_PROPERTIES})", operation=op)
    r = Reader(op, conn.where)
    return [read_vm(r, rec) for rec in r.records(value)]


def _by_id(vm_id) -> str:
    """Select one VM by its GUID. -Name is a wildcard pattern (a VM named db[1] selects db1), so every
    operation goes through Get-VM -Id and pipes the VM object on."""
    return f"Get-VM -Id {ps_guid(vm_id, what='VM id')}"


def get_vm(conn: Connection, vm_id: str) -> VirtualMachineInfo:
    op = f"Get-VM -Id {vm_id}"
    value = run_script(conn, f"$result = {_by_id(vm_id)} | {VM_PROPERTIES}", operation=op,
                       not_found_fqids=VM_NOT_FOUND)
    r = Reader(op, conn.where)
    return read_vm(r, r.record(value))


def _vm_action(conn: Connection, vm_id: str, op: str, act: str, timeout: float) -> VirtualMachineInfo:
    """`act` runs with `$vm` bound to the VM; the VM as it is afterwards is returned."""
    body = f"$vm = {_by_id(vm_id)}\n{act}\n$result = {_by_id(vm_id)} | {VM_PROPERTIES}"
    value = run_script(conn, body, operation=op, timeout=timeout, not_found_fqids=VM_NOT_FOUND)
    r = Reader(op, conn.where)
    return read_vm(r, r.record(value))


def save_vm(conn: Connection, vm_id: str, *, name: str = "", timeout: float = 900) -> VirtualMachineInfo:
    """Save a running or paused VM's state (no-op in any other state)."""
    act = "if (@('Running', 'Paused') -contains [string]$vm.State) { $vm | Save-VM }"
    return _vm_action(conn, vm_id, f"Save-VM {name or vm_id}", act, timeout)


def start_vm(conn: Connection, vm_id: str, *, name: str = "", timeout: float = 900) -> VirtualMachineInfo:
    """Run a VM: resume it when Paused (Start-VM does not continue a paused VM), start it when off or
    saved, nothing when it runs."""
    act = ("$state = [string]$vm.State\n"
           "if ($state -eq 'Paused') { $vm | Resume-VM } elseif ($state -ne 'Running') { $vm | Start-VM }")
    return _vm_action(conn, vm_id, f"Start-VM {name or vm_id}", act, timeout)


def suspend_vm(conn: Connection, vm_id: str, *, name: str = "", timeout: float = 300) -> VirtualMachineInfo:
    """Pause a running VM (Suspend-VM); no-op in any other state."""
    act = "if ([string]$vm.State -eq 'Running') { $vm | Suspend-VM }"
    return _vm_action(conn, vm_id, f"Suspend-VM {name or vm_id}", act, timeout)


def stop_vm(conn: Connection, vm_id: str, *, name: str = "", mode: str = "ShutDown",
            timeout: float = 900) -> VirtualMachineInfo:
    """Stop a VM: ShutDown (guest shutdown), TurnOff (cut power) or Save. No-op when already off."""
    mode = ps_choice(mode, STOP_MODES, what="stop mode")
    switch = {"ShutDown": " -Force", "TurnOff": " -TurnOff", "Save": " -Save"}[mode]
    act = "if (@('Running', 'Paused') -contains [string]$vm.State) { $vm | Stop-VM" + switch + " }"
    return _vm_action(conn, vm_id, f"Stop-VM {name or vm_id} ({mode})", act, timeout)


def get_vm_host(conn: Connection) -> VMHostInfo:
    op = "Get-VMHost"
    value = run_script(conn, f"$result = Get-VMHost | {VMHOST_PROPERTIES}", operation=op)
    r = Reader(op, conn.where)
    return read_vmhost(r, r.record(value))


__all__ = [
    "VMHostInfo", "VirtualMachineInfo", "get_vm", "get_vm_host", "get_vms", "save_vm", "start_vm", "stop_vm",
    "suspend_vm",
]
