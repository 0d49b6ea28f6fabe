"""The rolling remediation: a cluster node by node (or chosen hosts one by one).

Plan per node (one swimlane each): prepare → check → evacuate → install → restart → resume → return
VMs → verify. The first step of the job scans every node and proves the plan fits; each node's check
decides, from the real state, whether the node needs anything (a compliant node is skipped
without being drained) and later steps of a skipped node skip too. A node's prepare step (the
Windows Update scan and the download) runs while its VMs still run: the first node's before its
check, every other node's together with the previous node's restart.
"""
from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from compliance.choices import ComplianceState, UpdateState
from compliance.evaluation import record_install, update_key
from compliance.models import HostCompliance, UpdateStatus
from compliance.remediation import RemediationOptions, rolling_dry_run
from compliance.scanning import ask, check_installed, interpret
from fabric import agents, maintenance
from fabric.agents.updates import get_installed_updates
from fabric.choices import VM_IN_MEMORY, ClusterKind
from fabric.models import Cluster, Host
from fabric.nodeops.hung import bmc_of, wait_or_power_cycle
from fabric.nodeops.live import cluster_connection, host_connection, log_quorum_reading, poll_seconds, read_live_cluster
from fabric.nodeops.nodes import NodeTarget, pause, resume, rollback_pause
from fabric.nodeops.planner import quorum_holds_text
from fabric.nodeops.records import Evacuated
from fabric.nodeops.storage import wait_for_storage
from fabric.nodeops.workloads import for_cluster, hyperv, sofs
from fabric.nodeops.workloads.hyperv import return_vms, save_vms, start_saved, vm_roles
from jobs.engine import StepFailed, StepResult, register_step
from jobs.models import JobStep

# One constant per step name. A standalone host (or a cluster node chosen on its own) has its own
# evacuate and return steps: the plan says which, so the steps need not test it again.
PRECHECK = "compliance.precheck"
PREPARE = "compliance.prepare_node"                # scan and download, before the node is drained
CHECK = "compliance.check_node"
EVACUATE = "compliance.evacuate_node"              # clustered: pause, live-migrate (or save) per the plan
SAVE_VMS = "compliance.save_vms"                   # standalone: save what runs
SAVE_VMS_AND_PAUSE = "compliance.save_vms_and_pause"  # a cluster node chosen on its own: save, then pause
INSTALL = "compliance.install_updates"
RESTART = "compliance.restart_node"
RESUME = "compliance.resume_node"
RETURN_VMS = "compliance.return_vms"               # clustered: live-migrate back, start what was saved
START_SAVED = "compliance.start_saved_vms"         # standalone: start what was saved
VERIFY = "compliance.verify_node"
FINISH = "compliance.finish_remediation"
EVACUATIONS = (EVACUATE, SAVE_VMS, SAVE_VMS_AND_PAUSE)
RETURNS = (RETURN_VMS, START_SAVED)
SCAN_PARALLEL = 8


# --- helpers shared by the node steps ----------------------------------------------------------

def _options(ctx) -> RemediationOptions:
    return RemediationOptions.from_params(ctx.params.get("options", {}))


def _job_step_data(ctx, name: str, *, same_node: bool) -> dict:
    steps = JobStep.objects.filter(job_id=ctx.job.pk, name=name)
    if same_node:
        steps = steps.filter(parent_id=ctx.step.parent_id)
    return steps.values_list("data", flat=True).first() or {}


def _node(ctx) -> NodeTarget:
    host = Host.objects.select_related("cluster").get(pk=ctx.params["host_id"])
    cluster = host.cluster  # a clustered host chosen on its own is still paused and resumed
    paused = _job_step_data(ctx, PRECHECK, same_node=False).get("paused_before", [])
    return NodeTarget(host, cluster, was_paused=host.name.lower() in {p.lower() for p in paused})


def only_if_needed(step):
    """A node step that runs only when the check step found work on the node."""

    @functools.wraps(step)
    def run(ctx) -> StepResult:
        check = _job_step_data(ctx, CHECK, same_node=True)
        if not check.get("needed"):
            return StepResult(check.get("reason", "nothing to do on this node"), skipped=True)
        return step(ctx)

    return run


def _is_last_attempt(ctx) -> bool:
    step = ctx.step
    if step.attempts > step.retries:
        return True
    limit = (ctx.job.failure_policy or {}).get("max_retries_per_node")
    if limit is not None and step.parent_id:
        used = JobStep.objects.filter(pk=step.parent_id).values_list("attempts", flat=True).first() or 0
        return used >= limit
    return False


def _agent_failure(what: str, error: agents.AgentError) -> StepFailed:
    return StepFailed(f"{what}: {error}")


def _missing_updates(host: Host) -> list[dict]:
    """The baseline updates the last scan found missing (exemptions are already left out)."""
    rows = (UpdateStatus.objects.filter(host=host, state__in=(UpdateState.MISSING, UpdateState.FAILED))
            .select_related("update").order_by("update__release_date", "update__kb"))
    seen, result = set(), []
    for row in rows:
        if row.update_id not in seen:
            seen.add(row.update_id)
            result.append({"id": row.update.update_id, "kb": row.update.kb})
    return result


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


def _evacuated(ctx) -> Evacuated:
    """What this node's evacuation step (whichever the plan chose) recorded."""
    steps = JobStep.objects.filter(job_id=ctx.job.pk, name__in=EVACUATIONS, parent_id=ctx.step.parent_id)
    return Evacuated.from_data(steps.values_list("data", flat=True).first())


@register_step(EVACUATE, title="Evacuate the node")
@only_if_needed
def evacuate_node(ctx) -> StepResult:
    options = _options(ctx)
    node = _node(ctx)
    try:
        workloads = for_cluster(node.cluster)  # VMs, or a file server's roles and volumes
        if workloads is not hyperv:
            wait_for_storage(ctx, node.cluster, before=node.name)  # the previous node's S2D resync, any kind
            return StepResult(workloads.evacuate_cluster_node(ctx, node, options.save_state))
        # the storage health and the cluster's state in one wave of reads; read again after a wait
        live = read_live_cluster(node.cluster, avoid=node.name, storage=True)
        if wait_for_storage(ctx, node.cluster, before=node.name, first=live.storage):
            live = None
        return StepResult(hyperv.evacuate_cluster_node(ctx, node, options.save_state, live=live))
    except agents.AgentError as error:
        rollback_pause(ctx, node)
        raise _agent_failure(f"Evacuating {node.name} failed", error) from error


def _save_running(ctx, node: NodeTarget) -> dict[str, str]:
    here = [vm for vm in agents.hyperv.get_vms(host_connection(node.host)) if vm.state in VM_IN_MEMORY]
    done = Evacuated.from_data(ctx.step.data)
    done.paused = sorted({*done.paused, *(vm.id for vm in here if vm.state == "Paused")})
    ctx.save_checkpoint(paused=done.paused)
    done.saved.update(save_vms(ctx, node.host, {vm.id: vm.name for vm in here}))
    ctx.save_checkpoint(saved=done.saved)
    return done.saved


@register_step(SAVE_VMS, title="Save the running VMs")
@only_if_needed
def save_vms_step(ctx) -> StepResult:
    node = _node(ctx)
    try:
        saved = _save_running(ctx, node)
    except agents.AgentError as error:
        raise _agent_failure(f"Evacuating {node.name} failed", error) from error
    return StepResult(f"saved {', '.join(saved.values())}" if saved else "no running VMs")


@register_step(SAVE_VMS_AND_PAUSE, title="Save the running VMs and pause the node")
@only_if_needed
def save_vms_and_pause(ctx) -> StepResult:
    node = _node(ctx)
    try:
        saved = _save_running(ctx, node)
        pause(ctx, node, read_live_cluster(node.cluster, avoid=node.name))
    except agents.AgentError as error:
        rollback_pause(ctx, node)
        raise _agent_failure(f"Evacuating {node.name} failed", error) from error
    return StepResult(f"saved {', '.join(saved.values())}" if saved else "no running VMs")


def _recover(ctx, node: NodeTarget) -> str:
    """After the last failed attempt on a drained node: resume it and bring its VMs back, so the
    cluster is as it was (the node stays non-compliant)."""
    evacuated = _evacuated(ctx)
    saved, paused = evacuated.saved, evacuated.paused
    try:
        if node.cluster is not None:
            if not node.was_paused:
                resume(ctx, node)
            if node.cluster.kind == ClusterKind.SOFS:
                return f" {node.name} was resumed; it is still not compliant."
            if ctx.params.get("standalone") or node.was_paused:
                start_saved(ctx, node, saved, vm_roles(node.cluster, saved), paused)
            else:
                return_vms(ctx, node, evacuated)
        else:
            start_saved(ctx, node, saved, None, paused)
        ctx.save_checkpoint(recovered=True)
        if node.was_paused:
            return f" {node.name} stays paused as it was found; it is still not compliant."
        return f" {node.name} was resumed and its VMs brought back; it is still not compliant."
    except (agents.AgentError, StepFailed) as error:
        return f" Bringing {node.name} back into service failed too: {error}"


def _record_failed_install(host: Host, wanted: list[dict], reason: str) -> None:
    """Windows Update gives one result code for the whole install: look at what the host has now."""
    try:
        now = get_installed_updates(host_connection(host))
        installed_kbs, pending = now.kbs, now.pending_reboot
    except agents.AgentError:
        installed_kbs, pending = set(), False
    done, failed = set(), {}
    for u in wanted:
        keys = update_key(u["id"], u["kb"])
        if u["kb"] and u["kb"] in installed_kbs:
            done |= keys
        else:
            failed.update({k: reason for k in keys})
    record_install(host, done, failed, reboot_required=pending and bool(done))


@register_step(INSTALL, title="Install updates")
@only_if_needed
def install_updates(ctx) -> StepResult:
    node = _node(ctx)
    wanted = _job_step_data(ctx, CHECK, same_node=True).get("updates", [])
    if not wanted:
        return StepResult("nothing to install (only a restart is pending)", skipped=True)
    refs = [u["id"] for u in wanted]
    kbs = ", ".join("KB" + u["kb"] for u in wanted if u["kb"])
    ctx.ensure_lease()
    ctx.progress(5, f"Installing {len(refs)} updates: {kbs}")
    conn = host_connection(node.host)
    try:
        result = agents.updates.install_updates(conn, refs)
    except agents.AgentError as error:
        _record_failed_install(node.host, wanted, str(error))
        message = f"Installing updates on {node.name} failed: {error}"
        if _is_last_attempt(ctx):
            message += _recover(ctx, node)
        raise StepFailed(message) from error
    installed = {k for ref in result.installed for k in update_key(ref)}
    record_install(node.host, installed, {}, reboot_required=result.reboot_required)
    kb_of = {u["id"]: u["kb"] for u in wanted}
    ctx.save_checkpoint(reboot_required=result.reboot_required,
                        installed=[{"id": ref, "kb": kb_of.get(ref, "")} for ref in result.installed])
    restart = "; a restart is required" if result.reboot_required else ""
    return StepResult(f"installed {len(result.installed)} of {len(refs)} ({kbs}){restart}")


@register_step(RESTART, title="Restart the node")
@only_if_needed
def restart_node(ctx) -> StepResult:
    options = _options(ctx)
    node = _node(ctx)
    conn = host_connection(node.host)
    if options.no_restart:
        return StepResult(f"not restarted (Do not restart was chosen): {node.name} stays Pending Reboot", skipped=True)
    data = ctx.step.data
    if not data.get("restart_issued"):
        try:
            pending, os_info = agents.hostinfo.pending_reboot_and_boot(conn)
            if not pending:
                return StepResult(f"{node.name} needs no restart", skipped=True)
            before = os_info.last_boot
        except agents.AgentError as error:
            raise _agent_failure(f"Could not prepare the restart of {node.name}", error) from error
        ctx.save_checkpoint(restart_issued=True, boot_before=before.isoformat() if before else "")
        ctx.ensure_lease()
        try:
            agents.hostinfo.restart_computer(conn)
        except agents.AgentError as error:
            ctx.save_checkpoint(restart_issued=False)
            raise _agent_failure(f"Restart-Computer on {node.name} failed", error) from error
        ctx.log(f"Restart-Computer sent to {node.name}.")
    stored = ctx.step.data.get("boot_before") or ""
    boot_before = datetime.fromisoformat(stored) if stored else None
    timeout = float(options.reboot_timeout_minutes) * 60

    def back():
        try:
            booted = agents.hostinfo.get_os(conn).last_boot
        except agents.AgentError:
            return False
        if booted is None or (boot_before is not None and booted <= boot_before):
            return False
        if node.cluster is None:
            return True
        try:
            state = agents.cluster.get_cluster_node(cluster_connection(node.cluster, avoid=node.name), node.name).state
        except agents.AgentError:
            return False
        return state in ("Up", "Paused") and state

    where = f"{node.name} to restart and rejoin {node.cluster.name}" if node.cluster else f"{node.name} to restart"
    bmc = bmc_of(node.host) if options.power_cycle_hung else None
    state = wait_or_power_cycle(ctx, back, timeout, poll_seconds(), waiting_for=where, name=node.name, bmc=bmc)
    return StepResult(f"{node.name} is back" + (f" ({state} in the cluster)" if isinstance(state, str) else ""))


@register_step(RESUME, title="Resume the node")
@only_if_needed
def resume_node(ctx) -> StepResult:
    node = _node(ctx)
    if node.cluster is None:
        return StepResult("not a cluster node", skipped=True)
    if node.was_paused:
        return StepResult(f"{node.name} was in maintenance before remediation; left paused", skipped=True)
    try:
        state = resume(ctx, node)
    except agents.AgentError as error:
        raise _agent_failure(f"Resuming {node.name} failed", error) from error
    return StepResult(f"{node.name} is {state}")


@register_step(RETURN_VMS, title="Bring the VMs back")
@only_if_needed
def return_vms_step(ctx) -> StepResult:
    node = _node(ctx)
    evacuated = _evacuated(ctx)
    if evacuated.empty:
        return StepResult("no VM left this node", skipped=True)
    try:
        if node.was_paused:
            started = start_saved(ctx, node, evacuated.saved, vm_roles(node.cluster, evacuated.saved),
                                  evacuated.paused)
            return StepResult(f"started {', '.join(started)}" if started else "left in maintenance")
        return StepResult(return_vms(ctx, node, evacuated))
    except agents.AgentError as error:
        raise _agent_failure(f"Bringing the VMs back to {node.name} failed", error) from error


@register_step(START_SAVED, title="Start the saved VMs")
@only_if_needed
def start_saved_step(ctx) -> StepResult:
    node = _node(ctx)
    evacuated = _evacuated(ctx)
    if evacuated.empty:
        return StepResult("no VM left this node", skipped=True)
    try:
        roles = vm_roles(node.cluster, evacuated.saved) if node.cluster is not None else None
        started = start_saved(ctx, node, evacuated.saved, roles, evacuated.paused)
        return StepResult(f"started {', '.join(started)}" if started else "the saved VMs were already running")
    except agents.AgentError as error:
        raise _agent_failure(f"Bringing the VMs back to {node.name} failed", error) from error


@register_step(VERIFY, title="Check against the baselines")
@only_if_needed
def verify_node(ctx) -> StepResult:
    options = _options(ctx)
    node = _node(ctx)
    try:
        scan = check_installed(node.host)
    except agents.AgentError as error:
        raise _agent_failure(f"Could not check {node.name} after remediation", error) from error
    label = ComplianceState(scan.state).label
    if scan.state == ComplianceState.COMPLIANT or (scan.state == ComplianceState.PENDING_REBOOT and options.no_restart):
        Host.objects.filter(pk=node.host.pk).update(failure_state="", failure_job=None)
        return StepResult(f"{node.name} is {label}")
    missing = HostCompliance.objects.filter(host=node.host).values_list("missing_count", flat=True).first()
    raise StepFailed(f"{node.name} is {label} after remediation ({missing or 0} baseline updates missing).",
                     retry=False)


@register_step(FINISH, title="Refresh the inventory")
def finish(ctx) -> StepResult:
    cluster = Cluster.objects.filter(pk=ctx.params.get("cluster_id")).first()
    hosts = list(cluster.nodes.all()) if cluster else list(Host.objects.filter(pk__in=ctx.params.get("host_ids", [])))
    from fabric.inventory.refresh import refresh_cluster, refresh_host

    ctx.ensure_lease()
    problems = refresh_cluster(cluster) if cluster else [p for h in hosts for p in refresh_host(h)]
    for problem in problems:
        ctx.log(f"Inventory refresh: {problem}", "warning")
    states = dict(HostCompliance.objects.filter(host__in=hosts).values_list("host__name", "state"))
    summary = ", ".join(f"{h.name}: {ComplianceState(states.get(h.name, 'unknown')).label}" for h in hosts)
    return StepResult(summary)
