"""Baseline content, assignment and exemptions: which updates each host must have.

Assignments are inherited down the host-group tree: a baseline assigned to a group applies to
every host (and every cluster's nodes) in that group and in all groups below it. A baseline
assigned to a cluster applies to its nodes; one assigned to a host, to that host.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from compliance.choices import BaselineUpdateSource, ComplianceState, UpdateClassification
from compliance.models import (
    Baseline,
    BaselineAssignment,
    BaselineCompliance,
    BaselineUpdate,
    Exemption,
    HostCompliance,
    Update,
    UpdateStatus,
)
from fabric.models import Cluster, Host, HostGroup

SAMPLE_BASELINES = (
    ("Sample Baseline for Critical Updates", UpdateClassification.CRITICAL),
    ("Sample Baseline for Security Updates", UpdateClassification.SECURITY),
)


class AssignmentError(ValueError):
    """A baseline that cannot be assigned (or unassigned) as asked; the message says why."""


# --- content -------------------------------------------------------------------------------

def rule_matches(baseline: Baseline, today: dt.date | None = None):
    """Catalog updates the baseline's rule selects: current (not superseded, not declined)."""
    if not baseline.rule_enabled:
        return Update.objects.none()
    today = today or timezone.localdate()
    updates = Update.objects.filter(in_catalog=True, superseded=False, declined=False)
    if baseline.rule_classifications:
        updates = updates.filter(classification__in=baseline.rule_classifications)
    if baseline.rule_severities:
        updates = updates.filter(severity__in=baseline.rule_severities)
    if baseline.rule_released_days:
        cutoff = today - dt.timedelta(days=baseline.rule_released_days)
        updates = updates.filter(release_date__lte=cutoff)
    return updates


def _changed(baseline: Baseline) -> None:
    """The baseline's updates changed: bump its revision and forget what scans said about it."""
    Baseline.objects.filter(pk=baseline.pk).update(revision=baseline.revision + 1, modified=timezone.now())
    baseline.revision += 1
    reset_compliance(hosts_for_baseline(baseline), baselines=[baseline])


@transaction.atomic
def refresh_rule(baseline: Baseline, today: dt.date | None = None) -> tuple[int, int]:
    """Bring a baseline's rule entries in line with its rule (none when the rule is off).

    Returns (added, removed)."""
    wanted = set(rule_matches(baseline, today).values_list("pk", flat=True))
    entries = dict(BaselineUpdate.objects.filter(baseline=baseline).values_list("update_id", "source"))
    stale = [pk for pk, source in entries.items() if source == BaselineUpdateSource.RULE and pk not in wanted]
    new = [pk for pk in wanted if pk not in entries]
    if stale:
        BaselineUpdate.objects.filter(baseline=baseline, update_id__in=stale).delete()
    BaselineUpdate.objects.bulk_create(
        [BaselineUpdate(baseline=baseline, update_id=pk, source=BaselineUpdateSource.RULE) for pk in new]
    )
    if stale or new:
        _changed(baseline)
    return len(new), len(stale)


def refresh_rule_baselines(today: dt.date | None = None) -> dict[str, tuple[int, int]]:
    """Run after every catalog sync so rule baselines stay current."""
    return {b.name: refresh_rule(b, today) for b in Baseline.objects.filter(rule_enabled=True)}


def ensure_sample_baselines() -> list[Baseline]:
    """The two sample baselines VMM users expect after the first sync (never duplicated)."""
    created = []
    for name, classification in SAMPLE_BASELINES:
        baseline, made = Baseline.objects.get_or_create(
            name=name,
            defaults={
                "description": f"Every current update classified as {classification.label}, kept current at each sync.",
                "rule_enabled": True,
                "rule_classifications": [classification.value],
                "is_sample": True,
            },
        )
        if made:
            created.append(baseline)
    return created


@transaction.atomic
def set_picked_updates(baseline: Baseline, updates: Iterable[Update]) -> bool:
    """Make the hand-picked updates exactly `updates` (rule entries are left alone)."""
    wanted = {u.pk for u in updates}
    entries = dict(BaselineUpdate.objects.filter(baseline=baseline).values_list("update_id", "source"))
    stale = [pk for pk, source in entries.items() if source == BaselineUpdateSource.PICKED and pk not in wanted]
    new = [pk for pk in wanted if pk not in entries]
    # an update the rule already brought in becomes picked, so it stays if the rule drops it
    promote = [pk for pk in wanted if entries.get(pk) == BaselineUpdateSource.RULE]
    BaselineUpdate.objects.filter(baseline=baseline, update_id__in=stale).delete()
    BaselineUpdate.objects.filter(baseline=baseline, update_id__in=promote).update(source=BaselineUpdateSource.PICKED)
    BaselineUpdate.objects.bulk_create([BaselineUpdate(baseline=baseline, update_id=pk) for pk in new])
    if stale or new:
        _changed(baseline)
    return bool(stale or new)


# --- who gets which baseline -------------------------------------------------------------------

def _group_parents() -> dict[int, int | None]:
    return dict(HostGroup.objects.values_list("pk", "parent_id"))


def _group_chain(group_id: int | None, parents: dict[int, int | None]) -> list[int]:
    chain, seen = [], set()
    while group_id is not None and group_id not in seen:
        seen.add(group_id)
        chain.append(group_id)
        group_id = parents.get(group_id)
    return chain


def baselines_by_host(hosts: Iterable[Host]) -> dict[int, set[int]]:
    """Baseline ids in force on each host, in a fixed number of queries whatever the host count."""
    hosts = list(hosts)
    by_group: dict[int, set[int]] = {}
    by_cluster: dict[int, set[int]] = {}
    by_host: dict[int, set[int]] = {}
    for baseline_id, group_id, cluster_id, host_id in BaselineAssignment.objects.values_list(
        "baseline_id", "host_group_id", "cluster_id", "host_id"
    ):
        if group_id:
            by_group.setdefault(group_id, set()).add(baseline_id)
        elif cluster_id:
            by_cluster.setdefault(cluster_id, set()).add(baseline_id)
        else:
            by_host.setdefault(host_id, set()).add(baseline_id)
    parents = _group_parents() if by_group else {}
    cluster_groups = dict(Cluster.objects.values_list("pk", "host_group_id")) if by_group else {}
    result = {}
    for host in hosts:
        ids = set(by_host.get(host.pk, ()))
        groups = _group_chain(host.host_group_id, parents) if by_group else []
        if host.cluster_id:
            ids |= by_cluster.get(host.cluster_id, set())
            if by_group:
                groups += _group_chain(cluster_groups.get(host.cluster_id), parents)
        for group_id in groups:
            ids |= by_group.get(group_id, set())
        result[host.pk] = ids
    return result


def effective_baselines(host: Host) -> list[Baseline]:
    ids = baselines_by_host([host])[host.pk]
    return list(Baseline.objects.filter(pk__in=ids).order_by("name"))


def hosts_for_baseline(baseline: Baseline):
    """Every host a baseline applies to, through any of its assignments."""
    condition = Q(pk__in=[])
    for assignment in baseline.assignments.all():
        condition |= _assignment_condition(assignment)
    return Host.objects.filter(condition).distinct()


def _assignment_condition(assignment: BaselineAssignment) -> Q:
    if assignment.host_id:
        return Q(pk=assignment.host_id)
    if assignment.cluster_id:
        return Q(cluster_id=assignment.cluster_id)
    groups = assignment.host_group.descendant_ids()
    return Q(host_group_id__in=groups) | Q(cluster__host_group_id__in=groups)


def target_hosts(target) -> "list[Host]":
    """The hosts inside a host group (and below), a cluster, or a single host."""
    if isinstance(target, Host):
        return Host.objects.filter(pk=target.pk)
    if isinstance(target, Cluster):
        return Host.objects.filter(cluster=target)
    if isinstance(target, HostGroup):
        groups = target.descendant_ids()
        return Host.objects.filter(Q(host_group_id__in=groups) | Q(cluster__host_group_id__in=groups)).distinct()
    raise TypeError(f"not a host group, cluster or host: {target!r}")


def _assignment_fields(target) -> dict:
    if isinstance(target, HostGroup):
        return {"host_group": target}
    if isinstance(target, Cluster):
        return {"cluster": target}
    if isinstance(target, Host):
        return {"host": target}
    raise AssignmentError(f"A baseline is assigned to a host group, a cluster or a host, not {target!r}.")


@transaction.atomic
def assign(baseline: Baseline, target, user=None) -> tuple[BaselineAssignment, bool]:
    """Assign (idempotent). The hosts it newly applies to become Unknown until scanned."""
    fields = _assignment_fields(target)
    assignment, created = BaselineAssignment.objects.get_or_create(
        baseline=baseline, **fields, defaults={"created_by": user}
    )
    if created:
        reset_compliance(target_hosts(target), baselines=[baseline])
    return assignment, created


@transaction.atomic
def unassign(assignment: BaselineAssignment) -> None:
    baseline, hosts = assignment.baseline, list(target_hosts(assignment.target))
    assignment.delete()
    still = baselines_by_host(hosts)
    gone = [h for h in hosts if baseline.pk not in still[h.pk]]
    BaselineCompliance.objects.filter(baseline=baseline, host__in=gone).delete()
    UpdateStatus.objects.filter(baseline=baseline, host__in=gone).delete()
    from compliance.evaluation import recompute_hosts

    recompute_hosts(gone)


# --- exemptions ------------------------------------------------------------------------------

@transaction.atomic
def exempt(host: Host, update: Update, note: str, user) -> Exemption:
    note = (note or "").strip()
    if not note:
        raise ValueError("Say why the host does not need this update (the note is required).")
    exemption, _ = Exemption.objects.update_or_create(
        host=host, update=update,
        defaults={"note": note, "created_by": user, "created_by_name": user.get_username() if user else "system"},
    )
    from compliance.evaluation import reapply_exemptions

    reapply_exemptions(host)
    return exemption


@transaction.atomic
def remove_exemption(exemption: Exemption) -> None:
    host = exemption.host
    exemption.delete()
    from compliance.evaluation import reapply_exemptions

    reapply_exemptions(host)


# --- resetting ------------------------------------------------------------------------------

def reset_compliance(hosts, baselines: Iterable[Baseline] | None = None) -> None:
    """What we knew no longer holds (baseline changed, host moved): Unknown until the next scan."""
    from compliance.evaluation import recompute_hosts

    hosts = list(hosts)
    if not hosts:
        return
    rows = BaselineCompliance.objects.filter(host__in=hosts)
    statuses = UpdateStatus.objects.filter(host__in=hosts)
    if baselines is not None:
        baselines = list(baselines)
        rows = rows.filter(baseline__in=baselines)
        statuses = statuses.filter(baseline__in=baselines)
    rows.update(state=ComplianceState.UNKNOWN, missing_count=0, last_scan=None)
    statuses.delete()
    if baselines is None:
        HostCompliance.objects.filter(host__in=hosts).update(error="", pending_reboot=False)
    recompute_hosts(hosts)
