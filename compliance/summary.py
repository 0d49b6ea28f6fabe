"""The rows and counts of the Compliance view, in a fixed number of queries for any fabric size."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.urls import reverse

from compliance.baselines import baselines_by_host
from compliance.choices import STATE_SEVERITY, ComplianceState, worst_state
from compliance.models import Baseline, BaselineCompliance
from fabric.choices import ClusterKind, VMState
from fabric.models import Host, HostGroup, VirtualMachine


@dataclass
class HostRow:
    host: "HostInfo"
    state: str
    baseline_states: dict[int, str]
    missing: int
    last_scan: object
    error: str = ""
    running_vms: int = 0

    @property
    def key(self) -> str:
        return f"host:{self.host.pk}"

    @property
    def state_label(self) -> str:
        return ComplianceState(self.state).label


@dataclass
class ClusterRow:
    cluster: "ClusterInfo"
    nodes: list[HostRow] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"cluster:{self.cluster.pk}"

    @property
    def state(self) -> str:
        return worst_state(n.state for n in self.nodes)

    @property
    def state_label(self) -> str:
        return ComplianceState(self.state).label

    @property
    def missing(self) -> int:
        return sum(n.missing for n in self.nodes)

    @property
    def last_scan(self):
        scans = [n.last_scan for n in self.nodes]
        return None if not scans or None in scans else min(scans)

    @property
    def running_vms(self) -> int:
        return sum(n.running_vms for n in self.nodes)

    def baseline_state(self, baseline_id: int) -> str | None:
        states = [n.baseline_states[baseline_id] for n in self.nodes if baseline_id in n.baseline_states]
        return worst_state(states) if states else None


@dataclass
class ComplianceSummary:
    rows: list[HostRow]  # what the table shows, in order (after the state filter)
    clusters: dict[int, ClusterRow]  # every cluster's row over all its nodes
    baselines: list[Baseline]
    counts: dict[str, int]
    without_baseline: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def count_rows(self) -> list[dict]:
        return [{"state": s, "label": ComplianceState(s).label, "count": self.counts.get(s, 0)} for s in STATE_SEVERITY]

    def chart(self, radius: float = 40.0) -> list[dict]:
        """Donut segments (stroke-dasharray / offset) per state, worst first, for an inline SVG."""
        total = self.total
        circumference = 2 * math.pi * radius
        segments, offset = [], 0.0
        for state in STATE_SEVERITY:
            count = self.counts.get(state, 0)
            if not count:
                continue
            length = circumference * count / total
            segments.append({
                "state": state, "label": ComplianceState(state).label, "count": count,
                "dash": f"{length:.2f} {circumference - length:.2f}", "offset": f"{-offset:.2f}",
            })
            offset += length
        return segments


@dataclass(frozen=True)
class HostInfo:
    """The few host fields the view shows (read as tuples: a thousand model instances cost more)."""

    pk: int
    name: str
    cluster_id: int | None
    host_group_id: int
    node_state: str
    cluster: "ClusterInfo | None"
    failure_state: str = ""      # what a failed job left the node in
    failure_job_id: int | None = None


@dataclass(frozen=True)
class ClusterInfo:
    pk: int
    name: str
    host_group_id: int
    kind: str = ClusterKind.HYPERV

    def get_absolute_url(self) -> str:
        name = "fabric:fileserver_detail" if self.kind == ClusterKind.SOFS else "fabric:cluster_detail"
        return reverse(name, args=[self.pk])


HOST_FIELDS = ("pk", "name", "cluster_id", "host_group_id", "node_state", "failure_state", "failure_job_id",
               "cluster__name", "cluster__host_group_id", "cluster__kind",
               "compliance__state", "compliance__missing_count", "compliance__last_scan", "compliance__error")


def build_summary(*, state: str = "", baseline: int | None = None, group: HostGroup | None = None,
                  search: str = "") -> ComplianceSummary:
    hosts = Host.objects.all()
    if group is not None:
        groups = group.descendant_ids()
        hosts = hosts.filter(Q(host_group_id__in=groups) | Q(cluster__host_group_id__in=groups))
    if search:
        hosts = hosts.filter(Q(name__icontains=search) | Q(cluster__name__icontains=search))
    running = dict(
        VirtualMachine.objects.filter(state=VMState.RUNNING, host__isnull=False)
        .values_list("host_id").annotate(n=Count("id")).values_list("host_id", "n")
    )
    per_host: dict[int, dict[int, str]] = defaultdict(dict)
    for host_id, baseline_id, row_state in BaselineCompliance.objects.filter(
        host__in=hosts.values("pk")
    ).values_list("host_id", "baseline_id", "state"):
        per_host[host_id][baseline_id] = row_state
    clusters_seen: dict[int, ClusterInfo] = {}
    records = []
    for (pk, name, cluster_id, group_id, node_state, failure, failure_job, cluster_name, cluster_group, cluster_kind,
         *compliance) in hosts.values_list(*HOST_FIELDS):
        cluster = None
        if cluster_id:
            cluster = clusters_seen.setdefault(cluster_id, ClusterInfo(cluster_id, cluster_name, cluster_group,
                                                                       cluster_kind))
        records.append((HostInfo(pk, name, cluster_id, group_id, node_state or "", cluster, failure or "",
                                 failure_job), compliance))
    in_force = baselines_by_host([info for info, _ in records])
    rows, without = [], 0
    for host, (host_state, missing, last_scan, error) in records:
        ids = in_force[host.pk]
        if not ids:
            without += 1
            continue
        if baseline and baseline not in ids:
            continue
        rows.append(HostRow(
            host=host,
            state=host_state or ComplianceState.UNKNOWN,
            baseline_states={b: per_host[host.pk].get(b, ComplianceState.UNKNOWN) for b in ids},
            missing=missing or 0,
            last_scan=last_scan,
            error=error or "",
            running_vms=running.get(host.pk, 0),
        ))
    counts = Counter(r.state for r in rows)
    clusters: dict[int, ClusterRow] = {}
    for row in rows:
        if row.host.cluster_id:
            clusters.setdefault(row.host.cluster_id, ClusterRow(row.host.cluster)).nodes.append(row)
    # clusters first (by name, nodes by name), then standalone hosts; each cluster's state is
    # its nodes' worst even when a state filter hides some of them
    ordered = sorted(rows, key=lambda r: (r.host.cluster_id is None,
                                          r.host.cluster.name.lower() if r.host.cluster_id else "",
                                          r.host.name.lower()))
    if state:
        ordered = [r for r in ordered if r.state == state]
    used = {b for r in rows for b in r.baseline_states}
    return ComplianceSummary(
        rows=ordered,
        clusters=clusters,
        baselines=list(Baseline.objects.filter(pk__in=used).order_by("name")),
        counts={s: counts.get(s, 0) for s in STATE_SEVERITY},
        without_baseline=without,
    )


def page_groups(rows: list[HostRow], clusters: dict[int, ClusterRow]) -> list[tuple[ClusterRow | None, list[HostRow]]]:
    """One page's rows grouped under their cluster's row (None for standalone hosts)."""
    groups: list[tuple[ClusterRow | None, list[HostRow]]] = []
    for row in rows:
        cluster = clusters.get(row.host.cluster_id) if row.host.cluster_id else None
        if groups and groups[-1][0] is cluster:
            groups[-1][1].append(row)
        else:
            groups.append((cluster, [row]))
    return groups


def group_paths() -> list[tuple[int, str]]:
    """(id, "All Hosts › A › B") for every group below the root, in one query."""
    groups = {pk: (name, parent) for pk, name, parent in HostGroup.objects.values_list("pk", "name", "parent_id")}

    def path(pk):
        names, seen = [], set()
        while pk is not None and pk not in seen:
            seen.add(pk)
            name, parent = groups[pk]
            names.append(name)
            pk = parent
        return " › ".join(reversed(names))

    return sorted(((pk, path(pk)) for pk, (_, parent) in groups.items() if parent is not None), key=lambda g: g[1])
