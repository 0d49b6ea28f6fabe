"""What a Windows host is: OS, hardware, NICs and addresses, disks, pending reboot; restart it."""
from dataclasses import dataclass, field
from datetime import datetime

from fabric.agents.connection import Connection
from fabric.agents.hyperv import VM_PROPERTIES, VMHOST_PROPERTIES, VirtualMachineInfo, VMHostInfo, read_vm, read_vmhost
from fabric.agents.parsing import ADDRESS_FAMILY, Reader
from fabric.agents.runner import run_script
from fabric.agents.scripting import as_date, as_int, as_string, select


@dataclass(frozen=True)
class OSInfo:
    computer_name: str
    caption: str  # "Microsoft Windows Server 2022 Datacenter"
    version: str  # "10.0.20348"
    build: int | None
    last_boot: datetime | None


@dataclass(frozen=True)
class ComputerSystem:
    name: str
    domain: str
    part_of_domain: bool
    total_memory: int
    logical_processors: int | None


@dataclass(frozen=True)
class NetAdapter:
    name: str
    description: str
    index: int | None
    status: str
    mac_address: str  # Windows form 00-15-5D-6A-81-1A
    link_speed: str


@dataclass(frozen=True)
class IPAddress:
    address: str
    prefix_length: int | None
    interface_alias: str
    interface_index: int | None
    family: str  # IPv4 / IPv6


@dataclass(frozen=True)
class Disk:
    number: int | None
    friendly_name: str
    serial_number: str
    size: int
    is_boot: bool
    is_system: bool
    is_clustered: bool
    bus_type: str


@dataclass(frozen=True)
class HostFacts:
    """One round trip's worth of a host: what discovery and refresh record."""

    os: OSInfo
    computer: ComputerSystem
    adapters: list[NetAdapter] = field(default_factory=list)
    addresses: list[IPAddress] = field(default_factory=list)
    pending_reboot: bool = False
    vmhost: VMHostInfo | None = None
    vms: list[VirtualMachineInfo] | None = None  # None: not a Hyper-V host


OS_PROPERTIES = select(as_string("CSName"), as_string("Caption"), as_string("Version"), as_string("BuildNumber"),
                       as_date("LastBootUpTime"))
CS_PROPERTIES = select("Name", as_string("Domain"), "PartOfDomain", as_int("TotalPhysicalMemory"),
                       "NumberOfLogicalProcessors")
ADAPTER_PROPERTIES = select("Name", as_string("InterfaceDescription"), "ifIndex", as_string("Status"),
                            as_string("MacAddress"), as_string("LinkSpeed"))
IP_PROPERTIES = select(as_string("IPAddress"), "PrefixLength", as_string("InterfaceAlias"), "InterfaceIndex",
                       as_int("AddressFamily"))
DISK_PROPERTIES = select("Number", as_string("FriendlyName"), as_string("SerialNumber"), as_int("Size"), "IsBoot",
                         "IsSystem", "IsClustered", as_string("BusType"))

# Pending reboot, as Windows Update and servicing record it (any one of them is enough).
PENDING_REBOOT = (r"""$pending = $false
if (Test-Path -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired') """
                  r"""{ $pending = $true }
if (Test-Path -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending') """
                  r"""{ $pending = $true }
if ([int]$os.BuildNumber -ge 17763) {
    $wu = Invoke-CimMethod -Namespace 'root/Microsoft/Windows/WindowsUpdate' -ClassName 'MSFT_WUSettings' """
                  r"""-MethodName 'IsPendingReboot'
    if ($wu.PendingReboot) { $pending = $true }
}""")


def read_os(r: Reader, rec: dict) -> OSInfo:
    build = r.get(rec, "BuildNumber", required=False, default="")
    return OSInfo(
        computer_name=r.get(rec, "CSName"),
        caption=r.get(rec, "Caption", required=False, default=""),
        version=r.get(rec, "Version", required=False, default=""),
        build=int(build) if str(build).isdigit() else None,
        last_boot=r.date(rec, "LastBootUpTime"),
    )


def read_computer(r: Reader, rec: dict) -> ComputerSystem:
    return ComputerSystem(
        name=r.get(rec, "Name"),
        domain=r.get(rec, "Domain", required=False, default=""),
        part_of_domain=r.get(rec, "PartOfDomain", bool, required=False, default=False),
        total_memory=r.get(rec, "TotalPhysicalMemory", int, required=False, default=0),
        logical_processors=r.get(rec, "NumberOfLogicalProcessors", int, required=False),
    )


def read_adapter(r: Reader, rec: dict) -> NetAdapter:
    return NetAdapter(
        name=r.get(rec, "Name"),
        description=r.get(rec, "InterfaceDescription", required=False, default=""),
        index=r.get(rec, "ifIndex", int, required=False),
        status=r.get(rec, "Status", required=False, default=""),
        mac_address=r.get(rec, "MacAddress", required=False, default="").upper().replace(":", "-"),
        link_speed=r.get(rec, "LinkSpeed", required=False, default=""),
    )


def read_address(r: Reader, rec: dict) -> IPAddress:
    return IPAddress(
        address=r.get(rec, "IPAddress"),
        prefix_length=r.get(rec, "PrefixLength", int, required=False),
        interface_alias=r.get(rec, "InterfaceAlias", required=False, default=""),
        interface_index=r.get(rec, "InterfaceIndex", int, required=False),
        family=r.enum(rec, "AddressFamily", ADDRESS_FAMILY, required=False, default="IPv4"),
    )


def get_os(conn: Connection) -> OSInfo:
    op = "Win32_OperatingSystem"
    value = run_script(conn, f"$result = Get-CimInstance -ClassName Win32_OperatingSystem | {OS_PROPERTIES}",
                       operation=op)
    r = Reader(op, conn.where)
    return read_os(r, r.record(value))


def get_computer_system(conn: Connection) -> ComputerSystem:
    op = "Win32_ComputerSystem"
    value = run_script(conn, f"$result = Get-CimInstance -ClassName Win32_ComputerSystem | {CS_PROPERTIES}",
                       operation=op)
    r = Reader(op, conn.where)
    return read_computer(r, r.record(value))


def get_net_adapters(conn: Connection) -> list[NetAdapter]:
    op = "Get-NetAdapter"
    value = run_script(conn, f"$result = @(Get-NetAdapter | {ADAPTER_PROPERTIES})", operation=op)
    r = Reader(op, conn.where)
    return [read_adapter(r, rec) for rec in r.records(value)]


def get_ip_addresses(conn: Connection) -> list[IPAddress]:
    op = "Get-NetIPAddress"
    value = run_script(conn, f"$result = @(Get-NetIPAddress | {IP_PROPERTIES})", operation=op)
    r = Reader(op, conn.where)
    return [read_address(r, rec) for rec in r.records(value)]


def get_disks(conn: Connection) -> list[Disk]:
    op = "Get-Disk"
    value = run_script(conn, f"$result = @(Get-Disk | {DISK_PROPERTIES})", operation=op)
    r = Reader(op, conn.where)
    return [
        Disk(
            number=r.get(rec, "Number", int, required=False),
            friendly_name=r.get(rec, "FriendlyName", required=False, default=""),
            serial_number=r.get(rec, "SerialNumber", required=False, default=""),
            size=r.get(rec, "Size", int, required=False, default=0),
            is_boot=r.get(rec, "IsBoot", bool, required=False, default=False),
            is_system=r.get(rec, "IsSystem", bool, required=False, default=False),
            is_clustered=r.get(rec, "IsClustered", bool, required=False, default=False),
            bus_type=r.get(rec, "BusType", required=False, default=""),
        )
        for rec in r.records(value)
    ]


def is_pending_reboot(conn: Connection) -> bool:
    body = (f"$os = Get-CimInstance -ClassName Win32_OperatingSystem\n{PENDING_REBOOT}\n"
            "$result = @{ PendingReboot = $pending }")
    op = "pending reboot check"
    value = run_script(conn, body, operation=op)
    r = Reader(op, conn.where)
    return r.get(r.record(value), "PendingReboot", bool)


def pending_reboot_and_boot(conn: Connection) -> tuple[bool, OSInfo]:
    """Whether a restart is pending, and the OS with its last boot time, in one round trip (what a
    restart step reads before it restarts the host)."""
    body = (f"$os = Get-CimInstance -ClassName Win32_OperatingSystem\n{PENDING_REBOOT}\n"
            f"$result = @{{ PendingReboot = $pending; OS = ($os | {OS_PROPERTIES}) }}")
    op = "pending reboot check"
    value = run_script(conn, body, operation=op)
    r = Reader(op, conn.where)
    rec = r.record(value)
    return r.get(rec, "PendingReboot", bool), read_os(r, r.record(rec.get("OS")))


def restart_computer(conn: Connection, *, timeout: float = 120) -> None:
    """Restart the host now. The connection drops; wait with `get_os(...).last_boot` changing."""
    run_script(conn, "Restart-Computer -Force\n$result = @{ Restarting = $true }",
               operation="Restart-Computer", timeout=timeout, idempotent=False, expect_disconnect=True)


def get_host_facts(conn: Connection, *, hyperv: bool = True) -> HostFacts:
    """OS, hardware, NICs, addresses, pending reboot and (for Hyper-V hosts) VMs in one round trip."""
    hyperv_part = (
        f"$vmhost = Get-VMHost | {VMHOST_PROPERTIES}\n"
        f"$vms = @(Get-VM | {VM_PROPERTIES})\n"
        if hyperv else "$vmhost = $null\n$vms = $null\n"
    )
    body = (
        "$os = Get-CimInstance -ClassName Win32_OperatingSystem\n"
        f"{PENDING_REBOOT}\n"
        f"$osInfo = $os | {OS_PROPERTIES}\n"
        f"$computer = Get-CimInstance -ClassName Win32_ComputerSystem | {CS_PROPERTIES}\n"
        f"$adapters = @(Get-NetAdapter | {ADAPTER_PROPERTIES})\n"
        f"$addresses = @(Get-NetIPAddress | {IP_PROPERTIES})\n"
        f"{hyperv_part}"
        "$result = @{ OS = $osInfo; Computer = $computer; Adapters = $adapters; Addresses = $addresses; "
        "PendingReboot = $pending; VMHost = $vmhost; VMs = $vms }"
    )
    op = "host inventory"
    value = run_script(conn, body, operation=op)
    r = Reader(op, conn.where)
    rec = r.record(value)
    return HostFacts(
        os=read_os(r, r.record(rec.get("OS"))),
        computer=read_computer(r, r.record(rec.get("Computer"))),
        adapters=[read_adapter(r, a) for a in r.records(rec.get("Adapters"))],
        addresses=[read_address(r, a) for a in r.records(rec.get("Addresses"))],
        pending_reboot=r.get(rec, "PendingReboot", bool, required=False, default=False),
        vmhost=read_vmhost(r, r.record(rec["VMHost"])) if hyperv and rec.get("VMHost") else None,
        vms=[read_vm(r, v) for v in r.records(rec.get("VMs"))] if hyperv else None,
    )


__all__ = [
    "ComputerSystem", "Disk", "HostFacts", "IPAddress", "NetAdapter", "OSInfo", "get_computer_system", "get_disks",
    "get_host_facts", "get_ip_addresses", "get_net_adapters", "get_os", "is_pending_reboot", "restart_computer",
]
