"""Starting the upgrade jobs.

Upgrade Cluster (a rolling upgrade): what Ferry knows and misses per node (`default_node_settings`,
`missing_settings`), the prerequisites (`check_prerequisites`), the plan the operator reads
(`plan_upgrade`) and the job (`submit_upgrade`). The job's first step checks the prerequisites
again against the live cluster.

Update Version: raise the functional level of a cluster whose nodes all run a newer release
already (upgraded outside Ferry), as a job: -WhatIf first, then the real call, then a refresh of
the cluster record. The pages and the command refresh the record first
(`refresh_for_update_version`), so nodes upgraded behind Ferry's back count with their real build.
One active job per cluster (the lock key remediation uses too). Hyper-V clusters and Scale-Out
File Servers alike.
"""
from __future__ import annotations

from fabric.inventory import refresh_cluster
from fabric.models import Cluster
from jobs.engine import PlanStep, submit_job
from jobs.models import ACTIVE, Job
from upgrades.releases import UnknownRelease, by_functional_level, can_raise_functional_level, release_of_build
from upgrades.request import UpgradeRefused
from upgrades.rolling import (  # noqa: F401  (the wizard and the command import them from here)
    check_prerequisites,
    default_node_settings,
    missing_settings,
    plan_upgrade,
    submit_upgrade,
)


def node_builds(cluster: Cluster) -> list[str]:
    return [f"{name} {build or '?'}" for name, build in cluster.nodes.order_by("name").values_list("name", "os_build")]


def refresh_for_update_version(cluster: Cluster) -> list[str]:
    """Read the nodes' builds and the functional level from the cluster into its record (not while a
    job runs on it: that job keeps the record itself). Returns the problems the refresh met."""
    if Job.objects.filter(lock_key=f"cluster:{cluster.pk}", status__in=ACTIVE).exists():
        return []
    problems = refresh_cluster(cluster)
    cluster.refresh_from_db()
    return problems


def update_version_target(cluster: Cluster):
    """The release the cluster's functional level would rise to; UpgradeRefused with the reason otherwise."""
    builds = list(cluster.nodes.values_list("name", "os_build"))
    if not builds:
        raise UpgradeRefused(f"{cluster.name} has no nodes in the inventory: refresh it first.")
    if cluster.functional_level is None:
        raise UpgradeRefused(f"The functional level of {cluster.name} is not known: refresh it first.")
    unknown = [name for name, build in builds if release_of_build(build) is None]
    if unknown:
        raise UpgradeRefused(f"The release of {', '.join(unknown)} is not known (build not read, or not a "
                             f"Windows Server release Ferry knows): refresh the cluster first.")
    target = can_raise_functional_level(cluster.functional_level, [b for _, b in builds])
    if target is None:
        try:
            current = by_functional_level(cluster.functional_level).name
        except UnknownRelease:
            current = f"functional level {cluster.functional_level}"
        behind = [name for name, build in builds
                  if release_of_build(build).functional_level <= cluster.functional_level]
        raise UpgradeRefused(f"Every node of {cluster.name} must run a newer release than {current} "
                             f"(functional level {cluster.functional_level}) first; "
                             f"{', '.join(sorted(behind))} do{'es' if len(behind) == 1 else ''} not.")
    return target


def submit_update_version(cluster: Cluster, user=None):
    """Queue Update Version for `cluster`; (job, created). UpgradeRefused when it cannot apply."""
    target = update_version_target(cluster)
    params = {"cluster_id": cluster.pk, "from_level": cluster.functional_level,
              "to_level": target.functional_level}
    plan = [
        PlanStep("upgrades.check_functional_level", target=cluster.name, params=params,
                 title=f"Check that {cluster.name} can go to functional level {target.functional_level} (-WhatIf)"),
        PlanStep("upgrades.raise_functional_level", target=cluster.name, params=params,
                 title=f"Raise the functional level of {cluster.name} to {target.functional_level} "
                       f"({target.name}; cannot be undone)"),
        PlanStep("upgrades.refresh_cluster", target=cluster.name, params=params,
                 title=f"Refresh {cluster.name}"),
    ]
    return submit_job(kind="update_version", title=f"Update the version of cluster {cluster.name}",
                      target=cluster, lock_key=f"cluster:{cluster.pk}", requested_by=user, plan=plan,
                      params=params)


__all__ = [
    "UpgradeRefused", "check_prerequisites", "default_node_settings", "missing_settings", "node_builds",
    "plan_upgrade", "refresh_for_update_version", "submit_update_version", "submit_upgrade", "update_version_target",
]
