from .accounts import RunAsAccount
from .hosts import Cluster, FileShare, Host, HostGroup, VirtualMachine
from .library import DeploymentServer, LibraryImage, PhysicalComputerProfile
from .maintenance import MaintenanceWindow
from .networking import IPAllocation, LogicalNetwork, StaticIPPool, Subnet

__all__ = [
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
