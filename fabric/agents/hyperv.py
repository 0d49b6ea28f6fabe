"""Hyper-V operations (module Hyper-V) on one host: its VMs and its live-migration settings."""
from dataclasses import dataclass

from fabric.agents.connection import Connection
from fabric.agents.parsing import MIGRATION_AUTH, VM_STATE, Reader
from fabric.agents.quoting import ps_choice, ps_str
from fabric.agents.runner import run_script
from fabric.agents.scripting import as_int, as_string, select

# Get-VM -Name X for a missing VM: VirtualizationException, InvalidParameter,...GetVM (notes/powershell.md).
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
                       as_int("UptimeSeconds", "Uptime.TotalSeconds"), "Generation")
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


def get_vm(conn: Connection, name: str) -> VirtualMachineInfo:
    op = f"Get-VM {name}"
    value = run_script(conn, f"$result = Get-VM -Name {ps_str(name, what='VM name')} | {VM_PROPERTIES}",
                       operation=op, not_found_fqids=VM_NOT_FOUND)
    r = Reader(op, conn.where)
    return read_vm(r, r.record(value))


def _vm_action(conn: Connection, name: str, op: str, act: str, timeout: float) -> VirtualMachineInfo:
    quoted = ps_str(name, what="VM name")
    body = act.replace("{vm}", quoted) + f"\n$result = Get-VM -Name {quoted} | {VM_PROPERTIES}"
    value = run_script(conn, body, operation=op, timeout=timeout, not_found_fqids=VM_NOT_FOUND)
    r = Reader(op, conn.where)
    return read_vm(r, r.record(value))


def save_vm(conn: Connection, name: str, *, timeout: float = 900) -> VirtualMachineInfo:
    """Save a running VM's state (no-op when it is not running)."""
    act = "$vm = Get-VM -Name {vm}\nif ([string]$vm.State -eq 'Running') { Save-VM -Name {vm} }"
    return _vm_action(conn, name, f"Save-VM {name}", act, timeout)


def start_vm(conn: Connection, name: str, *, timeout: float = 900) -> VirtualMachineInfo:
    """Start a VM that is off or saved (no-op when it runs)."""
    act = "$vm = Get-VM -Name {vm}\nif ([string]$vm.State -ne 'Running') { Start-VM -Name {vm} }"
    return _vm_action(conn, name, f"Start-VM {name}", act, timeout)


def stop_vm(conn: Connection, name: str, *, mode: str = "ShutDown", timeout: float = 900) -> VirtualMachineInfo:
    """Stop a VM: ShutDown (guest shutdown), TurnOff (cut power) or Save. No-op when already off."""
    mode = ps_choice(mode, STOP_MODES, what="stop mode")
    switch = {"ShutDown": " -Force", "TurnOff": " -TurnOff", "Save": " -Save"}[mode]
    act = ("$vm = Get-VM -Name {vm}\n"
           "if (@('Running', 'Paused') -contains [string]$vm.State) { Stop-VM -Name {vm}" + switch + " }")
    return _vm_action(conn, name, f"Stop-VM {name} ({mode})", act, timeout)


def get_vm_host(conn: Connection) -> VMHostInfo:
    op = "Get-VMHost"
    value = run_script(conn, f"$result = Get-VMHost | {VMHOST_PROPERTIES}", operation=op)
    r = Reader(op, conn.where)
    return read_vmhost(r, r.record(value))


__all__ = [
    "VMHostInfo", "VirtualMachineInfo", "get_vm", "get_vm_host", "get_vms", "save_vm", "start_vm", "stop_vm",
]
