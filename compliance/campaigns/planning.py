"""Waves from the clusters' dependencies, and `submit_campaign` (the dialogs, the command lines and
the API all start a campaign through it, to remediate or to upgrade)."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from compliance.campaigns.upgrade import UpgradeChoice, upgrade_problems
from compliance.remediation import (
    RemediationOptions,
    cluster_dry_run,
    standalone_problems,
)
from fabric.choices import ClusterKind
from fabric.models import Cluster, FileShare, Host, VirtualMachine
from jobs.engine import PlanStep, submit_job

CAMPAIGN_CLUSTER = "compliance.campaign_cluster"
REMEDIATE, UPGRADE = "remediate", "upgrade"  # what a campaign does to each cluster
CHILD_KIND = {REMEDIATE: "remediation", UPGRADE: "rolling_upgrade"}  # the kind of the jobs it starts


class CampaignError(ValueError):
    """The campaign cannot be made as asked; the message says why in an operator's words."""


@dataclass
class Wave:
    number: int
    members: list  # clusters and standalone hosts

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.members]


def _key(target) -> tuple[str, int]:
    return ("host" if isinstance(target, Host) else "cluster", target.pk)


def share_of(path: str) -> tuple[str, str] | None:
    r"""('sofs19', 'vmstore01') for \\SOFS19\VMStore01\app-01; None for a local path."""
    if not path.startswith("\\\\"):
        return None
    parts = [p for p in path[2:].split("\\") if p]
    if len(parts) < 2:
        return None
    server = parts[0].split(".")[0]  # \\sofs19.contoso.com\… names the same role
    return server.lower(), parts[1].lower()


def dependencies(targets) -> dict[tuple[str, int], set[tuple[str, int]]]:
    """Each target → the file servers among `targets` whose shares hold its VMs."""
    cluster_ids = [t.pk for t in targets if isinstance(t, Cluster)]
    host_ids = [t.pk for t in targets if isinstance(t, Host)]
    shares = {}
    for share in FileShare.objects.filter(cluster_id__in=cluster_ids, cluster__kind=ClusterKind.SOFS):
        shares[(share.scope_name.split(".")[0].lower(), share.name.lower())] = ("cluster", share.cluster_id)
    needs: dict[tuple[str, int], set] = {_key(t): set() for t in targets}
    vms = VirtualMachine.objects.exclude(storage_path="").filter(
        Q(cluster_id__in=cluster_ids) | Q(host_id__in=host_ids, cluster__isnull=True))
    for cluster_id, host_id, path in vms.values_list("cluster_id", "host_id", "storage_path"):
        owner = ("cluster", cluster_id) if cluster_id else ("host", host_id)
        found = share_of(path)
        server = shares.get(found) if found else None
        if server is not None and server != owner and owner in needs:
            needs[owner].add(server)
    return needs


def plan_waves(targets) -> list[Wave]:
    """Each cluster or host in the wave after the latest of the file servers it depends on."""
    needs = dependencies(targets)
    by_key = {_key(t): t for t in targets}
    wave_of: dict[tuple[str, int], int] = {}

    def place(key, path: tuple) -> int:
        if key in path:
            names = " → ".join(by_key[k].name for k in (*path, key))
            raise CampaignError(f"The clusters depend on each other in a circle: {names}.")
        if key not in wave_of:
            wave_of[key] = 1 + max((place(d, (*path, key)) for d in needs[key]), default=0)
        return wave_of[key]

    for key in by_key:
        place(key, ())
    waves = []
    for number in sorted(set(wave_of.values())):
        members = sorted((by_key[k] for k, w in wave_of.items() if w == number), key=lambda t: t.name.lower())
        waves.append(Wave(number, members))
    return waves


def _common_problems(targets, parallel: int) -> list[str]:
    problems = []
    if not targets:
        problems.append("A campaign needs at least one cluster or host.")
    if parallel < 1:
        problems.append("At most N clusters at once: N must be at least 1.")
    if len({_key(t) for t in targets}) != len(targets):
        problems.append("A cluster or host is named twice.")
    return problems


def campaign_problems(targets, options: RemediationOptions, parallel: int) -> list[str]:
    problems = _common_problems(targets, parallel)
    for target in targets:
        if isinstance(target, Host):
            if target.cluster_id:
                problems.append(f"{target.name} is a node of {target.cluster.name}: put the cluster in the campaign.")
            else:
                problems.extend(standalone_problems(target))
        else:
            problems.extend(f"{target.name}: {p}" for p in cluster_dry_run(target, options).problems)
    return problems


def upgrade_campaign_problems(targets, choice: UpgradeChoice, parallel: int) -> tuple[dict, list[str]]:
    """({cluster id: its upgrade request}, problems) of an upgrade campaign."""
    problems = _common_problems(targets, parallel)
    requests, found = upgrade_problems(targets, choice)
    return requests, problems + found


def submit_campaign(clusters, options: RemediationOptions | None = None, *, upgrade: UpgradeChoice | None = None,
                    parallel: int = 2, max_failed_clusters: int = 0, user=None, title: str = ""):
    """Start a campaign over `clusters`, at most `parallel` at once, in dependency waves: remediating
    them (and standalone hosts among them) with `options`, or, given `upgrade`, upgrading each
    cluster to the release of its profile's image by a rolling upgrade. Returns (job, waves). Raises
    CampaignError (nothing saved) when the request does not fit."""
    clusters = list(clusters)
    options = options or RemediationOptions()
    if max_failed_clusters < 0:
        raise CampaignError("The number of clusters allowed to fail cannot be negative.")
    requests = {}
    if upgrade is None:
        problems = campaign_problems(clusters, options, parallel)
    else:
        requests, problems = upgrade_campaign_problems(clusters, upgrade, parallel)
    if problems:
        raise CampaignError(" ".join(problems))
    waves = plan_waves(clusters)
    verb = "Upgrade" if upgrade else "Remediate"

    def step_params(target, wave) -> dict:
        params = {f"{_key(target)[0]}_id": target.pk, "wave": wave.number}
        if upgrade is not None:
            params["request"] = requests[target.pk].as_params()
        return params

    plan = [
        PlanStep(CAMPAIGN_CLUSTER, title=f"{verb} {'host' if isinstance(t, Host) else 'cluster'} {t.name}",
                 target=t.name, params=step_params(t, wave), group=t.name, retries=0,
                 parallel_group=f"wave-{wave.number}", max_parallel=parallel)
        for wave in waves for t in wave.members
    ]
    names = ", ".join(t.name for w in waves for t in w.members)
    action = {"action": UPGRADE, "upgrade": upgrade.as_params()} if upgrade else \
        {"action": REMEDIATE, "options": options.as_params()}
    job, _ = submit_job(
        kind="campaign", title=(title or f"Campaign: {verb.lower()} {names}"), target=names, plan=plan,
        requested_by=user, failure_policy={"max_failed_nodes": max_failed_clusters},
        params={**action, "parallel": parallel, "max_failed_clusters": max_failed_clusters,
                "waves": [w.names for w in waves]},
    )
    return job, waves
