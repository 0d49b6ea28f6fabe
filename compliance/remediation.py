"""Remediation as the operator chooses it: options, node order, and the dry-run plan.

The dialog, the `remediate` command and the job's own re-check all build the plan here from an
inventory snapshot: the dialog and the command from the database, the job from what the cluster
reports at that moment.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from compliance.choices import ComplianceState
from compliance.models import HostCompliance
from fabric.models import Cluster, Host, VirtualMachine
from fabric.nodeops.inventory import plan_inputs
from fabric.nodeops.planner import PlanHost, PlanRefused, PlanVM, RollingPlan, plan_rolling, quorum_problem

DEFAULT_MAX_RETRIES_PER_NODE = 3
DEFAULT_MAX_FAILED_NODES = 0
DEFAULT_REBOOT_TIMEOUT_MINUTES = 15


@dataclass
class RemediationOptions:
    """What the Remediate dialog (or `manage.py remediate`) asked for."""

    no_restart: bool = False
    allow_maintenance: bool = False
    save_state: bool = False
    max_retries_per_node: int = DEFAULT_MAX_RETRIES_PER_NODE
    max_failed_nodes: int = DEFAULT_MAX_FAILED_NODES
    reboot_timeout_minutes: int = DEFAULT_REBOOT_TIMEOUT_MINUTES
    node_order: list[str] = field(default_factory=list)  # empty: fewest VMs first
    # A node that hangs after its restart (powered on, OS silent) and whose BMC Ferry knows gets one
    # power cycle through the BMC before the restart step gives up.
    power_cycle_hung: bool = True
    # Node scripts from the library, by name: run on each node before it is paused / after it is resumed.
    pre_script: str = ""
    post_script: str = ""

    def as_params(self) -> dict:
        return asdict(self)

    @classmethod
    def from_params(cls, params: dict) -> "RemediationOptions":
        known = {k: v for k, v in params.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def describe(self) -> str:
        parts = ["save state" if self.save_state else "live migration"]
        if self.no_restart:
            parts.append("no restart")
        if self.allow_maintenance:
            parts.append("nodes in maintenance allowed")
        parts.append(f"{self.max_retries_per_node} retries per node, {self.max_failed_nodes} failed nodes allowed")
        parts.append(f"reboot timeout {self.reboot_timeout_minutes} min")
        if not self.power_cycle_hung:
            parts.append("no power cycle of a hung node")
        if self.pre_script:
            parts.append(f"pre-script {self.pre_script}")
        if self.post_script:
            parts.append(f"post-script {self.post_script}")
        return ", ".join(parts)


@dataclass
class NodePlan:
    name: str
    state: str  # compliance state at the last scan
    node_state: str
    running_vms: int
    action: str  # "remediate" or why it is skipped
    evacuation: object = None  # fabric.nodeops.planner.NodeEvacuation

    @property
    def skipped(self) -> bool:
        return self.action != "remediate"


@dataclass
class DryRun:
    cluster: str
    nodes: list[NodePlan]
    problems: list[str]
    capacity: dict[str, int]

    @property
    def fits(self) -> bool:
        return not self.problems

    @property
    def to_remediate(self) -> list[str]:
        return [n.name for n in self.nodes if not n.skipped]


def fewest_vms_first(hosts: list[PlanHost], vms: list[PlanVM]) -> list[str]:
    """CAU-style default order: the node with the fewest running VMs (least to move) goes first."""
    count = {h.name: 0 for h in hosts}
    for vm in vms:
        if vm.running and vm.owner in count:
            count[vm.owner] += 1
    return sorted(count, key=lambda name: (count[name], name.lower()))


def check_order(order: list[str], nodes: list[str]) -> list[str]:
    """Problems with an explicit order: every node once, nothing else."""
    problems = []
    lower = {n.lower(): n for n in nodes}
    seen = set()
    for name in order:
        key = name.lower()
        if key not in lower:
            problems.append(f"{name} is not a node of this cluster")
        elif key in seen:
            problems.append(f"{name} is named twice in the node order")
        seen.add(key)
    missing = [n for n in nodes if n.lower() not in seen]
    if missing and not problems:
        problems.append("The node order must name every node; missing: " + ", ".join(missing))
    return problems


def needs_remediation(state: str) -> bool:
    return state != ComplianceState.COMPLIANT


def rolling_dry_run(
    cluster_name: str,
    hosts: list[PlanHost],
    vms: list[PlanVM],
    states: dict[str, str],
    options: RemediationOptions,
    *,
    witness: bool = False,
) -> DryRun:
    """Which nodes are remediated in which order, where every VM goes, and why it cannot run if not.

    `states` is each node's compliance state; Compliant nodes are skipped without draining.
    `witness`: the cluster has a witness that adds a vote (read and online).
    """
    names = [h.name for h in hosts]
    problems = check_order(options.node_order, names) if options.node_order else []
    if problems:
        return DryRun(cluster_name, [], problems, {h.name: h.memory_bytes for h in hosts})
    canonical = {n.lower(): n for n in names}
    order = [canonical[n.lower()] for n in options.node_order] if options.node_order else fewest_vms_first(hosts, vms)
    running = {h.name: 0 for h in hosts}
    for vm in vms:
        if vm.running and vm.owner in running:
            running[vm.owner] += 1
    by_name = {h.name: h for h in hosts}
    active = [n for n in order if needs_remediation(states.get(n, ComplianceState.UNKNOWN))]
    plan: RollingPlan = plan_rolling(
        hosts, vms, active, save_state=options.save_state, allow_maintenance=options.allow_maintenance,
        witness=witness,
    )
    steps = {s.node: s for s in plan.steps}
    nodes = []
    for name in order:
        state = states.get(name, ComplianceState.UNKNOWN)
        action = "remediate" if name in active else "skip: already compliant"
        nodes.append(NodePlan(name, state, by_name[name].state, running[name], action, steps.get(name)))
    if not active:
        problems = ["Every node is compliant: there is nothing to remediate."]
    else:
        problems = list(plan.problems)
    return DryRun(cluster_name, nodes, problems, {h.name: h.memory_bytes for h in hosts})


def cluster_dry_run(cluster: Cluster, options: RemediationOptions) -> DryRun:
    """The dialog's dry run, from the inventory in the database."""
    hosts = list(cluster.nodes.order_by("name"))
    vms = list(VirtualMachine.objects.filter(host__in=hosts))
    states = dict(HostCompliance.objects.filter(host__in=hosts).values_list("host__name", "state"))
    plan_hosts, plan_vms = plan_inputs(hosts, vms)
    if not hosts:
        return DryRun(cluster.name, [], [f"{cluster.name} has no nodes in the inventory; refresh it first."], {})
    return rolling_dry_run(cluster.name, plan_hosts, plan_vms, states, options, witness=cluster.witness_votes)


def standalone_problems(host: Host) -> list[str]:
    """Refusals for remediating one host on its own (a clustered one keeps quorum with it out)."""
    problems = []
    if host.cluster_id:
        peers = list(host.cluster.nodes.all())
        plan_hosts, _ = plan_inputs(peers, [])
        problem = quorum_problem(plan_hosts, host.name, witness=host.cluster.witness_votes)
        if problem:
            problems.append(problem)
    return problems


__all__ = [
    "DryRun",
    "NodePlan",
    "PlanRefused",
    "RemediationOptions",
    "cluster_dry_run",
    "fewest_vms_first",
    "plan_inputs",
    "rolling_dry_run",
    "standalone_problems",
]
