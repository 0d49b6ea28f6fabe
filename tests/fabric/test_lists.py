"""One way of showing times and yes/no on every list, and every list's CSV export: the filters
apply, the cells are the text the page shows, and only those who may see a list can export it."""
import csv
import datetime as dt
import io

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from core.audit import AuditAction
from core.models import AuditEntry
from fabric.models import Cluster
from tests import factories

pytestmark = pytest.mark.django_db


def csv_rows(response):
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_a_time_is_a_utc_instant_with_its_zone_and_the_exact_time_on_hover():
    moment = dt.datetime(2026, 3, 29, 0, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    html = Template('{% load ferry %}{{ t|when }}|{{ t|when:"seconds" }}|{{ t|when:"time" }}|{{ none|when }}').render(
        Context({"t": moment, "none": None})
    )
    exact = 'title="2026-03-28 22:30:05 UTC"'
    assert html.split("|") == [
        f'<time datetime="2026-03-28T22:30:05Z" data-style="datetime" {exact}>2026-03-28 22:30 UTC</time>',
        f'<time datetime="2026-03-28T22:30:05Z" data-style="seconds" {exact}>2026-03-28 22:30:05 UTC</time>',
        f'<time datetime="2026-03-28T22:30:05Z" data-style="time" {exact}>22:30:05</time>',
        "—",
    ]


def test_a_relative_time_keeps_the_exact_time_on_hover():
    moment = timezone.now() - dt.timedelta(minutes=8, seconds=3)
    html = Template('{% load ferry %}{{ t|when:"relative" }}').render(Context({"t": moment}))
    assert ">8\xa0minutes ago</time>" in html
    assert f'title="{moment.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M:%S} UTC"' in html


def test_a_deadline_days_away_shows_its_date_and_one_soon_its_time():
    soon, far = timezone.now() + dt.timedelta(minutes=5), timezone.now() + dt.timedelta(days=14)
    html = Template('{% load ferry %}{{ soon|when:"moment" }}|{{ far|when:"moment" }}').render(
        Context({"soon": soon, "far": far}))
    near_html, far_html = html.split("|")
    assert 'data-style="time"' in near_html and f">{soon.astimezone(dt.timezone.utc):%H:%M:%S}</time>" in near_html
    assert 'data-style="datetime"' in far_html and f">{far.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC<" in far_html


def test_yes_and_no_are_words():
    html = Template("{% load ferry %}{{ a|yes_no }} {{ b|yes_no }}").render(Context({"a": True, "b": False}))
    assert html == '<span class="yes-no yes">Yes</span> <span class="yes-no no">No</span>'


def test_boolean_columns_say_yes_or_no_never_a_glyph(viewer_client):
    host = factories.host("hv01", cluster=factories.cluster("HVC1"))
    factories.vm("vm-ha", host=host, highly_available=True)
    factories.vm("vm-local", host=host, highly_available=False)
    page = viewer_client.get(reverse("fabric:vm_list")).content.decode()
    assert "✔" not in page and "✘" not in page
    assert '<span class="yes-no yes">Yes</span>' in page and '<span class="yes-no no">No</span>' in page
    rows = csv_rows(viewer_client.get(reverse("fabric:vm_list"), {"_export": "csv", "sort": "name"}))
    column = rows[0].index("Highly available")
    assert [(r[0], r[column]) for r in rows[1:]] == [("vm-ha", "Yes"), ("vm-local", "No")]


def test_cluster_list_shows_mixed_mode_since_as_a_time_element(viewer_client):
    since = timezone.now() - dt.timedelta(days=2)
    factories.cluster("HVC1")
    Cluster.objects.filter(name="HVC1").update(mixed_mode_since=since)
    page = viewer_client.get(reverse("fabric:cluster_list")).content.decode()
    iso = since.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    assert f'<time datetime="{iso}" data-style="datetime"' in page


def test_cluster_and_file_server_lists_show_and_filter_the_witness(viewer_client):
    from fabric.choices import ClusterKind

    factories.cluster("BR1", witness_kind="disk", witness_name="Cluster Disk 2", witness_state="Online")
    factories.cluster("BR2", witness_kind="none")
    factories.cluster("OLD")   # never read
    factories.cluster("FS1", kind=ClusterKind.SOFS, witness_kind="cloud", witness_name="Cloud Witness",
                      witness_state="Online")
    url = reverse("fabric:cluster_list")
    rows = csv_rows(viewer_client.get(url, {"_export": "csv", "sort": "name"}))
    column = rows[0].index("Witness")
    assert [(r[0], r[column]) for r in rows[1:]] == [("BR1", "disk witness"), ("BR2", "none (the nodes' votes only)"),
                                                     ("OLD", "")]
    by_witness = csv_rows(viewer_client.get(url, {"_export": "csv", "witness": "none"}))
    assert [r[0] for r in by_witness[1:]] == ["BR2"]
    unread = csv_rows(viewer_client.get(url, {"_export": "csv", "witness": "not_read"}))
    assert [r[0] for r in unread[1:]] == ["OLD"]
    assert viewer_client.get(url, {"witness": "quorum-disk"}).status_code == 200   # an unknown choice: a field error
    assert "Select a valid choice" in viewer_client.get(url, {"witness": "quorum-disk"}).content.decode()
    files = csv_rows(viewer_client.get(reverse("fabric:fileserver_list"), {"_export": "csv"}))
    assert [(r[0], r[files[0].index("Witness")]) for r in files[1:]] == [("FS1", "cloud witness")]


def test_audit_log_exports_what_the_filter_selects_with_times_in_utc(viewer_client, administrator):
    for name in ("HVC1", "HVC2"):
        AuditEntry.objects.create(username="ada", action=AuditAction.CREATE, object_type="cluster", object_repr=name,
                                  detail="=HYPERLINK(\"http://x\")" if name == "HVC2" else "Name: HVC1")
    AuditEntry.objects.create(username="otto", action=AuditAction.ACTION, object_type="job", object_repr="#4 Scan")
    page = viewer_client.get(reverse("fabric:audit_list"), {"object_type": "cluster"}).content.decode()
    assert '<p class="muted count">2 audit entries</p>' in page
    assert 'href="?object_type=cluster&amp;_export=csv"' in page
    rows = csv_rows(viewer_client.get(reverse("fabric:audit_list"), {"username": "ada", "sort": "object_repr",
                                                                    "_export": "csv"}))
    assert rows[0] == ["Time", "Who", "What", "Object type", "Object", "Detail", "From"]
    assert [r[4] for r in rows[1:]] == ["HVC1", "HVC2"]
    assert rows[1][2] == "Created"  # the label, as on the page
    assert rows[2][5] == "'=HYPERLINK(\"http://x\")"  # a spreadsheet shows it, never runs it
    stored = AuditEntry.objects.get(object_repr="HVC1").time
    assert dt.datetime.fromisoformat(rows[1][0]) == stored and rows[1][0].endswith("Z")


def test_a_viewer_cannot_export_a_list_only_administrators_see(viewer_client, admin_client_ferry):
    factories.runas("svc-patching")
    assert viewer_client.get(reverse("fabric:runas_list"), {"_export": "csv"}).status_code == 403
    rows = csv_rows(admin_client_ferry.get(reverse("fabric:runas_list"), {"_export": "csv"}))
    assert rows[0] == ["Name", "User name", "Password stored", "Description"]
    assert rows[1][0] == "svc-patching" and rows[1][2] == "Yes"
    assert factories.RUNAS_PASSWORD not in admin_client_ferry.get(
        reverse("fabric:runas_list"), {"_export": "csv"}).content.decode()


def test_only_csv_is_offered(viewer_client):
    factories.host("hv01")
    response = viewer_client.get(reverse("fabric:server_list"), {"_export": "xlsx"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
