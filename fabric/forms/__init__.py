from .accounts import PASSWORD_PLACEHOLDER, RunAsAccountForm
from .library import DeploymentServerForm, LibraryImageForm, PhysicalComputerProfileForm
from .networking import LogicalNetworkForm, StaticIPPoolForm, SubnetForm
from .servers import ClusterForm, HostForm, HostGroupForm

__all__ = [
    "ClusterForm",
    "DeploymentServerForm",
    "HostForm",
    "HostGroupForm",
    "LibraryImageForm",
    "LogicalNetworkForm",
    "PASSWORD_PLACEHOLDER",
    "PhysicalComputerProfileForm",
    "RunAsAccountForm",
    "StaticIPPoolForm",
    "SubnetForm",
]
