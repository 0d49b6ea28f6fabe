"""What a topology describes: the specs the loader builds and the datacenter starts from."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

GB = 2**30


class TopologyError(ValueError):
    """A topology file that cannot be used, with the place of the problem in the message."""


@dataclass(frozen=True)
class OsRelease:
    key: str
    caption: str
    version: str
    build: int
    functional_level: int
    upgrade_version: int
    vm_version: str               # the default (and highest) VM configuration version its Hyper-V supports

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


# Functional levels 11/12 and the upgrade versions are not in an official table (notes). VM versions:
# learn.microsoft.com, "Supported virtual machine configuration versions" (Hyper-V hosts' defaults).
OS_RELEASES = {
    "2016": OsRelease("2016", "Microsoft Windows Server 2016 Datacenter", "10.0.14393", 14393, 9, 8, "8.0"),
    "2019": OsRelease("2019", "Microsoft Windows Server 2019 Datacenter", "10.0.17763", 17763, 10, 3, "9.0"),
    "2022": OsRelease("2022", "Microsoft Windows Server 2022 Datacenter", "10.0.20348", 20348, 11, 3, "10.0"),
    "2025": OsRelease("2025", "Microsoft Windows Server 2025 Datacenter", "10.0.26100", 26100, 12, 3, "12.0"),
}
OS_BY_BUILD = {r.build: r for r in OS_RELEASES.values()}

HOST_ROLES = ("hyperv", "sofs", "server", "wsus", "deployment")
TRANSPORTS = ("ntlm", "basic", "kerberos", "credssp")
WITNESS_TYPES = ("disk", "file_share", "cloud")
VM_STATES = ("Running", "Off", "Saved", "Paused")
STOP_ACTIONS = ("TurnOff", "Save", "ShutDown")
FAULT_KINDS = (
    "migration_fails", "host_stays_down", "winrm_timeout", "winrm_http500",
    "bmc_unresponsive", "update_install_fails", "garbage_output", "pxe_boot_ignored", "cmdlet_fails",
    "csv_move_fails",
)

HOST_DEFAULTS = {
    "memory_gb": 256.0, "cpus": 32, "os": "2019",
    "migration_bandwidth_gbps": 10.0, "max_migrations": 2,
    "winrm_username": "CONTOSO\\svc-ferry", "winrm_password": "Lab-Passw0rd!",
    "winrm_transport": "ntlm", "bmc": True, "bmc_username": "ADMIN", "bmc_password": "Bmc-Passw0rd!",
    "reboot_seconds": 240.0, "boot_seconds": 180.0, "shutdown_seconds": 15.0,
    "install_base_seconds": 60.0, "install_per_update_seconds": 20.0,
    "deploy_seconds": 1500.0, "scan_seconds": 30.0,
    "manufacturer": "Contoso Systems", "model": "CS-2400", "https": True,
    # CredSSP enabled as a WinRM server role (Enable-WSManCredSSP -Role Server), and the computer
    # account trusted for delegation (a forwarded Kerberos ticket may then go on to a third machine)
    "credssp": False, "trusted_for_delegation": False,
}
TIMING_KEYS = ("reboot_seconds", "boot_seconds", "shutdown_seconds", "install_base_seconds",
               "install_per_update_seconds", "deploy_seconds", "scan_seconds")


@dataclass
class NicSpec:
    name: str
    mac: str
    ip: str | None = None          # None: the host's loopback address
    prefix_length: int = 24
    gateway: str | None = None
    dns: list[str] = field(default_factory=list)
    link_speed_gbps: float = 10.0
    dhcp: bool = False             # the address came from DHCP (a freshly deployed host)


@dataclass
class DiskSpec:
    number: int
    friendly_name: str
    size_gb: float
    bus_type: str = "SAS"
    partition_style: str = "GPT"
    is_boot: bool = False
    is_system: bool = False
    is_clustered: bool = False
    serial_number: str = ""


@dataclass
class VmSpec:
    name: str
    owner: str
    memory_gb: float
    cpus: int = 2
    state: str = "Running"
    highly_available: bool = True
    generation: int = 2
    automatic_stop_action: str = "Save"
    id: str = ""
    version: str = ""              # configuration version; default: what the cluster's functional level gives
    path: str = ""                 # its folder (Get-VM Path), e.g. on a file server's share \\SOFS\share\vm


@dataclass
class HostSpec:
    name: str
    role: str
    os: OsRelease
    memory_gb: float
    cpus: int
    nics: list[NicSpec]
    disks: list[DiskSpec]
    migration_bandwidth_gbps: float
    max_migrations: int
    winrm_username: str
    winrm_password: str
    winrm_transport: str
    https: bool
    bmc: bool
    bmc_username: str
    bmc_password: str
    timings: dict[str, float]
    manufacturer: str
    model: str
    serial_number: str
    credssp: bool = False
    trusted_for_delegation: bool = False
    installed_updates: list[str] | None = None   # update ids/KBs, or None: see missing_updates
    missing_updates: list[str] = field(default_factory=list)
    cluster: str | None = None
    vms: list[VmSpec] = field(default_factory=list)


@dataclass
class ShareSpec:
    name: str
    path: str
    scope: str
    continuously_available: bool = True
    description: str = ""


@dataclass
class CsvSpec:
    name: str
    owner: str
    size_gb: float = 4096.0
    free_gb: float = 2048.0
    id: str = ""


@dataclass
class ClusterSpec:
    name: str
    kind: str                      # "hyperv" or "sofs"
    nodes: list[str]
    functional_level: int
    winrm_username: str
    winrm_password: str
    winrm_transport: str
    credssp: bool = False
    trusted_for_delegation: bool = False
    witness: bool = False
    witness_type: str = "file_share"   # "disk", "file_share" or "cloud" (Get-ClusterQuorum's QuorumResource)
    sofs_roles: list[str] = field(default_factory=list)
    shares: list[ShareSpec] = field(default_factory=list)
    csvs: list[CsvSpec] = field(default_factory=list)
    id: str = ""
    s2d: bool = False              # Storage Spaces Direct: a virtual disk behind every CSV
    resync_ratio: float = 0.5      # repair seconds per second a node was away
    resync_min_seconds: float = 0.0  # the shortest repair, however briefly the node was away


@dataclass
class UpdateSpec:
    id: str
    kb: str
    title: str
    classification: str
    severity: str
    release_date: dt.date
    reboot_required: bool
    applies_to: list[str]
    superseded_by: list[str] = field(default_factory=list)
    description: str = ""
    approved: bool = True
    declined: bool = False
    revision: int = 200


@dataclass
class ImageSpec:
    name: str
    os: OsRelease
    group: str = "Images"
    file: str = "install.wim"       # imported: the file name in the image store; media: its full path
    imported: bool = True           # False: a WIM/VHDX on the server's disk, waiting for Import-WdsInstallImage


@dataclass
class Topology:
    name: str
    path: str
    domain: str
    netbios_domain: str
    speed: float
    hosts: list[HostSpec]
    clusters: list[ClusterSpec]
    updates: list[UpdateSpec]
    update_server: str | None
    wsus_port: int
    deployment_server: str | None
    remote_install: str
    images: list[ImageSpec]
    taken_names: list[str]
    faults: list[dict]
    paused_vm_grace_seconds: float

    def host(self, name: str) -> HostSpec:
        for h in self.hosts:
            if h.name.lower() == name.lower():
                return h
        raise KeyError(name)
