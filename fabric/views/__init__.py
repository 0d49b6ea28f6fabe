"""Fabric pages. Reading needs the viewer role; every change needs administrator (core.roles)."""
from .accounts import RunAsAccountCreateView, RunAsAccountDeleteView, RunAsAccountEditView, RunAsAccountListView
from .library import (
    DeploymentServerCreateView,
    DeploymentServerDeleteView,
    DeploymentServerDetailView,
    DeploymentServerEditView,
    DeploymentServerListView,
    LibraryImageCreateView,
    LibraryImageDeleteView,
    LibraryImageDetailView,
    LibraryImageEditView,
    LibraryImageListView,
    PhysicalComputerProfileCreateView,
    PhysicalComputerProfileDeleteView,
    PhysicalComputerProfileDetailView,
    PhysicalComputerProfileEditView,
    PhysicalComputerProfileListView,
)
from .networking import (
    LogicalNetworkCreateView,
    LogicalNetworkDeleteView,
    LogicalNetworkDetailView,
    LogicalNetworkEditView,
    LogicalNetworkListView,
    StaticIPPoolCreateView,
    StaticIPPoolDeleteView,
    StaticIPPoolDetailView,
    StaticIPPoolEditView,
    SubnetCreateView,
    SubnetDeleteView,
    SubnetDetailView,
    SubnetEditView,
)
from .servers import (
    ClusterDetailView,
    ClusterEditView,
    ClusterListView,
    ClusterRemoveView,
    FileServerDetailView,
    FileServerListView,
    HostDetailView,
    HostEditView,
    HostGroupCreateView,
    HostGroupDeleteView,
    HostGroupEditView,
    HostRemoveView,
    ServerListView,
    VirtualMachineDetailView,
    VirtualMachineListView,
)

__all__ = [name for name in dir() if name.endswith("View")]
