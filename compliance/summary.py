"""The rows and counts of the Compliance view: a fixed number of queries, and work in Python only
for the page shown, whatever the fabric's size. The counts come from the stored per-host
records (HostCompliance: the host's overall state and how many baselines are in force on it, kept
current by scans, installs, assignments, new hosts and moves through
compliance.evaluation.recompute_hosts), read along one index."""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce
from django.urls import reverse

from compliance.choices import STATE_SEVERITY, ComplianceState, worst_state
from compliance.models import (
    Baseline,
    BaselineAssignment,
    BaselineCompliance,
    HostCompliance,
)
from fabric.choices import ClusterKind, VMState
from fabric.models import Cluster, Host, HostGroup, VirtualMachine
from fabric.models.grouptree import GroupTree


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


class PageRows:
    """The shown rows as the paginator sees them: the count is known from the totals query, and
    a slice loads only that page's hosts (and the other nodes of its clusters)."""

    def __init__(self, count: int, load):
        self._count, self._load = count, load

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if not isinstance(index, slice):
            raise TypeError("the Compliance view's rows are read a page at a time")
        return self._load(index.start or 0, self._count if index.stop is None else index.stop)


@dataclass
class ComplianceSummary:
    rows: PageRows  # what the table shows, in order (after the state filter), loaded a page at a time
    clusters: dict[int, ClusterRow]  # the row of every cluster on the loaded page, over all its nodes
    baselines: list[Baseline]
    counts: dict[str, int]
    without_baseline: int
    every: Callable[[int], Iterator[HostRow]] | None = None  # every listed host's row, in order, a chunk at a time

    def every_row(self, chunk: int = 1000) -> Iterator[HostRow]:
        """Every row the filters select (not one page), read `chunk` hosts at a time: a query for
        the order, then two per chunk, whatever the number of hosts (for the CSV export)."""
        return self.every(chunk)

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
    """The few host fields the view shows (read as tuples: model instances cost more)."""

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
               "compliance__state", "compliance__missing_count", "compliance__last_scan", "compliance__error",
               "running")


class InForce:
    """Which baselines are in force on a host, as SQL conditions on Host rows.

    Assignments are few (one per group, cluster or host an administrator chose); the groups a
    group assignment reaches come from the tree loaded once. Host and cluster assignments stay
    subqueries, so the conditions do not grow with the fabric."""

    def __init__(self, tree: GroupTree):
        self.groups: dict[int, set[int]] = defaultdict(set)
        self.baseline_ids: set[int] = set()
        for baseline_id, group_id in BaselineAssignment.objects.filter(host_group__isnull=False).values_list(
            "baseline_id", "host_group_id"
        ):
            self.groups[baseline_id].update(tree.descendant_ids(group_id) if group_id in tree.by_id else ())
        self.baseline_ids = set(BaselineAssignment.objects.values_list("baseline_id", flat=True).distinct())

    def condition(self, baseline_id: int) -> Q:
        """Hosts on which the baseline is in force."""
        assignments = BaselineAssignment.objects.filter(baseline_id=baseline_id)
        groups = self.groups.get(baseline_id, set())
        condition = Q(pk__in=assignments.filter(host__isnull=False).values("host_id")) | Q(
            cluster_id__in=assignments.filter(cluster__isnull=False).values("cluster_id")
        )
        if groups:
            condition |= Q(host_group_id__in=sorted(groups)) | Q(cluster__host_group_id__in=sorted(groups))
        return condition


SORTS = {"": "Name", "state": "State, worst first", "missing": "Missing updates, most first"}


def build_summary(*, state: str = "", baseline: int | None = None, group: HostGroup | None = None,
                  search: str = "", sort: str = "") -> ComplianceSummary:
    """The counts from the stored per-host records (two queries); the rows a page at a time, in
    the order `sort` names (a key of SORTS)."""
    tree = GroupTree.load()
    in_force = InForce(tree)
    scoped = Host.objects.all()
    if group is not None:
        groups = tree.descendant_ids(group.pk)
        scoped = scoped.filter(Q(host_group_id__in=groups) | Q(cluster__host_group_id__in=groups))
    if search:
        # the cluster's name as a subquery, so each half of the OR has an index of its own
        clusters = Cluster.objects.filter(name__istartswith=search).values("pk")
        scoped = scoped.filter(Q(name__istartswith=search) | Q(cluster_id__in=clusters))
    with_baseline = Q(compliance__baselines_in_force__gt=0)
    matching = scoped.filter(with_baseline)
    if baseline:
        matching = matching.filter(in_force.condition(baseline))
    if group is None and not search and not baseline:
        # the whole fabric: straight from the records' index, whatever the number of hosts
        records = HostCompliance.objects.filter(baselines_in_force__gt=0)
        by_state = dict(records.order_by().values_list("state").annotate(n=Count("pk")))
        without = Host.objects.count() - sum(by_state.values())
    else:
        by_state = dict(matching.order_by().values_list("compliance__state").annotate(n=Count("pk")))
        hosts = scoped.order_by().aggregate(all=Count("pk"), with_baseline=Count("pk", filter=with_baseline))
        without = hosts["all"] - hosts["with_baseline"]
    counts = {s: by_state.get(s, 0) for s in STATE_SEVERITY}
    assigned = sorted(in_force.baseline_ids)
    # the baselines in force on at least one host listed: a column each
    reached = Case(*[When(pk=b, then=Exists(matching.filter(in_force.condition(b)))) for b in assigned],
                   default=Value(False), output_field=BooleanField())
    baselines = list(Baseline.objects.filter(pk__in=assigned).alias(reached=reached).filter(reached=True)
                     .order_by("name")) if assigned else []
    flags = {f"in_{b.pk}": Case(When(in_force.condition(b.pk), then=Value(True)), default=Value(False),
                                output_field=BooleanField()) for b in baselines}
    running = Subquery(
        VirtualMachine.objects.filter(host_id=OuterRef("pk"), state=VMState.RUNNING).order_by()
        .values("host_id").annotate(n=Count("pk")).values("n")
    )
    shown = matching.filter(compliance__state=state) if state else matching
    # clusters first (by name, nodes by name), then standalone hosts; names as stored (Windows
    # reports them in one case), since lower-casing 10,000 names for each page costs three times the sort
    if sort in ("state", "missing"):
        # a cluster's nodes stay together under its row: the clusters (and standalone hosts, each a
        # group of its own) by the key over the nodes listed, then each cluster's nodes by their own
        if sort == "state":
            key = Coalesce(Case(*[When(compliance__state=s, then=Value(n)) for n, s in enumerate(STATE_SEVERITY)]),
                           Value(len(STATE_SEVERITY)))
            group_key, host_key = Window(Min(key), partition_by=[Coalesce(F("cluster_id"), -F("pk"))]), key.asc()
        else:
            key = Coalesce(F("compliance__missing_count"), Value(0))
            group_key = Window(Sum(key), partition_by=[Coalesce(F("cluster_id"), -F("pk"))]).desc()
            host_key = key.desc()
        shown = shown.order_by(group_key, F("cluster__name").asc(nulls_last=True), "cluster_id", host_key, "name", "pk")
    else:
        shown = shown.order_by(F("cluster__name").asc(nulls_last=True), "name", "pk")
    matching = matching.annotate(running=Coalesce(running, 0), **flags)
    summary = ComplianceSummary(
        rows=PageRows(counts[state] if state else sum(counts.values()), lambda start, stop: load(start, stop)),
        clusters={}, baselines=baselines, counts=counts, without_baseline=without,
    )
    fields = HOST_FIELDS + tuple(flags)

    def rows_of(records) -> list[HostRow]:
        records = list(records)
        per_host: dict[int, dict[int, str]] = defaultdict(dict)
        for host_id, baseline_id, row_state in BaselineCompliance.objects.filter(
            host_id__in=[r[0] for r in records], baseline_id__in=[b.pk for b in baselines]
        ).values_list("host_id", "baseline_id", "state"):
            per_host[host_id][baseline_id] = row_state
        rows = []
        for pk, name, cluster_id, group_id, node_state, failure, failure_job, cluster_name, cluster_group, \
                cluster_kind, host_state, missing, last_scan, error, running_vms, *in_baseline in records:
            cluster = ClusterInfo(cluster_id, cluster_name, cluster_group, cluster_kind) if cluster_id else None
            ids = [b.pk for b, on in zip(baselines, in_baseline) if on]
            rows.append(HostRow(
                host=HostInfo(pk, name, cluster_id, group_id, node_state or "", cluster, failure or "", failure_job),
                state=host_state or ComplianceState.UNKNOWN,
                baseline_states={b: per_host[pk].get(b, ComplianceState.UNKNOWN) for b in ids},
                missing=missing or 0, last_scan=last_scan, error=error or "", running_vms=running_vms,
            ))
        return rows

    def load(start: int, stop: int) -> list[HostRow]:
        # the order over every listed host costs a sort of their ids and names only; the columns
        # and counts are then read for this page's hosts alone
        ids = list(shown.values_list("pk", flat=True)[start:stop])
        position = {pk: n for n, pk in enumerate(ids)}
        page = sorted(rows_of(matching.filter(pk__in=ids).order_by().values_list(*fields)),
                      key=lambda row: position[row.host.pk])
        # each cluster's row is over all its nodes, even those the state filter or the page hides
        cluster_ids = sorted({r.host.cluster_id for r in page if r.host.cluster_id})
        if cluster_ids:
            for row in rows_of(matching.filter(cluster_id__in=cluster_ids).order_by("name", "pk")
                               .values_list(*fields)):
                summary.clusters.setdefault(row.host.cluster_id, ClusterRow(row.host.cluster)).nodes.append(row)
        return page

    def every(chunk: int) -> Iterator[HostRow]:
        ids = list(shown.values_list("pk", flat=True))
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            position = {pk: n for n, pk in enumerate(part)}
            yield from sorted(rows_of(matching.filter(pk__in=part).order_by().values_list(*fields)),
                              key=lambda row: position[row.host.pk])

    summary.every = every
    return summary


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
