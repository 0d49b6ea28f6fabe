"""What an operator asks for when upgrading a cluster, and what Ferry answers before it starts.

The wizard and the `upgrade_cluster` command fill an `UpgradeRequest`; `upgrades.orchestration`
checks it (`check_prerequisites`), explains it (`plan_upgrade`) and starts it (`submit_upgrade`).
Only ids and plain values here, so a request survives a session or a JSON round trip.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

POOL = "pool"  # NodeSettings.ip: take the next free address of the subnet's static IP pool


@dataclass
class NodeSettings:
    host_id: int
    bmc_address: str
    bmc_port: int = 623
    new_name: str = ""               # empty: keep the node's name
    skip_ad_check: bool = True       # False: check through the deployment server that the name is free
    management_mac: str = ""         # the management NIC (becomes the management vNIC), not the BMC's
    logical_network_id: int | None = None
    subnet_id: int | None = None
    ip: str = ""                     # an address inside the subnet, or POOL

    @classmethod
    def from_dict(cls, data: dict) -> "NodeSettings":
        return cls(**data)


@dataclass
class UpgradeRequest:
    cluster_id: int
    profile_id: int
    bmc_run_as_id: int
    image_id: int | None             # None: the profile's image
    nodes: list[NodeSettings]
    functional_level: bool = True    # raise the functional level after the last node
    pre_script: str = ""             # a node script of the library, run on each node before it leaves; "" none
    post_script: str = ""            # ... and once it has joined again and been resumed

    def as_params(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "UpgradeRequest":
        data = dict(data)
        data["nodes"] = [n if isinstance(n, NodeSettings) else NodeSettings.from_dict(n) for n in data["nodes"]]
        return cls(**data)


@dataclass(frozen=True)
class Verdict:
    """One prerequisite: its name, whether it holds, and what an operator reads about it."""
    name: str
    ok: bool
    message: str


@dataclass
class NodePlan:
    host_id: int
    name: str
    steps: list[str]                                  # the job steps' titles, in order
    # (VM, destination node) from the planner; on a file server ("role X" / "volume Y", destination node)
    moves: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class UpgradePlan:
    cluster: str
    target: str                                       # the target release's name
    nodes: list[NodePlan]
    verdicts: list[Verdict]
    functional_level: str = ""                        # the final step's title; empty when deselected
    point_of_no_return: str = ""                      # why that step cannot be undone
    kind: str = "hyperv"                              # the cluster's kind (ClusterKind): what moves off a node
    maintenance_window: str = ""                      # when nodes may start: closed now, next opening; "" any time

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts)


class UpgradeRefused(ValueError):
    """The request cannot be started; the message says why, for an operator."""
