"""The deployment template: what a node is re-imaged and configured with, recorded by the node's
first step from the node's real configuration, the profile and the operator's settings, stored
in that step's data and shown on the job page."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class DeploymentTemplate:
    node: str                 # the node's name before the upgrade
    computer_name: str        # its name after (DeviceName on WDS)
    mac: str                  # the management NIC's MAC (PXE boots from it; the management vNIC rides on it)
    adapter: str              # that NIC's name in Windows ("Ethernet")
    address: str              # the static address after the upgrade (also the deployment address)
    prefix_length: int
    gateway: str
    dns: list[str]
    vlan: int
    image_name: str           # WDS ImageName / ImageGroup of the target release
    image_group: str
    build: int                # the target release's build
    from_build: int | None = None  # the build it ran before (it boots that again if the deployment is missed)
    domain: str = ""
    disk: int = 0             # the boot disk setup installs to
    pool_id: int | None = None        # the static IP pool the address comes from (taken when provisioning starts)
    allocation_id: int | None = None  # that address's allocation, released if the node fails before its boot
    recorded: dict = field(default_factory=dict)  # the node's configuration as read (NICs, switches, disks)

    def to_data(self) -> dict:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict | None) -> "DeploymentTemplate | None":
        if not data:
            return None
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def lines(self) -> list[str]:
        """The template as the job page shows it."""
        return [
            f"Computer name {self.computer_name} (was {self.node}), domain {self.domain or '(workgroup)'}",
            f"Image {self.image_name}" + (f" ({self.image_group})" if self.image_group else "") +
            f", build {self.build}, on disk {self.disk}",
            f"Management NIC {self.adapter} {self.mac} → virtual switch Management, "
            f"{self.address or 'an address from the static IP pool'}/{self.prefix_length}"
            + (f" via {self.gateway}" if self.gateway else "") +
            (f", DNS {', '.join(self.dns)}" if self.dns else "") + (f", VLAN {self.vlan}" if self.vlan else ""),
            "Features Hyper-V and Failover-Clustering with their management tools",
        ]
