"""The first step (scan every node, prove the plan) and each node's prepare and check."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from compliance.choices import ComplianceState
from compliance.remediation import rolling_dry_run
from compliance.scanning import ask, check_installed, interpret
from compliance.steps.remediate.common import (
    _agent_failure,
    _missing_updates,
    _node,
    _options,
)
from compliance.steps.remediate.names import (
    CHECK,
    PRECHECK,
    PREPARE,
    SCAN_PARALLEL,
)
from fabric import agents, maintenance
from fabric.choices import ClusterKind
from fabric.models import Cluster, Host
from fabric.nodeops.live import cluster_connection, host_connection, log_quorum_reading, read_live_cluster
from fabric.nodeops.planner import quorum_holds_text
from fabric.nodeops.workloads import sofs
from jobs.engine import StepFailed, StepResult, register_step

# --- the first step ----------------------------------------------------------------------------

def _scan_all(ctx, hosts: list[Host]) -> dict[str, str]:
    """Full Windows Update scan of every node at once; returns node → state (or the error)."""
    from compliance.evaluation import record_scan, record_scan_error

    ctx.ensure_lease()
    results = {}
    with ThreadPoolExecutor(max_workers=max(1, min(SCAN_PARALLEL, len(hosts)))) as pool:
        futures = {h.name: pool.submit(ask, h) for h in hosts}
        for host in hosts:
            try:
                answer = futures[host.name].result()
            except agents.AgentError as error:
                record_scan_error(host, str(error))
                results[host.name] = ComplianceState.ERROR
                ctx.log(f"{host.name} could not be scanned: {error}", "warning")
                continue
            results[host.name] = record_scan(host, interpret(host, answer))
    return results


def _read_cluster_state(cluster: Cluster):
    """(the file server's state or None, the cluster's live state), read in a thread of its own."""
    from django.db import connection

    try:
        if cluster.kind == ClusterKind.SOFS:
            file_server = sofs.read_sofs_state(cluster_connection(cluster))
            return file_server, file_server.as_live()
        return None, read_live_cluster(cluster)
    finally:
        connection.close()


@register_step(PRECHECK, retries=1, retry_delay=2, title="Scan the nodes and check the plan")
def precheck(ctx) -> StepResult:
    """Before anything moves: every node scanned, every node Up (unless allowed), quorum with one
    node out, and for every node that needs work, where each VM goes without over-committing."""
    options = _options(ctx)
    order = ctx.params.get("order", [])
    if ctx.params.get("cluster_id"):
        cluster = Cluster.objects.get(pk=ctx.params["cluster_id"])
        hosts = list(cluster.nodes.select_related("run_as", "cluster__run_as"))
    else:
        cluster = None
        hosts = list(Host.objects.filter(pk__in=ctx.params["host_ids"]).select_related("run_as", "cluster__run_as"))
    if cluster is None:
        states = _scan_all(ctx, hosts)
        paused = [h.name for h in hosts if h.cluster_id and h.node_state == "Paused"]
        ctx.save_checkpoint(paused_before=paused)
        summary = ", ".join(f"{n}: {ComplianceState(s).label}" for n, s in states.items())
        return StepResult(summary)
    file_server = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ferry-read") as pool:
        reading = pool.submit(_read_cluster_state, cluster)  # while the nodes scan
        states = _scan_all(ctx, hosts)
        try:
            file_server, live = reading.result()
        except agents.AgentError as error:
            raise _agent_failure(f"Could not read the state of {cluster.name}", error) from error
    plan_hosts, plan_vms = live.plan_inputs()
    by_lower = {n.lower(): n for n in live.nodes}
    live_order = [by_lower[n.lower()] for n in order if n.lower() in by_lower]
    live_states = {by_lower[n.lower()]: s for n, s in states.items() if n.lower() in by_lower}
    options.node_order = live_order if sorted(live_order) == sorted(live.nodes) else []
    dry = rolling_dry_run(cluster.name, plan_hosts, plan_vms, live_states, options, witness=live.witness)
    log_quorum_reading(ctx, live)
    paused = [n for n, s in live.nodes.items() if s == "Paused"]
    ctx.save_checkpoint(paused_before=paused)
    problems = [p for p in dry.problems if dry.to_remediate]
    if problems:
        raise StepFailed("Refused before anything moved: " + " ".join(problems), retry=False)
    if dry.to_remediate:
        ctx.log(quorum_holds_text(plan_hosts, dry.to_remediate[0], witness=live.witness) + ".")
    storage_moves = sofs.plan_rolling_sofs(dry.to_remediate, file_server) if file_server is not None else {}
    for node in dry.nodes:
        if node.skipped:
            ctx.log(f"{node.name}: {ComplianceState(node.state).label}; it will be skipped.")
        elif file_server is not None:
            ctx.log(f"{node.name}: {', '.join(map(str, storage_moves[node.name])) or 'owns no role or volume'}")
        elif node.evacuation is not None:
            moves = ", ".join(f"{m.vm}→{m.target}" for m in node.evacuation.migration_order()) or "no VM to move"
            saved = f"; save {', '.join(node.evacuation.saved)}" if node.evacuation.saved else ""
            ctx.log(f"{node.name}: {moves}{saved}")
    return StepResult(f"{len(dry.to_remediate)} of {len(dry.nodes)} nodes need remediation; the plan fits")


# --- per node ------------------------------------------------------------------------------------

@register_step(PREPARE, title="Scan and download the updates")
def prepare_node(ctx) -> StepResult:
    """Windows Update's scan and download of what the last scan found missing, while the node still
    runs its VMs: the install after the drain then finds them in the node's cache. It changes nothing
    the cluster sees, so it may run while another node restarts. A failed download is not the node's
    failure: the install downloads what is not there yet."""
    node = _node(ctx)
    wanted = _missing_updates(node.host)
    if not wanted:
        return StepResult(f"nothing to download on {node.name}", skipped=True)
    kbs = ", ".join("KB" + u["kb"] for u in wanted if u["kb"])
    ctx.ensure_lease()
    try:
        done = agents.updates.download_updates(host_connection(node.host), [u["id"] for u in wanted])
    except agents.AgentError as error:
        ctx.log(f"Downloading {kbs} on {node.name} ahead of its drain failed: {error}. "
                f"The install will download them.", "warning")
        ctx.save_checkpoint(downloaded=[])
        return StepResult(f"download failed; the install will download {kbs}")
    ctx.save_checkpoint(downloaded=done)
    return StepResult(f"downloaded {len(done)} of {len(wanted)} ({kbs}) while {node.name} still runs its VMs"
                      if done else f"nothing left to download on {node.name}")


@register_step(CHECK, title="Check the node")
def check_node(ctx) -> StepResult:
    options = _options(ctx)
    node = _node(ctx)
    ctx.ensure_lease()
    try:
        scan = check_installed(node.host)
    except agents.AgentError as error:
        raise _agent_failure(f"Could not check {node.name}", error) from error
    updates = _missing_updates(node.host)
    restart = scan.result.reboot_pending and not options.no_restart
    needed = bool(updates) or restart
    label = ComplianceState(scan.state).label
    if not needed:
        reason = f"{node.name} is {label}: nothing to install; not drained"
        if scan.result.reboot_pending:
            reason = f"{node.name} only waits for a restart, and Do not restart was chosen; not drained"
        ctx.save_checkpoint(needed=False, reason=reason)
        return StepResult(reason, skipped=True)
    ctx.save_checkpoint(needed=True, updates=updates, reason="")
    maintenance.wait_for_window(ctx, node.host)
    what = (
        f"{len(updates)} updates to install ({', '.join('KB' + u['kb'] for u in updates if u['kb'])})" if updates
        else "a restart is pending"
    )
    return StepResult(f"{node.name} is {label}: {what}")
