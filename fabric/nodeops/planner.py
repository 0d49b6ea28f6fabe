"""The evacuation planner: where every running VM goes while each node of a cluster is out, proven
to fit before anything moves.

Pure functions over plain data so the Remediate dialog (dry run), the remediation and upgrade
jobs (run again before acting) and the benchmarks all use the same plan.

Rules:
- one node out at a time; its running, highly available VMs are live-migrated to the other nodes
  that are Up; a node's VMs come back to it when it is back, so every step starts from the
  cluster's current placement;
- no host may end up with more running-VM memory than its memory (minus a reserve);
- the cluster keeps a majority of its votes with one node out: one per node that is Up or Paused,
  plus the witness's (disk, file share or cloud witness) when Ferry has read one that is online —
  so a 2-node cluster with a witness keeps 2 of 3 votes, one without refuses;
- running VMs that are not highly available cannot be live-migrated by the cluster: they are
  saved and started again on the same node (as in save-state mode);
- a paused VM is saved too, and paused again once it is started (it is not live-migrated).
"""
from __future__ import annotations

from dataclasses import dataclass, field

GiB = 1024**3


@dataclass(frozen=True)
class PlanHost:
    name: str
    memory_bytes: int
    migration_limit: int = 2
    state: str = "Up"  # Up, Paused, Down (Get-ClusterNode State)


@dataclass(frozen=True)
class PlanVM:
    name: str
    memory_bytes: int
    owner: str
    running: bool = True  # holds its memory: Running (or Paused)
    highly_available: bool = True
    id: str = ""  # the VM's GUID, what every operation selects it by (a name can read as a wildcard)
    paused: bool = False


@dataclass(frozen=True)
class Move:
    vm: str
    source: str
    target: str
    memory_bytes: int
    vm_id: str = ""


@dataclass
class NodeEvacuation:
    node: str
    moves: list[Move] = field(default_factory=list)
    to_save: list[PlanVM] = field(default_factory=list)  # saved on the node and started again after
    load_after: dict[str, int] = field(default_factory=dict)  # running-VM memory per host while the node is out

    @property
    def saved(self) -> list[str]:
        return [vm.name for vm in self.to_save]

    def migration_order(self) -> list[Move]:
        """Largest first: keeps the source's migration slots busy and ends on the small VMs."""
        return sorted(self.moves, key=lambda m: (-m.memory_bytes, m.vm))


@dataclass
class RollingPlan:
    order: list[str]
    steps: list[NodeEvacuation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return not self.problems


class PlanRefused(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def _gib(value: int) -> str:
    return f"{value / GiB:.1f} GiB"


def running_load(hosts: list[PlanHost], vms: list[PlanVM]) -> dict[str, int]:
    load = {h.name: 0 for h in hosts}
    for vm in vms:
        if vm.running and vm.owner in load:
            load[vm.owner] += vm.memory_bytes
    return load


def plan_evacuation(
    node: str,
    hosts: list[PlanHost],
    vms: list[PlanVM],
    *,
    save_state: bool = False,
    reserve_bytes: int = 0,
) -> NodeEvacuation:
    """Place every running VM of `node` on the other Up nodes; raise PlanRefused if one does not fit.

    Largest VM first, each onto the target with the most free memory left (worst fit), which
    spreads the VMs, and so the migrations, over as many targets as possible.
    """
    by_name = {h.name: h for h in hosts}
    if node not in by_name:
        raise PlanRefused([f"{node} is not a node of this cluster"])
    load = running_load(hosts, vms)
    evacuation = NodeEvacuation(node=node)
    targets = [h for h in hosts if h.name != node and h.state == "Up"]
    leaving = sorted(
        (vm for vm in vms if vm.owner == node and vm.running), key=lambda vm: (-vm.memory_bytes, vm.name)
    )
    problems = []
    incoming = {h.name: 0 for h in targets}
    for vm in leaving:
        if save_state or not vm.highly_available or vm.paused:
            evacuation.to_save.append(vm)
            continue
        best, best_free = None, None
        for target in targets:
            free = target.memory_bytes - reserve_bytes - load[target.name] - vm.memory_bytes
            if free < 0:
                continue
            key = (free, -incoming[target.name])
            if best is None or key > best_free:
                best, best_free = target, key
        if best is None:
            largest = max((h.memory_bytes - reserve_bytes - load[h.name] for h in targets), default=0)
            where = "no other node is Up" if not targets else f"the most free memory on another node is {_gib(largest)}"
            problems.append(
                f"VM {vm.name} ({_gib(vm.memory_bytes)}) does not fit anywhere while {node} is out: {where}"
            )
            continue
        load[best.name] += vm.memory_bytes
        incoming[best.name] += 1
        evacuation.moves.append(Move(vm.name, node, best.name, vm.memory_bytes, vm.id))
    if problems:
        raise PlanRefused(problems)
    load[node] = 0  # moved away or saved
    evacuation.load_after = load
    return evacuation


def quorum_votes(hosts: list[PlanHost], node: str, *, witness: bool = False) -> tuple[int, int]:
    """(votes left, votes in all) while `node` is out: one per node that is Up or Paused (a Down node
    has lost its vote), plus the witness's when the cluster has one that is online."""
    extra = 1 if witness else 0
    voting = sum(1 for h in hosts if h.name.lower() != node.lower() and h.state in ("Up", "Paused"))
    return voting + extra, len(hosts) + extra


def votes_text(votes: int, total: int, witness: bool) -> str:
    return f"{votes} of {total} votes" + (" with the witness" if witness else "")


def quorum_problem(hosts: list[PlanHost], node: str, *, witness: bool = False) -> str | None:
    """A majority of the votes with `node` out, or why not. `witness`: the cluster has a witness
    (disk, file share or cloud) Ferry has read and that is online; unknown counts as none."""
    votes, total = quorum_votes(hosts, node, witness=witness)
    if votes * 2 > total:
        return None
    if witness:
        return (f"Quorum would be lost while {node} is out: {votes_text(votes, total, True)} would be left, "
                f"more than {total / 2:g} are needed")
    problem = (f"Quorum would be lost while {node} is out: {votes} of {total} nodes would be up, "
               f"more than {total / 2:g} are needed")
    if (votes + 1) * 2 > total + 1:
        problem += f"; a witness (disk, file share or cloud) would keep {votes + 1} of {total + 1} votes"
    return problem


def quorum_holds_text(hosts: list[PlanHost], node: str, *, witness: bool = False) -> str:
    """What an operator reads when quorum holds: "Quorum holds while N1 is out: 2 of 3 votes with the witness"."""
    votes, total = quorum_votes(hosts, node, witness=witness)
    return f"Quorum holds while {node} is out: {votes_text(votes, total, witness)}"


def plan_rolling(
    hosts: list[PlanHost],
    vms: list[PlanVM],
    order: list[str],
    *,
    save_state: bool = False,
    allow_maintenance: bool = False,
    reserve_bytes: int = 0,
    witness: bool = False,
) -> RollingPlan:
    """Check every step of a rolling run before anything moves. Never raises: problems are listed.
    `witness`: the cluster's witness adds a vote (see quorum_problem)."""
    plan = RollingPlan(order=list(order))
    names = {h.name for h in hosts}
    for h in hosts:
        if h.state == "Down":
            plan.problems.append(f"{h.name} is Down: bring it back before remediating the cluster")
        elif h.state != "Up" and not allow_maintenance:
            plan.problems.append(
                f"{h.name} is {h.state} (in maintenance); "
                "allow clusters with nodes already in maintenance mode to go on"
            )
    for node in order:
        if node not in names:
            plan.problems.append(f"{node} is not a node of this cluster")
            continue
        problem = quorum_problem(hosts, node, witness=witness)
        if problem:
            plan.problems.append(problem)
        try:
            plan.steps.append(
                plan_evacuation(node, hosts, vms, save_state=save_state, reserve_bytes=reserve_bytes)
            )
        except PlanRefused as refused:
            plan.problems.extend(refused.problems)
    return plan


def evacuation_lower_bound(memory: list[int], bandwidth_bytes_s: float, limit: int) -> float:
    """Seconds no plan can beat: the largest VM, or the source's migration slots full all along."""
    if not memory:
        return 0.0
    return max(max(memory) / bandwidth_bytes_s, sum(memory) / (bandwidth_bytes_s * limit))
