"""Waves from the clusters' dependencies, and `submit_campaign` (the dialog, the command line and
the API all start a campaign through it)."""
from __future__ import annotations

from dataclasses import dataclass

from compliance.remediation import RemediationOptions, cluster_dry_run
from fabric.choices import ClusterKind
from fabric.models import Cluster, FileShare, VirtualMachine
from jobs.engine import PlanStep, submit_job

CAMPAIGN_CLUSTER = "compliance.campaign_cluster"


class CampaignError(ValueError):
    """The campaign cannot be made as asked; the message says why in an operator's words."""


@dataclass
class Wave:
    number: int
    clusters: list[Cluster]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.clusters]


def share_of(path: str) -> tuple[str, str] | None:
    r"""('sofs19', 'vmstore01') for \\SOFS19\VMStore01\app-01; None for a local path."""
    if not path.startswith("\\\\"):
        return None
    parts = [p for p in path[2:].split("\\") if p]
    if len(parts) < 2:
        return None
    server = parts[0].split(".")[0]  # \\sofs19.contoso.com\… names the same role
    return server.lower(), parts[1].lower()


def dependencies(clusters: list[Cluster]) -> dict[int, set[int]]:
    """Cluster pk → pks of the file servers among `clusters` whose shares hold its VMs."""
    ids = [c.pk for c in clusters]
    shares = {}
    for share in FileShare.objects.filter(cluster_id__in=ids, cluster__kind=ClusterKind.SOFS):
        shares[(share.scope_name.split(".")[0].lower(), share.name.lower())] = share.cluster_id
    needs: dict[int, set[int]] = {pk: set() for pk in ids}
    paths = VirtualMachine.objects.filter(cluster_id__in=ids).exclude(storage_path="")
    for cluster_id, path in paths.values_list("cluster_id", "storage_path"):
        found = share_of(path)
        server = shares.get(found) if found else None
        if server is not None and server != cluster_id:
            needs[cluster_id].add(server)
    return needs


def plan_waves(clusters: list[Cluster]) -> list[Wave]:
    """Each cluster in the wave after the latest of the file servers it depends on."""
    needs = dependencies(clusters)
    by_pk = {c.pk: c for c in clusters}
    wave_of: dict[int, int] = {}

    def place(pk: int, path: tuple[int, ...]) -> int:
        if pk in path:
            names = " → ".join(by_pk[p].name for p in (*path, pk))
            raise CampaignError(f"The clusters depend on each other in a circle: {names}.")
        if pk not in wave_of:
            wave_of[pk] = 1 + max((place(d, (*path, pk)) for d in needs[pk]), default=0)
        return wave_of[pk]

    for pk in by_pk:
        place(pk, ())
    waves = []
    for number in sorted(set(wave_of.values())):
        members = sorted((by_pk[pk] for pk, w in wave_of.items() if w == number), key=lambda c: c.name.lower())
        waves.append(Wave(number, members))
    return waves


def campaign_problems(clusters: list[Cluster], options: RemediationOptions, parallel: int) -> list[str]:
    problems = []
    if not clusters:
        problems.append("A campaign needs at least one cluster.")
    if parallel < 1:
        problems.append("At most N clusters at once: N must be at least 1.")
    if len({c.pk for c in clusters}) != len(clusters):
        problems.append("A cluster is named twice.")
    for cluster in clusters:
        problems.extend(f"{cluster.name}: {p}" for p in cluster_dry_run(cluster, options).problems)
    return problems


def submit_campaign(clusters, options: RemediationOptions | None = None, *, parallel: int = 2,
                    max_failed_clusters: int = 0, user=None, title: str = ""):
    """Start a campaign remediating `clusters`, at most `parallel` at once, in dependency waves.
    Returns (job, waves). Raises CampaignError (nothing saved) when the request does not fit."""
    clusters = list(clusters)
    options = options or RemediationOptions()
    if max_failed_clusters < 0:
        raise CampaignError("The number of clusters allowed to fail cannot be negative.")
    problems = campaign_problems(clusters, options, parallel)
    if problems:
        raise CampaignError(" ".join(problems))
    waves = plan_waves(clusters)
    plan = [
        PlanStep(CAMPAIGN_CLUSTER, title=f"Remediate cluster {c.name}", target=c.name,
                 params={"cluster_id": c.pk, "wave": wave.number}, group=c.name, retries=0,
                 parallel_group=f"wave-{wave.number}", max_parallel=parallel)
        for wave in waves for c in wave.clusters
    ]
    names = ", ".join(c.name for w in waves for c in w.clusters)
    job, _ = submit_job(
        kind="campaign", title=(title or f"Campaign: remediate {names}"), target=names, plan=plan,
        requested_by=user, failure_policy={"max_failed_nodes": max_failed_clusters},
        params={"options": options.as_params(), "parallel": parallel, "max_failed_clusters": max_failed_clusters,
                "waves": [w.names for w in waves]},
    )
    return job, waves
