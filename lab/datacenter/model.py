"""The mutable state of the simulated datacenter. Only the Datacenter (under its lock) changes it."""
from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

from lab.topology import DiskSpec, NicSpec, OsRelease

# Windows enum values (docs/powershell.md).
NODE_UP, NODE_DOWN, NODE_PAUSED = 0, 1, 2
NODE_STATE_NAMES = {0: "Up", 1: "Down", 2: "Paused", 3: "Joining", -1: "Unknown"}
DRAIN_NOT_INITIATED, DRAIN_IN_PROGRESS, DRAIN_COMPLETED, DRAIN_FAILED = 0, 1, 2, 3
DRAIN_NAMES = {0: "NotInitiated", 1: "InProgress", 2: "Completed", 3: "Failed"}
STATUS_FLAGS = {1: "Isolated", 2: "Quarantined", 4: "DrainInProgress", 8: "DrainCompleted",
                16: "DrainFailed", 32: "AvoidPlacement"}
DRAIN_STATUS_FLAG = {DRAIN_IN_PROGRESS: 4, DRAIN_COMPLETED: 8, DRAIN_FAILED: 16}
VM_STATE_NUMBERS = {"Other": 1, "Running": 2, "Off": 3, "Stopping": 4, "Saved": 6, "Paused": 9,
                    "Starting": 10, "Reset": 11, "Saving": 32773, "Pausing": 32776, "Resuming": 32777}
STOP_ACTION_NUMBERS = {"TurnOff": 2, "Save": 3, "ShutDown": 4}
IN_MEMORY_STATES = ("Running", "Paused")   # a VM in these states holds its host's memory


@dataclass
class Migration:
    vm_id: str
    source: str
    target: str
    kind: str                    # "Live" or "Quick"
    started: float               # wall (monotonic) seconds
    ends: float


@dataclass
class VM:
    id: str
    name: str
    memory: int                  # bytes (MemoryStartup)
    cpus: int
    state: str
    highly_available: bool
    generation: int
    automatic_stop_action: str
    group_id: str
    started_at: dt.datetime | None = None
    migration: Migration | None = None
    drained_from: str | None = None      # host key, for Resume-ClusterNode -Failback Immediate
    version: str = "9.0"                 # configuration version (Get-VM Version); stays when it migrates
    path: str = ""                       # its folder (Get-VM Path); empty: the host's default

    @property
    def in_memory(self) -> bool:
        return self.state in IN_MEMORY_STATES


@dataclass
class Host:
    key: str                      # stable id: the topology name, never changes
    name: str                     # current computer name (changes on re-image)
    role: str
    address: str                  # the loopback address its WinRM endpoint listens on
    bmc_address: str
    os: OsRelease
    domain: str | None            # None: workgroup
    memory: int
    cpus: int
    nics: list[NicSpec]
    disks: list[DiskSpec]
    bandwidth: float              # live-migration bytes per second
    max_migrations: int
    timings: dict[str, float]
    winrm_username: str
    winrm_password: str
    winrm_transport: str
    https: bool
    credssp: bool
    trusted_for_delegation: bool
    has_bmc: bool
    bmc_username: str
    bmc_password: str
    manufacturer: str
    model: str
    serial_number: str
    installed: dict[str, dt.datetime] = field(default_factory=dict)   # update id → installed on
    failed_updates: dict[str, int] = field(default_factory=dict)      # update id → HRESULT
    pending_reboot: bool = False
    power_on: bool = True
    os_state: str = "running"     # running | stopping | booting | deploying | hung | off
    epoch: int = 0                # bumped at every power transition; stale timers compare it
    boot_device: str = "default"
    last_boot: dt.datetime | None = None
    install_date: dt.datetime | None = None
    cluster: str | None = None    # cluster key while a member
    paused: bool = False
    drain_status: int = DRAIN_NOT_INITIATED
    activity: float = 0.0         # wall time of the last pause or migration touching this host
    vms: dict[str, VM] = field(default_factory=dict)
    active_migrations: int = 0
    incoming: dict[str, int] = field(default_factory=dict)   # vm id → bytes reserved
    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # lower path → (path, text)
    features: set[str] = field(default_factory=set)            # Get-WindowsFeature InstallState Installed
    event_sources: dict[str, str] = field(default_factory=dict)  # lower source → log (New-EventLog)
    pending_features: set[str] = field(default_factory=set)    # installed, waiting for a restart
    switches: list["VMSwitch"] = field(default_factory=list)
    install_lock: threading.Lock = field(default_factory=threading.Lock)
    downloaded: set = field(default_factory=set)  # update ids in the host's Windows Update cache

    @property
    def online(self) -> bool:
        """The OS runs and answers WinRM."""
        return self.power_on and self.os_state in ("running", "stopping")

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.domain}" if self.domain else self.name

    def memory_in_use(self) -> int:
        return sum(vm.memory for vm in self.vms.values() if vm.in_memory) + sum(self.incoming.values())

    def free_memory(self) -> int:
        return self.memory - self.memory_in_use()

    def management_nic(self) -> NicSpec:
        return self.nics[0]


@dataclass
class VMSwitch:
    name: str
    id: str
    switch_type: str              # External | Internal | Private
    adapter: str | None           # the physical NIC (its name) of an External switch
    management_os: bool           # AllowManagementOS: a host vNIC named after the switch
    management_mac: str | None = None


@dataclass
class NodeRecord:
    host_key: str
    name: str
    id: int


@dataclass
class ClusterRole:
    """A non-VM cluster group (SOFS role) or a cluster shared volume."""
    name: str
    id: str
    owner: str                    # host key
    size: int = 0
    free: int = 0
    failover_until: float = 0.0   # wall (monotonic) time a failover's outage ends; 0: none


@dataclass
class StorageJob:
    """A Storage Spaces Direct repair (Get-StorageJob): resyncs a virtual disk after a node returned."""
    id: str
    name: str
    virtual_disk: str             # the CSV (ClusterRole) name it repairs
    started: float                # simulated seconds since the lab started (clock.elapsed())
    duration: float               # simulated seconds
    size: int                     # bytes to resync


@dataclass
class Share:
    name: str
    path: str
    scope: str
    continuously_available: bool
    description: str


@dataclass
class Cluster:
    key: str
    name: str
    kind: str
    id: str
    address: str
    domain: str
    functional_level: int
    nodes: list[NodeRecord]
    core_owner: str
    winrm_username: str
    winrm_password: str
    winrm_transport: str
    credssp: bool
    trusted_for_delegation: bool
    witness: bool
    core_group_id: str
    storage_group_id: str
    sofs_roles: list[ClusterRole] = field(default_factory=list)
    csvs: list[ClusterRole] = field(default_factory=list)
    shares: list[Share] = field(default_factory=list)
    next_node_id: int = 1
    s2d: bool = False             # the nodes' disks form a Storage Spaces Direct pool behind the CSVs
    resync_ratio: float = 0.5     # seconds of repair per second a node was away
    resync_min_seconds: float = 0.0  # the shortest repair, however briefly the node was away
    storage_jobs: list[StorageJob] = field(default_factory=list)
    witness_type: str = "file_share"  # with witness: "disk", "file_share" or "cloud"
    down_since: dict[str, float] = field(default_factory=dict)   # host key → clock.elapsed() it went down

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.domain}"

    def record(self, host_key: str) -> NodeRecord | None:
        for record in self.nodes:
            if record.host_key == host_key:
                return record
        return None


@dataclass
class Reservation:
    """A DHCP server IPv4 reservation."""
    scope_id: str
    ip: str
    client_id: str               # normalized MAC
    name: str
    description: str
    type: str                    # Dhcp | Bootp | Both


@dataclass
class Staging:
    """A WDS prestaged device."""
    device_id: str               # normalized MAC 00-11-22-33-44-55
    device_name: str
    unattend: str | None         # path as given (relative to RemoteInstall or absolute)
    boot_image: str | None
    prompt_policy: str
    join_domain: bool
    domain: str | None
    ou: str | None
    created: dt.datetime
