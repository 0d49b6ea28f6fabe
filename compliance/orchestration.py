"""Starting the compliance jobs: catalog sync, scan, cluster remediation, standalone remediation.

Each builds the whole plan up front (the job page shows every step before the first runs) and
takes the lock that keeps one active job per target.
"""
from __future__ import annotations

import os

from django.db import connection

from compliance.baselines import baselines_by_host, target_hosts
from compliance.models import UpdateServer
from compliance.remediation import RemediationOptions, cluster_dry_run
from compliance.steps import remediate as steps
from compliance.steps import scripts as script_steps
from fabric.choices import ClusterKind
from fabric.models import Cluster, Host, HostGroup
from jobs.engine import PlanStep, submit_job
from nodescripts.models import UnknownScript, copy_for_job  # noqa: F401  (the views and the command take it from here)

SCAN_WIDTH = 256  # hosts at once by default: docs/benchmarks.md, "Scan width"


def scan_concurrency() -> int:
    """Hosts scanned at once: FERRY_SCAN_CONCURRENCY, else SCAN_WIDTH. A scan waits on its host holding
    no database connection, but each step takes one while it starts and ends, so on PostgreSQL the
    default stays within a third of the server's max_connections (the web tier and other workers
    need theirs), and never below the 32 it always was."""
    if os.environ.get("FERRY_SCAN_CONCURRENCY"):
        return max(1, int(os.environ["FERRY_SCAN_CONCURRENCY"]))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_connections")
            return max(32, min(SCAN_WIDTH, int(cursor.fetchone()[0]) // 3))
    return SCAN_WIDTH


def submit_sync(server: UpdateServer, user=None):
    plan = [PlanStep("compliance.sync_catalog", title=f"Synchronize the catalog of {server.name}",
                     target=server.name, params={"server_id": server.pk})]
    return submit_job(kind="update_sync", title=f"Synchronize updates from {server.name}", target=server,
                      lock_key=f"updateserver:{server.pk}", requested_by=user, plan=plan)


def scan_scope(target) -> tuple[list[Host], str, str]:
    """(hosts with a baseline, title, lock key) for a host, cluster, host group or None (everything)."""
    if target is None:
        hosts, title, lock = Host.objects.all(), "Scan every host", "scan:all"
    elif isinstance(target, Cluster):
        hosts, title, lock = target_hosts(target), f"Scan cluster {target.name}", f"scan:cluster:{target.pk}"
    elif isinstance(target, Host):
        hosts, title, lock = target_hosts(target), f"Scan {target.name}", f"scan:host:{target.pk}"
    elif isinstance(target, HostGroup):
        hosts, title, lock = target_hosts(target), f"Scan host group {target.path()}", f"scan:group:{target.pk}"
    else:
        raise TypeError(f"cannot scan {target!r}")
    hosts = list(hosts.order_by("name"))
    in_force = baselines_by_host(hosts)
    return [h for h in hosts if in_force[h.pk]], title, lock


class NothingToDo(ValueError):
    """The request is valid but has nothing to act on; the message says why."""


def submit_scan(target, user=None):
    hosts, title, lock = scan_scope(target)
    if not hosts:
        raise NothingToDo(f"{title}: no host there has a baseline assigned.")
    width = scan_concurrency()
    plan = [PlanStep("compliance.scan_host", title=f"Scan {h.name}", target=h.name, params={"host_id": h.pk},
                     parallel_group="scan", max_parallel=width) for h in hosts]
    return submit_job(kind="compliance_scan", title=title, target=target, lock_key=lock, requested_by=user,
                      plan=plan, params={"host_ids": [h.pk for h in hosts]})


def _policy(options: RemediationOptions) -> dict:
    return {"max_retries_per_node": options.max_retries_per_node, "max_failed_nodes": options.max_failed_nodes}


def node_scripts(options: RemediationOptions) -> dict[str, dict]:
    """The chosen pre- and post-script as the job keeps them (a copy: later edits do not change it);
    UnknownScript when one is not in the library."""
    chosen = {}
    for step, name in ((script_steps.PRE_SCRIPT, options.pre_script), (script_steps.POST_SCRIPT, options.post_script)):
        script = copy_for_job(name)
        if script is not None:
            chosen[step] = script
    return chosen


def _node_steps(host: Host, options: RemediationOptions, *, standalone: bool,
                scripts: dict[str, dict] | None = None) -> list[PlanStep]:
    name = host.name
    base = {"host_id": host.pk}
    retries = options.max_retries_per_node
    clustered = host.cluster_id is not None
    file_server = clustered and host.cluster.kind == ClusterKind.SOFS
    if file_server:
        evacuate, back = f"Pause {name} and move its file-server roles and volumes", ""
    elif standalone:
        evacuate = f"Save the running VMs of {name}" + (" and pause it" if clustered else "")
        back = f"Start the saved VMs of {name}"
    elif options.save_state:
        evacuate, back = f"Pause {name} and save its VMs", f"Start the saved VMs of {name}"
    else:
        evacuate, back = f"Pause {name} and live-migrate its VMs", f"Bring the VMs back to {name}"
    restart = (
        f"Restart {name} and wait until it is back" if not options.no_restart
        else f"Restart {name} (not: Do not restart)"
    )
    if standalone and not file_server:
        evacuate_step, back_step = (steps.SAVE_VMS_AND_PAUSE if clustered else steps.SAVE_VMS), steps.START_SAVED
    else:
        evacuate_step, back_step = steps.EVACUATE, steps.RETURN_VMS
    plan = [
        (steps.CHECK, f"Check {name}", 0),
        (evacuate_step, evacuate, retries),
        (steps.INSTALL, f"Install the missing updates on {name}", retries),
        (steps.RESTART, restart, retries),
    ]
    if clustered:
        plan.append((steps.RESUME, f"Resume {name}", retries))
    if not file_server:  # a file server's roles and volumes stay spread where they moved
        plan.append((back_step, back, retries))
    plan.append((steps.VERIFY, f"Check {name} against its baselines", 0))
    scripts = scripts or {}
    if script_steps.PRE_SCRIPT in scripts:  # before the node is paused
        plan.insert(1, (script_steps.PRE_SCRIPT, f"Run the pre-script {scripts[script_steps.PRE_SCRIPT]['name']} "
                                                 f"on {name}", 0))
    if script_steps.POST_SCRIPT in scripts:  # once it is resumed (a standalone host: once it is back)
        after = steps.RESUME if clustered else steps.RESTART
        at = next(i for i, row in enumerate(plan) if row[0] == after) + 1
        plan.insert(at, (script_steps.POST_SCRIPT, f"Run the post-script {scripts[script_steps.POST_SCRIPT]['name']} "
                                                   f"on {name}", 0))
    params = dict(base, standalone=standalone)
    return [PlanStep(step, title=title, target=name, group=name, retries=r,
                     params=dict(params, script=scripts[step]) if step in scripts else params)
            for step, title, r in plan]


def _pair(first: PlanStep, second: PlanStep, name: str) -> None:
    first.parallel_group = second.parallel_group = name
    first.max_parallel = second.max_parallel = 2


def _with_prefetch(precheck: PlanStep, nodes: list[list[PlanStep]]) -> list[PlanStep]:
    """The first step, then each node's plan with its prepare step (scan and download) ahead of its
    drain: the first node's beside the first step's scan of every node, every other node's beside
    the previous node's restart (parallel pairs), so a node's download costs no time of the rolling
    run."""
    plan: list[PlanStep] = [precheck]
    for index, node_plan in enumerate(nodes):
        first = node_plan[0]
        prepare = PlanStep(steps.PREPARE, title=f"Scan {first.target} and download its updates", target=first.target,
                           params=first.params, group=first.group, retries=0)
        if index == 0:
            _pair(precheck, prepare, f"scan-{first.target}")
            plan.append(prepare)
        else:
            restart = next(s for s in reversed(plan) if s.name == steps.RESTART)
            _pair(restart, prepare, f"restart-{restart.target}")
            plan.insert(plan.index(restart) + 1, prepare)
        plan += node_plan
    return plan


def submit_cluster_remediation(cluster: Cluster, options: RemediationOptions, user=None, *, campaign_step=None):
    """Remediate a cluster node by node. The order is the dry run's (fewest VMs first or explicit).
    `campaign_step`: the campaign's step (its pk) this job is a child of."""
    scripts = node_scripts(options)
    dry = cluster_dry_run(cluster, options)
    order = [n.name for n in dry.nodes]
    hosts = {h.name: h for h in cluster.nodes.all()}
    precheck = PlanStep(steps.PRECHECK, title=f"Scan the nodes of {cluster.name} and check the plan",
                        target=cluster.name, params={"cluster_id": cluster.pk})
    plan = _with_prefetch(precheck, [_node_steps(hosts[name], options, standalone=False, scripts=scripts)
                                     for name in order])
    plan.append(PlanStep(steps.FINISH, title="Refresh the inventory", target=cluster.name,
                         params={"cluster_id": cluster.pk}))
    return submit_job(
        kind="remediation", title=f"Remediate cluster {cluster.name}", target=cluster,
        lock_key=f"cluster:{cluster.pk}", requested_by=user, failure_policy=_policy(options), plan=plan,
        params={"cluster_id": cluster.pk, "options": options.as_params(), "order": order,
                **({"campaign_step": campaign_step} if campaign_step else {})},
    )


def submit_host_remediation(hosts: list[Host], options: RemediationOptions, user=None, *, campaign_step=None):
    """Remediate hosts one by one as standalone hosts (running VMs saved, started again)."""
    scripts = node_scripts(options)
    hosts = sorted(hosts, key=lambda h: h.name.lower())
    first = hosts[0]
    lock = f"cluster:{first.cluster_id}" if first.cluster_id else f"host:{first.pk}"
    title = f"Remediate {', '.join(h.name for h in hosts)}"
    precheck = PlanStep(steps.PRECHECK, title="Scan the hosts", target=title[10:],
                        params={"host_ids": [h.pk for h in hosts]})
    plan = _with_prefetch(precheck, [_node_steps(host, options, standalone=True, scripts=scripts) for host in hosts])
    plan.append(PlanStep(steps.FINISH, title="Summarize", target=title[10:],
                         params={"host_ids": [h.pk for h in hosts]}))
    return submit_job(
        kind="remediation", title=title, target=first if len(hosts) == 1 else (first.cluster or title[10:]),
        lock_key=lock, requested_by=user, failure_policy=_policy(options), plan=plan,
        params={"host_ids": [h.pk for h in hosts], "options": options.as_params(), "standalone": True,
                **({"campaign_step": campaign_step} if campaign_step else {})},
    )
