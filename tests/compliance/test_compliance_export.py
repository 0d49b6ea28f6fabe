"""The Compliance view's CSV export: every host the filters select, inert cells, flat query count."""
import csv
import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from compliance import baselines as bl
from compliance.models import Baseline, HostCompliance
from fabric.models import Cluster, Host
from tests import factories as f

pytestmark = pytest.mark.django_db

URL = "/compliance/"


def export(client, **filters) -> list[dict]:
    response = client.get(URL, {**filters, "_export": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="compliance.csv"'
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_a_row_per_host_with_its_states_over_every_page(viewer_client, monkeypatch):
    monkeypatch.setattr("compliance.views.compliance.ROWS_PER_PAGE", 2)  # the export is not one page
    f.scanned_cluster(nodes=3, compliant=("HVC1-N1",))
    failed = Host.objects.get(name="HVC1-N2")
    failed.failure_state = "Paused, drained"
    failed.save(update_fields=["failure_state"])
    f.host("LONE")  # no baseline: not listed, as on the page
    rows = export(viewer_client)
    assert [r["Host"] for r in rows] == ["HVC1-N1", "HVC1-N2", "HVC1-N3"]
    assert list(rows[0]) == ["Host", "Cluster", "State", "Security", "Missing updates", "Running VMs", "Last scan",
                             "Error", "Left by a failed job"]
    first, second = rows[0], rows[1]
    assert (first["Cluster"], first["State"], first["Security"], first["Missing updates"]) == (
        "HVC1", "Compliant", "Compliant", "0")
    assert (second["State"], second["Security"], second["Missing updates"]) == ("Non Compliant", "Non Compliant", "1")
    assert second["Running VMs"] == "2" and second["Left by a failed job"] == "Paused, drained"
    scanned = HostCompliance.objects.get(host__name="HVC1-N1").last_scan
    assert first["Last scan"].endswith("Z") and first["Last scan"].startswith(scanned.strftime("%Y-%m-%dT%H:%M"))


def test_the_export_keeps_the_filters(viewer_client):
    f.scanned_cluster("OTHER", nodes=2)  # first: the next cluster's update is one it was not scanned for
    f.scanned_cluster(nodes=3, compliant=("HVC1-N1",))
    assert [r["Host"] for r in export(viewer_client, state="compliant")] == ["HVC1-N1"]
    assert [r["Host"] for r in export(viewer_client, q="OTH")] == ["OTHER-N1", "OTHER-N2"]
    assert [r["Host"] for r in export(viewer_client, q="HVC1-N3")] == ["HVC1-N3"]
    assert export(viewer_client, state="compliant", q="OTH") == []
    other = Cluster.objects.get(name="OTHER")
    other.host_group = f.group("Branch")
    other.save(update_fields=["host_group"])
    assert [r["Host"] for r in export(viewer_client, group=other.host_group_id)] == ["OTHER-N1", "OTHER-N2"]
    extra = Baseline.objects.create(name="Extra")
    bl.assign(extra, Cluster.objects.get(name="HVC1"))
    rows = export(viewer_client, baseline=extra.pk)
    assert [r["Host"] for r in rows] == ["HVC1-N1", "HVC1-N2", "HVC1-N3"] and "Extra" in rows[0]


def test_the_page_links_to_the_export_with_its_filters(viewer_client):
    f.scanned_cluster(nodes=2)
    page = viewer_client.get(URL, {"state": "non_compliant", "page": "1"}).content.decode()
    assert "Export CSV" in page and "2 hosts" in page
    assert "_export=csv" in page and "state=non_compliant" in page


def test_a_user_without_a_role_gets_no_export(make_user):
    f.scanned_cluster(nodes=2)
    client = Client()
    client.force_login(make_user("nobody", role=None))
    assert client.get(URL, {"_export": "csv"}).status_code == 403
    assert Client().get(URL, {"_export": "csv"}).status_code == 302


def test_formula_like_names_are_made_inert(viewer_client):
    f.scanned_cluster("=HYPERLINK(1)", nodes=1)
    host = Host.objects.get()
    host.failure_state = "+cmd"
    host.save(update_fields=["failure_state"])
    row = export(viewer_client)[0]
    assert row["Host"] == "'=HYPERLINK(1)-N1" and row["Cluster"] == "'=HYPERLINK(1)"
    assert row["Left by a failed job"] == "'+cmd"


def test_the_export_needs_the_same_number_of_queries_for_10_and_50_hosts(viewer_client):
    f.scanned_cluster("A", nodes=10, vms_per_node=0)
    with CaptureQueriesContext(connection) as small:
        assert len(export(viewer_client)) == 10
    f.scanned_cluster("B", nodes=40, vms_per_node=0)
    with CaptureQueriesContext(connection) as large:
        assert len(export(viewer_client)) == 50
    assert len(large) == len(small) <= 20, [q["sql"][:80] for q in large.captured_queries]


def test_sort_by_state_or_missing_keeps_each_cluster_under_its_row(viewer_client):
    f.scanned_cluster("ZED", nodes=2)
    f.scanned_cluster("ALPHA", nodes=2)  # both scanned before the last cluster's update: Unknown, none missing
    f.scanned_cluster("MID", nodes=3, compliant=("MID-N1",))
    assert [r["Host"] for r in export(viewer_client)] == ["ALPHA-N1", "ALPHA-N2", "MID-N1", "MID-N2", "MID-N3",
                                                          "ZED-N1", "ZED-N2"]
    worst_first = ["MID-N2", "MID-N3", "MID-N1", "ALPHA-N1", "ALPHA-N2", "ZED-N1", "ZED-N2"]
    assert [r["Host"] for r in export(viewer_client, sort="state")] == worst_first
    assert [r["Host"] for r in export(viewer_client, sort="missing")] == worst_first
    page = viewer_client.get(URL, {"sort": "state"}).content.decode()
    order = [page.index(f'data-compliance="{name}"') for name in ["MID", *worst_first[:3], "ALPHA", "ALPHA-N1"]]
    assert order == sorted(order)  # each cluster's row, then its nodes
    assert '<option value="state" selected>State, worst first</option>' in page
    assert 'name="sort"' in viewer_client.get(URL, {"sort": "bogus"}).content.decode()


def test_a_sorted_page_needs_the_same_number_of_queries_for_10_and_50_hosts(viewer_client):
    f.scanned_cluster("A", nodes=10, vms_per_node=0)
    with CaptureQueriesContext(connection) as small:
        viewer_client.get(URL, {"sort": "missing"})
    f.scanned_cluster("B", nodes=40, vms_per_node=0)
    with CaptureQueriesContext(connection) as large:
        viewer_client.get(URL, {"sort": "missing"})
    assert len(large) == len(small) <= 20, [q["sql"][:80] for q in large.captured_queries]
