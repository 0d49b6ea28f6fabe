"""Pages that grow with the fabric: the same SQL queries at 10 and at 50 hosts, name search served
by an index on both databases, and Compliance view figures that add up to the hosts' own states.

Speed itself is measured in tests/bench/bench_pages.py (ratios at 100, 1,000 and 10,000 hosts).
"""
import re
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.baselines import baselines_by_host
from compliance.choices import STATE_SEVERITY, ComplianceState, worst_state
from compliance.models import HostCompliance
from fabric.choices import VMState
from fabric.models import Cluster, Host, HostGroup, VirtualMachine
from jobs.live.render import indicator_context


def generate(prefix, **options):
    call_command("generate_fabric", prefix=prefix, stdout=StringIO(), **options)


def pages(prefix) -> dict[str, tuple[str, dict]]:
    large = Cluster.objects.get(name=f"{prefix}-c001")
    other = Cluster.objects.get(name=f"{prefix}-c002")
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "modal"}
    return {
        "host list": (reverse("fabric:server_list"), {}),
        "host search": (reverse("fabric:server_list") + f"?q={prefix}-c002-n", {}),
        "VM list": (reverse("fabric:vm_list"), {}),
        "VM search": (reverse("fabric:vm_list") + f"?q={prefix}-vm-0001", {}),
        "cluster list": (reverse("fabric:cluster_list"), {}),
        "cluster page": (other.get_absolute_url(), {}),
        "file server list": (reverse("fabric:fileserver_list"), {}),
        "Compliance view": (reverse("compliance:compliance"), {}),
        "Compliance view, one cluster": (reverse("compliance:compliance") + f"?q={prefix}-c002", {}),
        "Compliance view, non-compliant": (reverse("compliance:compliance") + "?state=non_compliant", {}),
        "Compliance view, page 2": (reverse("compliance:compliance") + "?page=2", {}),
        "Remediate dialog": (reverse("compliance:remediate") + f"?selected=cluster:{large.pk}", htmx),
        "job list": (reverse("jobs:job_list"), {}),
        "job list, page 2": (reverse("jobs:job_list") + "?page=2", {}),
        "job list, active": (reverse("jobs:job_list") + "?status=active", {}),
    }


def count_queries(client, url, headers) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, **headers)
    assert response.status_code == 200, url
    return len(context.captured_queries)


def indicator_queries() -> int:
    with CaptureQueriesContext(connection) as context:
        html = render_to_string("jobs/_indicator.html", {**indicator_context(), "socket": False})
    assert "running" in html
    return len(context.captured_queries)


def test_every_page_needs_the_same_queries_at_10_and_at_50_hosts(operator_client, db):
    generate("a", hosts=10, vms=120, cluster_size=3, large_cluster=4, jobs=120, sofs_clusters=1, sofs_nodes=2,
             compliance=True)
    small = {name: count_queries(operator_client, *page) for name, page in pages("a").items()}
    small["running-jobs indicator"] = indicator_queries()
    # five times the hosts, bigger clusters, ten times the VMs, more jobs
    generate("b", hosts=50, vms=1200, cluster_size=16, large_cluster=12, jobs=500, sofs_clusters=2, sofs_nodes=4,
             compliance=True)
    large = {name: count_queries(operator_client, *page) for name, page in pages("b").items()}
    large["running-jobs indicator"] = indicator_queries()
    assert large == small


def test_the_compliance_view_adds_up_to_the_hosts_own_states(viewer_client, db):
    generate("c", hosts=40, vms=200, cluster_size=8, sofs_clusters=1, sofs_nodes=2, compliance=True)
    # a standalone host in a group no baseline reaches: counted apart, never shown
    lone_group = HostGroup.objects.create(name="Lab bench", parent=HostGroup.root())
    Host.objects.create(name="lone01", host_group=lone_group, address="10.99.0.1")
    hosts = list(Host.objects.all())
    in_force = baselines_by_host(hosts)
    stored = dict(HostCompliance.objects.values_list("host_id", "state"))
    expected = Counter(stored.get(h.pk, ComplianceState.UNKNOWN) for h in hosts if in_force[h.pk])
    assert len(expected) >= 4  # a realistic mix, not one state

    response = viewer_client.get(reverse("compliance:compliance"))
    summary = response.context["summary"]
    assert summary.counts == {s: expected.get(s, 0) for s in STATE_SEVERITY}
    assert summary.without_baseline == 1
    assert summary.total == len(hosts) - 1
    html = response.content.decode()
    for state in STATE_SEVERITY:
        assert re.search(rf'data-state-count="{state}">[^<]*</a>\s*<strong>{expected.get(state, 0)}</strong>', html)
    assert "lone01" not in html

    running = Counter(VirtualMachine.objects.filter(state=VMState.RUNNING).values_list("host_id", flat=True))
    by_pk = {h.pk: h for h in hosts}
    for cluster_row, rows in response.context["groups_on_page"]:
        for row in rows:
            assert row.state == stored.get(row.host.pk, ComplianceState.UNKNOWN)
            assert row.running_vms == running[row.host.pk]
            assert set(row.baseline_states) == in_force[row.host.pk]
        if cluster_row is not None:
            nodes = [h for h in hosts if h.cluster_id == cluster_row.cluster.pk and in_force[h.pk]]
            assert sorted(n.host.name for n in cluster_row.nodes) == sorted(h.name for h in nodes)
            assert cluster_row.state == worst_state(stored.get(h.pk, ComplianceState.UNKNOWN) for h in nodes)
            assert cluster_row.running_vms == sum(running[h.pk] for h in nodes)

    # the state filter lists exactly the hosts in that state, each cluster still judged by all its nodes
    filtered = viewer_client.get(reverse("compliance:compliance"), {"state": ComplianceState.NON_COMPLIANT})
    shown = [row.host.pk for _, rows in filtered.context["groups_on_page"] for row in rows]
    assert sorted(shown) == sorted(pk for pk, s in stored.items() if s == ComplianceState.NON_COMPLIANT
                                   and in_force[pk])
    for cluster_row, _ in filtered.context["groups_on_page"]:
        if cluster_row is not None:
            assert len(cluster_row.nodes) == sum(1 for h in hosts if h.cluster_id == cluster_row.cluster.pk
                                                 and in_force[h.pk])
    # a baseline filter shows only the hosts it is in force on
    critical = next(b for b in summary.baselines if "critical" in b.name)
    narrowed = viewer_client.get(reverse("compliance:compliance"), {"baseline": critical.pk}).context["summary"]
    assert narrowed.total == sum(1 for h in hosts if critical.pk in in_force[h.pk])
    assert by_pk  # every host was looked at


def plan_of(queryset) -> str:
    """The database's plan for a query, with sequential scans discouraged on PostgreSQL: a tiny test
    table is cheaper to read whole, and what matters is whether the index can serve the search."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")
        try:
            return queryset.explain()
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET enable_seqscan = on")


@pytest.mark.parametrize("model, field, index", [
    (Host, "name", "host_name_prefix"),
    (Host, "fqdn", "host_fqdn_prefix"),
    (Host, "address", "host_address_prefix"),
    (Cluster, "name", "cluster_name_prefix"),
    (VirtualMachine, "name", "vm_name_prefix"),
])
def test_name_search_uses_its_index(db, model, field, index):
    if connection.vendor not in ("sqlite", "postgresql"):
        pytest.skip(f"no prefix index on {connection.vendor}")
    generate("s", hosts=20, vms=100, cluster_size=4, sofs_clusters=0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    value = {"name": "S-C002", "fqdn": "s-c002-n01.FERRY", "address": "10.64.0."}[field]
    if model is VirtualMachine:
        value = "S-VM-0001"
    queryset = model.objects.filter(**{f"{field}__istartswith": value})
    plan = plan_of(queryset.order_by())  # a list sorted by name may read a few rows along that index instead
    assert index in plan, plan
    assert queryset.exists()  # and it finds them, whatever the case typed


def test_host_search_over_name_fqdn_and_address_uses_the_indexes(viewer_client, db):
    generate("t", hosts=30, vms=0, cluster_size=10, sofs_clusters=0)
    from fabric.filters import HostFilterSet

    found = HostFilterSet({"q": "T-C002-N0"}, queryset=Host.objects.all()).qs
    assert sorted(found.values_list("name", flat=True)) == [f"t-c002-n{i:02d}" for i in range(1, 10)]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        plan = plan_of(found.order_by())
        assert "host_name_prefix" in plan and "SCAN" not in plan.replace("SCAN CONSTANT", ""), plan


def test_generated_fabric_has_a_large_cluster_baselines_everywhere_and_a_job_history(db):
    from compliance.evaluation import recompute_hosts
    from core.indexes import distinct_values
    from jobs.choices import ACTIVE
    from jobs.models import Job, JobStep

    generate("g", hosts=40, vms=200, cluster_size=16, large_cluster=20, jobs=150, sofs_clusters=1, sofs_nodes=2,
             compliance=True)
    assert Host.objects.filter(cluster__name="g-c001").count() == 20
    hosts = list(Host.objects.all())
    stored = dict(HostCompliance.objects.values_list("host_id", "state"))
    assert all(baselines_by_host(hosts).values())  # a baseline on every host
    # the stored states are what Ferry itself computes from the generated scans
    assert recompute_hosts(hosts) == stored
    assert Job.objects.count() == 150 and JobStep.objects.filter(job__kind="remediation", is_group=True).exists()
    active = list(Job.objects.filter(status__in=ACTIVE).values_list("lock_key", flat=True))
    assert active and len(active) == len(set(active))  # never two active jobs on one cluster
    assert distinct_values(Job, "kind") == sorted(set(Job.objects.values_list("kind", flat=True)))
    assert distinct_values(Host, "os_name") == sorted({h.os_name for h in hosts if h.os_name})

    generate("g", hosts=4, vms=0, cluster_size=2, jobs=3, sofs_clusters=0, replace=True)
    assert Job.objects.count() == 3 and Host.objects.count() == 4
