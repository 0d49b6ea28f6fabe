"""A Scale-Out File Server node's workloads: the SOFS role(s) it owns and the cluster shared
volumes it coordinates (it runs no VMs).

Before the node is paused and restarted they move to other Up nodes (Move-ClusterGroup,
Move-ClusterSharedVolume) — a planned move, which the SMB clients of a continuously available
share follow; a node going down while it still owns them makes the cluster fail them over, an
outage the clients see. They are not brought back: they stay spread where they moved.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from fabric import agents
from fabric.models import Cluster
from fabric.nodeops.live import LiveCluster, cluster_connection, live_quorum_problem
from fabric.nodeops.nodes import NodeTarget, pause, rollback_pause
from fabric.nodeops.planner import PlanRefused
from jobs.engine import StepFailed


@dataclass(frozen=True)
class StorageMove:
    kind: str  # "role" (a SOFS cluster group) or "volume" (a cluster shared volume)
    name: str
    source: str
    target: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name} → {self.target}"


@dataclass
class SofsState:
    """What the cluster reports now: node states and who owns each SOFS role and CSV."""

    nodes: dict[str, str]  # node → Up / Down / Paused / Joining
    roles: dict[str, str]  # SOFS role → owner node
    volumes: dict[str, str]  # CSV → owner node
    witness: bool = False  # Get-ClusterQuorum now: a witness that is online adds a vote
    quorum_error: str = ""  # why Get-ClusterQuorum could not be read

    def owned_by(self, node: str) -> list[tuple[str, str]]:
        """(kind, name) of what `node` owns: roles first, then volumes."""
        key = node.lower()
        return ([("role", r) for r, owner in sorted(self.roles.items()) if owner.lower() == key]
                + [("volume", v) for v, owner in sorted(self.volumes.items()) if owner.lower() == key])

    def as_live(self) -> LiveCluster:
        return LiveCluster(nodes=dict(self.nodes), vms=[], hosts={}, witness=self.witness,
                           quorum_error=self.quorum_error)


def read_sofs_state(conn: agents.Connection) -> SofsState:
    inventory = agents.cluster.cluster_inventory(conn)
    volumes = agents.storage.get_cluster_shared_volumes(conn)
    return SofsState(
        nodes={n.name: n.state for n in inventory["nodes"]},
        roles={g.name: g.owner_node for g in inventory["groups"] if g.group_type == "ScaleoutFileServer"},
        volumes={v.name: v.owner_node for v in volumes},
        witness=inventory["quorum"] is not None and inventory["quorum"].witness_votes,
        quorum_error=inventory["quorum_error"],
    )


def plan_sofs_evacuation(node: str, state: SofsState) -> list[StorageMove]:
    """Where each role and CSV of `node` goes: the Up node that owns the fewest so far, so the load
    stays spread. Refused when no other node is Up to take them."""
    owned = state.owned_by(node)
    targets = sorted(n for n, s in state.nodes.items() if s == "Up" and n.lower() != node.lower())
    if owned and not targets:
        names = ", ".join(name for _, name in owned)
        raise PlanRefused([f"No other node is Up to take {names} from {node}"])
    load = Counter({t: 0 for t in targets})
    for owner in [*state.roles.values(), *state.volumes.values()]:
        if owner in load:
            load[owner] += 1
    moves = []
    for kind, name in owned:
        target = min(targets, key=lambda t: (load[t], t.lower()))
        load[target] += 1
        moves.append(StorageMove(kind, name, node, target))
    return moves


def plan_rolling_sofs(order: list[str], state: SofsState) -> dict[str, list[StorageMove]]:
    """The moves of each node in turn, each from the placement the previous nodes left (the dry run)."""
    roles, volumes = dict(state.roles), dict(state.volumes)
    plans = {}
    for node in order:
        step = SofsState(state.nodes, roles, volumes, state.witness)
        try:
            moves = plan_sofs_evacuation(node, step)
        except PlanRefused:
            moves = []
        for move in moves:
            (roles if move.kind == "role" else volumes)[move.name] = move.target
        plans[node] = moves
    return plans


def move(conn: agents.Connection, item: StorageMove) -> str:
    """Run one move; returns the owner the cluster reports afterwards."""
    if item.kind == "role":
        return agents.cluster.move_cluster_group(conn, item.name, item.target).owner_node
    return agents.storage.move_cluster_shared_volume(conn, item.name, item.target).owner_node


def evacuate_cluster_node(ctx, node: NodeTarget, save_state: bool = False) -> str:
    """Pause the node, move its roles and CSVs where the plan says, and check nothing is left on it.
    A move that fails resumes the node and fails the step with the role's or volume's name and the
    cluster's reason. (`save_state` has no meaning here: there are no VMs.) Callers wait for
    healthy storage first (fabric.nodeops.storage)."""
    conn = node.cluster_conn()
    state = read_sofs_state(conn)
    live = state.as_live()
    name = node.live_name(live)
    if state.nodes[name] == "Down":
        raise StepFailed(f"{name} is Down in the cluster: nothing can be moved off it.", retry=False)
    problem = live_quorum_problem(live, name)
    if problem:
        raise StepFailed(problem, retry=False)
    try:
        moves = plan_sofs_evacuation(name, state)
    except PlanRefused as refused:
        raise StepFailed("The evacuation does not fit: " + "; ".join(refused.problems)) from None
    pause(ctx, node, live)
    failures, done = [], []
    for item in moves:
        ctx.ensure_lease()
        try:
            owner = move(conn, item)
        except agents.AgentError as error:
            failures.append(f"The {item.kind} {item.name} could not be moved from {name} to {item.target}: {error}")
            ctx.log(failures[-1], "error")
            continue
        if owner.lower() != item.target.lower():
            failures.append(f"The cluster reports the {item.kind} {item.name} on {owner or 'no node'} after "
                            f"moving it to {item.target}")
            continue
        done.append(item)
        ctx.log(f"Moved the {item.kind} {item.name} from {name} to {item.target}.")
    ctx.save_checkpoint(storage_moved=[[m.kind, m.name, m.target] for m in done])
    if not failures:
        left = read_sofs_state(conn).owned_by(name)
        if left:
            failures.append(f"{name} still owns {', '.join(f'the {k} {n}' for k, n in left)} after the moves")
    if failures:
        rollback_pause(ctx, node)
        raise StepFailed("; ".join(failures) + f". {name} was resumed; what already moved stays where it is.")
    return f"{name} paused; " + (", ".join(str(m) for m in done) or "it owned no role or volume")


def sofs_dry_run(cluster: Cluster, order: list[str]) -> tuple[dict[str, list[StorageMove]], str]:
    """For the Remediate dialog and `remediate`: the roles and volumes each node to remediate hands
    over, read from the cluster now (the inventory does not keep their owners); or why it could not."""
    try:
        state = read_sofs_state(cluster_connection(cluster))
    except agents.AgentError as error:
        return {}, f"Could not read the roles and volumes of {cluster.name}: {error}"
    return plan_rolling_sofs(order, state), ""


def return_vms(ctx, node: NodeTarget, evacuated=None) -> str:
    """Nothing returns to a file-server node: its roles and volumes stay spread where they moved (the
    next node's evacuation balances them again)."""
    return f"the roles and volumes that left {node.name} stay where they are"
