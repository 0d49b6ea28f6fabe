"""Hyper-V: Get-VM, Start-VM, Stop-VM, Save-VM, Suspend-VM, Resume-VM, Get-VMHost."""
from __future__ import annotations

from lab.cmdlets.common import (
    ambiguous_parameter_set,
    as_guid,
    as_list,
    cmdlet,
    dotnet,
    fail,
    names_of,
    ps_enum,
    timespan,
    truthy,
)
from lab.datacenter.model import STOP_ACTION_NUMBERS, VM_STATE_NUMBERS, Host
from lab.powershell.operators import contains_wildcards, wildcard_regex

M = "Hyper-V"
NS = "Microsoft.HyperV.PowerShell.Commands."
VIRT_EXCEPTION = "Microsoft.HyperV.PowerShell.VirtualizationException"


def vm_object(dc, host: Host, vm) -> dict:
    running = vm.in_memory
    uptime = (dc.clock.now() - vm.started_at).total_seconds() if running and vm.started_at else 0.0
    status = "Operating normally"
    if vm.migration is not None:
        status = "Live migration in progress" if vm.migration.kind == "Live" else "Migrating"
    folder = "C:\\ClusterStorage\\Volume1" if vm.highly_available else "D:\\Hyper-V"
    text = f"VirtualMachine (Name = '{vm.name}') [Id = '{vm.id}']"
    return dotnet("Microsoft.HyperV.PowerShell.VirtualMachine", text, {
        "Name": vm.name, "Id": vm.id, "VMId": vm.id, "VMName": vm.name,
        "State": ps_enum(VM_STATE_NUMBERS[vm.state], vm.state),
        "CPUUsage": 3 if vm.state == "Running" else 0,
        "MemoryAssigned": vm.memory if running else 0, "MemoryDemand": int(vm.memory * 0.6) if running else 0,
        "MemoryStartup": vm.memory, "MemoryMinimum": 536870912, "MemoryMaximum": 1099511627776,
        "DynamicMemoryEnabled": False, "ProcessorCount": vm.cpus, "Uptime": timespan(uptime),
        "Status": status, "IsClustered": vm.highly_available, "ComputerName": host.name,
        "Generation": vm.generation, "Version": vm.version,
        "Heartbeat": ps_enum(6, "OkApplicationsHealthy") if vm.state == "Running" else None,
        "AutomaticStopAction": ps_enum(STOP_ACTION_NUMBERS[vm.automatic_stop_action], vm.automatic_stop_action),
        "AutomaticStartAction": ps_enum(3, "StartIfRunning"),
        "Path": vm.path or f"{folder}\\{vm.name}", "ConfigurationLocation": vm.path or f"{folder}\\{vm.name}",
        "ReplicationState": ps_enum(0, "Disabled"), "Notes": "",
    })


def _hosts(ctx, computer_name, command_type) -> list[Host]:
    dc = ctx.dc
    if computer_name is None:
        return [ctx.host]
    hosts = []
    for name in names_of(computer_name):
        host = dc.find_host(name) if name.lower() not in ("localhost", ".") else ctx.host
        if host is None or not host.online or host.role != "hyperv":
            raise fail(f"Hyper-V was unable to find a virtual machine management service on computer '{name}'.",
                       "ObjectNotFound", "ObjectNotFound", command_type, VIRT_EXCEPTION, target=name)
        hosts.append(host)
    return hosts


def _not_found(what: str, value: str, command_type: str):
    return fail(f'Hyper-V was unable to find a virtual machine with {what} "{value}".', "InvalidArgument",
                "InvalidParameter", command_type, VIRT_EXCEPTION, target=value)


def _by_name(hosts: list[Host], pattern: str, command_type: str) -> list:
    """-Name is a wildcard pattern (Start-VM -Name Test* acts on every VM starting with Test; a name
    holding [1] selects the VM named with 1). No match is an error only for a plain name."""
    regex = wildcard_regex(pattern)
    match = [(h, v) for h in hosts for v in h.vms.values() if regex.fullmatch(v.name)]
    if not match and not contains_wildcards(pattern):
        raise _not_found("name", pattern, command_type)
    return match


def _select(ctx, Name, VM, Id, ComputerName, command_type):
    """(host, vm) pairs named by -Name (wildcards), -Id (one GUID) or VM objects from the pipeline."""
    dc = ctx.dc
    hosts = _hosts(ctx, ComputerName, command_type)
    if Id is not None:
        vm_id = as_guid(Id, "Id", command_type)
        found = dc.find_vm(vm_id, hosts)
        if found is None or found[1].id != vm_id:
            raise _not_found("id", vm_id, command_type)
        return [found]
    pairs = []
    for item in as_list(VM):
        if isinstance(item, dict) and (item.get("Id") or item.get("VMId")):
            vm_id = as_guid(item.get("Id") or item.get("VMId"), "VM", command_type)
            found = dc.find_vm(vm_id)
            if found is None or found[1].id != vm_id:
                raise _not_found("id", vm_id, command_type)
            pairs.append(found)
        else:  # a name piped by value binds to -Name
            pairs.extend(_by_name(hosts, str(item.get("Name") if isinstance(item, dict) else item), command_type))
    for pattern in names_of(Name):
        pairs.extend(_by_name(hosts, pattern, command_type))
    if Name is None and VM is None:
        pairs = [(h, v) for h in hosts for v in h.vms.values()]
    unique = {}
    for host, vm in pairs:
        unique.setdefault(vm.id, (host, vm))
    return list(unique.values())


def _target(Name, VM, command_type):
    """Start-, Stop-, Save-, Resume-VM: -Name (mandatory in its set) or -VM, not both."""
    if Name is not None and VM is not None:
        raise ambiguous_parameter_set(command_type)
    if Name is None and VM is None:
        raise fail("Cannot process command because of one or more missing mandatory parameters: Name.",
                   "InvalidArgument", "MissingMandatoryParameter", command_type,
                   "System.Management.Automation.ParameterBindingException")


@cmdlet(M, "Get-VM", {"Name": "value", "Id": "value", "ComputerName": "value", "VM": "value"},
        positional=("Name",), pipeline="VM", command_type=NS + "GetVM")
def get_vm(ctx, Name=None, Id=None, ComputerName=None, VM=None):
    if Id is not None and Name is not None:  # -Id is a parameter set of its own
        raise ambiguous_parameter_set(NS + "GetVM")
    with ctx.dc.lock:
        return [vm_object(ctx.dc, h, v) for h, v in _select(ctx, Name, VM, Id, ComputerName, NS + "GetVM")]


def _power(ctx, action, command_type, Name, VM, ComputerName, Passthru):
    _target(Name, VM, command_type)
    with ctx.dc.lock:
        pairs = _select(ctx, Name, VM, None, ComputerName, command_type)
    out = []
    for host, vm in pairs:
        ctx.dc.vm_power(host.key, vm.id, action)
        if truthy(Passthru):
            with ctx.dc.lock:
                out.append(vm_object(ctx.dc, host, vm))
    return out or None


@cmdlet(M, "Start-VM", {"Name": "value", "VM": "value", "ComputerName": "value", "Passthru": "switch",
                        "AsJob": "switch"}, positional=("Name",), pipeline="VM", command_type=NS + "StartVM")
def start_vm(ctx, Name=None, VM=None, ComputerName=None, Passthru=False, AsJob=False):
    return _power(ctx, "start", NS + "StartVM", Name, VM, ComputerName, Passthru)


@cmdlet(M, "Stop-VM", {"Name": "value", "VM": "value", "ComputerName": "value", "Passthru": "switch",
                       "Force": "switch", "TurnOff": "switch", "Save": "switch", "AsJob": "switch",
                       "Confirm": "switch"},
        positional=("Name",), pipeline="VM", command_type=NS + "StopVM")
def stop_vm(ctx, Name=None, VM=None, ComputerName=None, Passthru=False, Force=False, TurnOff=False, Save=False,
            AsJob=False, Confirm=None):
    action = "save" if truthy(Save) else ("turnoff" if truthy(TurnOff) else "stop")
    return _power(ctx, action, NS + "StopVM", Name, VM, ComputerName, Passthru)


@cmdlet(M, "Save-VM", {"Name": "value", "VM": "value", "ComputerName": "value", "Passthru": "switch",
                       "AsJob": "switch"}, positional=("Name",), pipeline="VM", command_type=NS + "SaveVM")
def save_vm(ctx, Name=None, VM=None, ComputerName=None, Passthru=False, AsJob=False):
    return _power(ctx, "save", NS + "SaveVM", Name, VM, ComputerName, Passthru)


@cmdlet(M, "Suspend-VM", {"Name": "value", "VM": "value", "ComputerName": "value", "Passthru": "switch",
                          "AsJob": "switch"}, positional=("Name",), pipeline="VM", command_type=NS + "SuspendVM")
def suspend_vm(ctx, Name=None, VM=None, ComputerName=None, Passthru=False, AsJob=False):
    return _power(ctx, "suspend", NS + "SuspendVM", Name, VM, ComputerName, Passthru)


@cmdlet(M, "Resume-VM", {"Name": "value", "VM": "value", "ComputerName": "value", "Passthru": "switch",
                         "AsJob": "switch"}, positional=("Name",), pipeline="VM", command_type=NS + "ResumeVM")
def resume_vm(ctx, Name=None, VM=None, ComputerName=None, Passthru=False, AsJob=False):
    return _power(ctx, "resume", NS + "ResumeVM", Name, VM, ComputerName, Passthru)


@cmdlet(M, "Get-VMHost", {"ComputerName": "value"}, positional=("ComputerName",), command_type=NS + "GetVMHost")
def get_vm_host(ctx, ComputerName=None):
    with ctx.dc.lock:
        out = []
        for host in _hosts(ctx, ComputerName, NS + "GetVMHost"):
            out.append(dotnet("Microsoft.HyperV.PowerShell.VMHost", "Microsoft.HyperV.PowerShell.VMHost", {
                "Name": host.name, "ComputerName": host.name, "FullyQualifiedDomainName": host.fqdn,
                "LogicalProcessorCount": host.cpus, "MemoryCapacity": host.memory,
                "MaximumVirtualMachineMigrations": host.max_migrations, "MaximumStorageMigrations": 2,
                "VirtualMachineMigrationEnabled": True,
                "VirtualMachineMigrationAuthenticationType": ps_enum(1, "Kerberos"),
                "VirtualMachineMigrationPerformanceOption": ps_enum(1, "Compression"),
                "UseAnyNetworkForMigration": False, "NumaSpanningEnabled": True,
                "VirtualHardDiskPath": "C:\\ClusterStorage\\Volume1\\Hyper-V\\Virtual Hard Disks",
                "VirtualMachinePath": "C:\\ClusterStorage\\Volume1\\Hyper-V",
                "MacAddressMinimum": "00155D0A0000", "MacAddressMaximum": "00155D0AFFFF",
            }))
        return out
