from .accounts import RunAsAccount
from .audit import AuditEntry
from .hosts import Cluster, FileShare, Host, HostGroup, VirtualMachine
from .maintenance import MaintenanceWindow
from .library import DeploymentServer, LibraryImage, PhysicalComputerProfile
from .networking import IPAllocation, LogicalNetwork, StaticIPPool, Subnet

__all__ = [
    "AuditEntry",
    "Cluster",
    "DeploymentServer",
    "FileShare",
    "Host",
    "HostGroup",
    "IPAllocation",
    "LibraryImage",
    "LogicalNetwork",
    "MaintenanceWindow",
    "PhysicalComputerProfile",
    "RunAsAccount",
    "StaticIPPool",
    "Subnet",
    "VirtualMachine",
]
