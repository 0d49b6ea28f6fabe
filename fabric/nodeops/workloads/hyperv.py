"""A Hyper-V node's workloads (VMs): where they go while the node is out and how they come back.

Every function looks at the real state first, so running it again (a retry, a resumed job) does
only what is still needed.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fabric import agents
from fabric.choices import VM_IN_MEMORY
from fabric.models import Cluster, Host
from fabric.nodeops.live import (
    LiveCluster,
    cluster_connection,
    host_connection,
    live_quorum_problem,
    read_live_cluster,
)
from fabric.nodeops.nodes import NodeTarget, pause, rollback_pause
from fabric.nodeops.planner import Move, PlanRefused, plan_evacuation
from fabric.nodeops.records import Evacuated
from fabric.nodeops.scheduler import run_moves
from jobs.engine import StepFailed

# One request per host more than it runs at once: the host queues it and starts it as soon as a
# slot frees (see fabric.nodeops.scheduler).
MIGRATIONS_QUEUED = 2


def gib(value: int) -> str:
    return f"{value / 2**30:.1f} GiB"


def limits_of(live: LiveCluster) -> dict[str, int]:
    return {name: (live.hosts[name].live_migration_limit if name in live.hosts else 1) for name in live.nodes}


def migrate(cluster_conn: agents.Connection, move: Move) -> None:
    group = agents.cluster.move_vm_role(cluster_conn, move.vm_id, move.target, name=move.vm, migration_type="Live")
    if group.owner_node.lower() != move.target.lower():
        raise agents.AgentError(f"the cluster reports {move.vm} on {group.owner_node or 'no node'} after the move")


def run_migrations(ctx, moves: list[Move], limits: dict[str, int], conn: agents.Connection, record) -> list[str]:
    """Run moves at once within every host's limit; returns one message per failed VM."""
    failures = []

    def finished(outcome):
        if outcome.ok:
            record(outcome.move)
            ctx.log(f"{outcome.move.vm} ({gib(outcome.move.memory_bytes)}) is on {outcome.move.target}.")
        else:
            reason = str(outcome.error)
            failures.append(f"VM {outcome.move.vm} could not be live-migrated from {outcome.move.source} "
                            f"to {outcome.move.target}: {reason}")
            ctx.log(failures[-1], "error")

    run_moves(moves, limits, lambda move: migrate(conn, move),
              before_start=lambda move: ctx.ensure_lease(), on_finish=finished, queued=MIGRATIONS_QUEUED)
    return failures


def save_vms(ctx, host: Host, vms: dict[str, str]) -> dict[str, str]:
    """Save the VMs given as id → name on `host`; returns the saved ones (id → name)."""
    conn = host_connection(host)
    saved = {}
    for vm_id, name in vms.items():
        ctx.ensure_lease()
        vm = agents.hyperv.save_vm(conn, vm_id, name=name)
        if vm.state not in ("Saved", "Off"):
            raise StepFailed(
                f"VM {name} on {host.name} is {vm.state} after Save-VM; it must be saved before the host restarts."
            )
        saved[vm_id] = name
        ctx.log(f"Saved {name} on {host.name}.")
    return saved


def plan_node(node: NodeTarget, live: LiveCluster, save_state: bool):
    name = node.live_name(live)
    hosts, vms = live.plan_inputs()
    problem = live_quorum_problem(live, name)
    if problem:
        raise StepFailed(problem, retry=False)
    try:
        return plan_evacuation(name, hosts, vms, save_state=save_state)
    except PlanRefused as refused:
        raise StepFailed("The evacuation does not fit: " + "; ".join(refused.problems), retry=False) from None


def evacuate_cluster_node(ctx, node: NodeTarget, save_state: bool, live: LiveCluster | None = None) -> str:
    """Pause the node, then live-migrate its running VMs where the plan says (or save them).
    `live`: the cluster's state if the caller has just read it."""
    live = live or read_live_cluster(node.cluster, avoid=node.name)
    name = node.live_name(live)
    if live.nodes[name] == "Down":
        raise StepFailed(f"{name} is Down in the cluster: nothing can be moved off it.", retry=False)
    plan = plan_node(node, live, save_state)
    done = Evacuated.from_data(ctx.step.data)  # what an earlier attempt already did
    pause(ctx, node, live)
    conn = node.cluster_conn(live)

    def record(move: Move):
        done.record_move(move.vm_id, move.vm, move.target, move.memory_bytes)
        ctx.save_checkpoint(moved=done.to_data()["moved"])

    failures = run_migrations(ctx, plan.migration_order(), limits_of(live), conn, record)
    if failures:
        rollback_pause(ctx, node)
        raise StepFailed("; ".join(failures) + f". {name} was resumed; the VMs already moved stay where they are.")
    if plan.to_save:
        done.paused = sorted({*done.paused, *(vm.id for vm in plan.to_save if vm.paused)})
        ctx.save_checkpoint(paused=done.paused)
        done.saved.update(save_vms(ctx, node.host, {vm.id: vm.name for vm in plan.to_save}))
        ctx.save_checkpoint(saved=done.saved)
    left = [vm for vm in agents.hyperv.get_vms(host_connection(node.host)) if vm.state in VM_IN_MEMORY]
    if left:
        rollback_pause(ctx, node)
        raise StepFailed(f"{', '.join(vm.name for vm in left)} still run on {name} after the evacuation; "
                         f"{name} was resumed.")
    parts = []
    if plan.moves:
        targets = sorted({m.target for m in plan.moves})
        parts.append(f"{len(plan.moves)} VMs live-migrated to {', '.join(targets)}")
    if plan.saved:
        parts.append(f"{len(plan.saved)} saved ({', '.join(plan.saved)})")
    return f"{name} paused; " + ("; ".join(parts) or "no running VMs")


def vm_roles(cluster: Cluster, vm_ids, conn: agents.Connection | None = None) -> dict:
    """The cluster roles of these VMs (owner node and state) by lower-case VM id, in one round trip."""
    conn = conn or cluster_connection(cluster)
    return agents.cluster.get_vm_roles(conn, list(vm_ids))


def return_vms(ctx, node: NodeTarget, evacuated: Evacuated) -> str:
    """Live-migrate back the VMs that left the node; start the ones that were saved (and pause again
    those that were paused)."""
    saved, paused = evacuated.saved, evacuated.paused
    conn = cluster_connection(node.cluster)
    # the node's state, where the VMs are and what runs on the node: three reads at once
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ferry-read") as pool:
        roles_read = pool.submit(agents.cluster.get_vm_roles, conn, [*evacuated.moved, *saved])
        here_read = pool.submit(agents.hyperv.get_vms, host_connection(node.host))
        state = agents.cluster.get_cluster_node(conn, node.name).state
        roles, here_vms = roles_read.result(), here_read.result()
    if state != "Up":
        raise StepFailed(f"{node.name} is {state}: VMs return only to a node that is Up.")
    moves = []
    for vm_id, vm in evacuated.moved.items():
        role = roles.get(vm_id.lower())
        if role is None:
            ctx.log(f"{vm.name} is no longer in the cluster; not brought back.", "warning")
        elif role.owner_node.lower() != node.name.lower() and role.state == "Online":
            moves.append(Move(vm.name, role.owner_node, node.name, vm.memory_bytes, vm_id))
    capacity = node.host.memory_bytes or 0
    here = sum(vm.memory_assigned or vm.memory_startup for vm in here_vms if vm.state in VM_IN_MEMORY)
    load = here + sum(m.memory_bytes for m in moves)
    if capacity and load > capacity:
        raise StepFailed(f"Bringing the VMs back would put {gib(load)} on {node.name}, which has {gib(capacity)}.",
                         retry=False)
    limits = dict(node.cluster.nodes.values_list("name", "live_migration_limit"))
    failures = run_migrations(ctx, sorted(moves, key=lambda m: (-m.memory_bytes, m.vm)), limits, conn,
                              lambda move: None)
    started = start_saved(ctx, node, saved, roles, paused)
    if failures:
        raise StepFailed("; ".join(failures))
    return f"{len(moves)} VMs back on {node.name}" + (f"; started {', '.join(started)}" if started else "")


def start_saved(ctx, node: NodeTarget, saved: dict[str, str], roles: dict | None, paused=()) -> list[str]:
    """Start the saved VMs (id → name): a clustered one where its role is now, a standalone one on the
    node. Those in `paused` (ids) were paused before they were saved: they are paused again."""
    started = []
    for vm_id, vm_name in saved.items():
        owner = node.host
        role = (roles or {}).get(vm_id.lower())
        if role is not None:
            if role.state == "Online":
                continue
            owner = node.cluster.nodes.filter(name__iexact=role.owner_node).first() or node.host
        ctx.ensure_lease()
        conn = host_connection(owner)
        result = agents.hyperv.start_vm(conn, vm_id, name=vm_name)
        if result.state != "Running":
            raise StepFailed(f"VM {vm_name} is {result.state} after Start-VM on {owner.name}.")
        started.append(vm_name)
        ctx.log(f"Started {vm_name} on {owner.name}.")
        if vm_id in paused:
            state = agents.hyperv.suspend_vm(conn, vm_id, name=vm_name).state
            ctx.log(f"Paused {vm_name} again, as it was before the remediation." if state == "Paused" else
                    f"{vm_name} was paused before the remediation but is {state} now.",
                    "info" if state == "Paused" else "warning")
    return started
