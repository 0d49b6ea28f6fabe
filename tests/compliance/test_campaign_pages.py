"""Maintenance windows and scheduled campaigns on their pages: field errors save nothing, each change
writes one audit row, a schedule that fires starts a campaign."""
import ast
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.module_loading import import_string

from compliance.campaigns.schedules import (
    parse_when,
    schedule_campaign,
    scheduled_campaigns,
)
from core.models import AuditEntry
from fabric.models import MaintenanceWindow
from jobs.models import Job
from tests import factories as f
from tests.fabric.test_audit import ADDRESS
from tests.fabric.test_lists import csv_rows

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def admin(administrator):
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(administrator)
    return client


def test_a_window_is_added_with_field_errors_first_and_removed_audited(admin, operator_client):
    hv = f.cluster("HVA", nodes=3)
    url = reverse("compliance:maintenance_windows", args=["cluster", hv.pk])
    AuditEntry.objects.all().delete()   # the sign-in's row
    bad = admin.post(url, {"weekday": 5, "start": "02:00", "end": "02:00", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 422
    assert "not a time zone" in bad.content.decode() or "Select a valid choice" in bad.content.decode()
    assert not MaintenanceWindow.objects.exists() and not AuditEntry.objects.exists()
    assert admin.post(
        url, {"weekday": 5, "start": "02:00", "end": "04:00", "time_zone": "Europe/Berlin"}
    ).status_code == 302
    window = MaintenanceWindow.objects.get(cluster=hv)
    row = AuditEntry.objects.get()
    assert (row.action, row.source_address) == ("create", ADDRESS) and "cluster HVA" in row.detail
    node = hv.nodes.first()
    page = admin.get(reverse("compliance:maintenance_windows", args=["host", node.pk])).content.decode()
    assert "Saturday 02:00–04:00 Europe/Berlin" in page and "set on cluster HVA" in page   # inherited
    assert operator_client.post(reverse("compliance:maintenance_window_delete", args=[window.pk])).status_code == 403
    assert admin.post(reverse("compliance:maintenance_window_delete", args=[window.pk])).status_code == 302
    assert not MaintenanceWindow.objects.exists()
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == ["create", "delete"]


def test_a_campaign_is_scheduled_listed_and_cancelled(admin, viewer_client):
    hv = f.cluster("HVA", nodes=3)
    url = reverse("compliance:schedule_list")
    AuditEntry.objects.all().delete()   # the sign-in's row
    bad = admin.post(url, {"clusters": [hv.pk], "when": "someday", "time_zone": "UTC", "parallel": 2,
                           "max_failed_clusters": 0})
    assert bad.status_code == 422 and "neither a date and time" in bad.content.decode()
    assert not scheduled_campaigns().exists()
    response = admin.post(url, {"clusters": [hv.pk], "when": "second Saturday 02:00", "time_zone": "Europe/Berlin",
                                "parallel": 2, "max_failed_clusters": 0})
    assert response.status_code == 302
    schedule = scheduled_campaigns().get()
    local = schedule.next_run.astimezone(BERLIN)
    assert (local.weekday(), local.hour, local.minute) == (5, 2, 0) and 8 <= local.day <= 14
    page = viewer_client.get(url).content.decode()
    assert "every second Saturday of the month at 02:00 Europe/Berlin" in page and "HVA" in page
    assert viewer_client.post(reverse("compliance:schedule_cancel", args=[schedule.pk])).status_code == 403
    assert admin.post(reverse("compliance:schedule_cancel", args=[schedule.pk])).status_code == 302
    assert not scheduled_campaigns().exists()
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == ["create", "delete"]


def test_the_scheduled_campaigns_are_a_sorted_searchable_counted_table_exported_as_seen(admin, viewer_client):
    hva, hvb = f.cluster("HVA", nodes=1), f.cluster("HVB", nodes=1)
    schedule_campaign([hvb], parse_when("2099-01-02 02:00", "UTC"), parallel=1)
    schedule_campaign([hva], parse_when("second Saturday 02:00", "Europe/Berlin"), parallel=3)
    url = reverse("compliance:schedule_list")
    page = viewer_client.get(url, {"sort": "name"}).content.decode()
    assert "2 scheduled campaigns" in page and 'name="q"' in page
    assert page.index(">HVA<") < page.index(">HVB<")
    assert "Schedule a campaign" not in page and ">Cancel<" not in page   # a viewer only looks
    descending = viewer_client.get(url, {"sort": "-name"}).content.decode()
    assert descending.index(">HVB<") < descending.index(">HVA<")
    found = viewer_client.get(url, {"q": "hvb"}).content.decode()
    assert "1 scheduled campaign<" in found
    assert ">HVB<" in found and ">HVA<" not in found
    operator_page = admin.get(url).content.decode()
    assert ">Cancel<" in operator_page and "Schedule a campaign" in operator_page

    rows = csv_rows(viewer_client.get(url, {"_export": "csv", "sort": "next_run"}))
    assert rows[0] == ["Campaign", "When", "Next run", "At once"]
    assert [row[0] for row in rows[1:]] == ["HVA", "HVB"]
    assert rows[1][1] == "every second Saturday of the month at 02:00 Europe/Berlin" and rows[1][3] == "3"
    assert rows[2][2] == "2099-01-02T02:00:00Z"
    assert [row[0] for row in csv_rows(viewer_client.get(url, {"_export": "csv", "q": "HVB"}))[1:]] == ["HVB"]
    assert Client().get(url, {"_export": "csv"}).status_code == 302


@pytest.mark.django_db
def test_a_schedule_that_fires_starts_a_campaign_and_books_the_next_month():
    hv = f.cluster("HVA", nodes=3)
    rule = parse_when("last Friday 23:30", "Europe/Berlin")
    row = schedule_campaign([hv], rule, parallel=1)
    func = import_string(row.func)
    row.delete()                                                      # as django-q2 does with a ONCE row
    func(**ast.literal_eval(row.kwargs))                              # what django-q2 calls when it fires
    job = Job.objects.get(kind="campaign")
    assert job.params["parallel"] == 1 and job.params["waves"] == [["HVA"]]
    following = scheduled_campaigns().get().next_run.astimezone(BERLIN)
    assert following.weekday() == 4 and (following + timedelta(days=7)).month != following.month
    assert AuditEntry.objects.filter(detail__startswith="scheduled campaign started").exists()


@pytest.mark.django_db
def test_a_moment_in_the_past_is_refused():
    with pytest.raises(ValueError, match="already passed"):
        parse_when("2001-01-01 02:00")
    assert parse_when("2099-01-01T02:00", "UTC").once == datetime(2099, 1, 1, 2, tzinfo=ZoneInfo("UTC"))


@pytest.mark.django_db
def test_the_command_schedules_a_campaign_and_refuses_a_bad_moment():
    from django.core.management import call_command
    from django.core.management.base import CommandError

    f.cluster("HVA", nodes=3)
    f.cluster("HVB", nodes=3)
    with pytest.raises(CommandError, match="neither a date and time"):
        call_command("remediate", "HVA", "HVB", "--at", "soon")
    with pytest.raises(CommandError, match="not a time zone"):
        call_command("remediate", "HVA", "HVB", "--at", "second Saturday 02:00", "--time-zone", "Mars/Olympus")
    assert not scheduled_campaigns().exists()
    call_command("remediate", "HVA", "HVB", "--parallel", "2", "--at", "second Saturday 02:00",
                 "--time-zone", "Europe/Berlin")
    assert scheduled_campaigns().get().name.startswith("Campaign: remediate HVA, HVB")
    assert AuditEntry.objects.filter(action="create", object_type="scheduled campaign").count() == 1
    assert not Job.objects.exists()


def test_several_clusters_in_the_dialog_show_the_waves_and_make_one_campaign(operator_client):
    from fabric.choices import ClusterKind
    from fabric.models import FileShare

    hv = f.scanned_cluster("HVA", nodes=3)
    sofs = f.scanned_cluster("FSA", nodes=3, vms_per_node=0)
    sofs.kind = ClusterKind.SOFS
    sofs.save()
    FileShare.objects.create(cluster=sofs, name="VMs", scope_name="SOFSA", path="C:\\ClusterStorage\\Volume1\\VMs")
    hv.vms.update(storage_path="\\\\SOFSA\\VMs\\vm")
    selected = [f"cluster:{hv.pk}", f"cluster:{sofs.pk}"]
    options = {"evacuation": "live", "max_retries_per_node": 3, "max_failed_nodes": 0, "reboot_timeout_minutes": 15,
               "node_order": "fewest_vms", "parallel": 2, "max_failed_clusters": 0}
    page = operator_client.post(reverse("compliance:remediate"), {"selected": selected, "action": "preview", **options},
                                HTTP_HX_REQUEST="true").content.decode()
    assert "Wave 1: FSA" in page and "Wave 2: HVA" in page and "at most 2 clusters at once" in page
    bad = operator_client.post(reverse("compliance:remediate"), {"selected": selected, "action": "submit",
                                                                  **options, "parallel": 0},
                               HTTP_HX_REQUEST="true").content.decode()
    assert "Ensure this value is greater than or equal to 1" in bad and not Job.objects.exists()
    response = operator_client.post(reverse("compliance:remediate"), {"selected": selected, "action": "submit",
                                                                       **options}, HTTP_HX_REQUEST="true")
    job = Job.objects.get()
    assert response["HX-Redirect"] == job.get_absolute_url()
    assert job.kind == "campaign" and job.params["waves"] == [["FSA"], ["HVA"]]
    assert AuditEntry.objects.filter(action="action", detail__startswith="campaign requested").count() == 1


def test_the_campaign_page_links_a_cluster_to_its_job(operator_client):
    from compliance.campaigns import submit_campaign

    job, _ = submit_campaign([f.cluster("HVA", nodes=3), f.cluster("HVB", nodes=3)], parallel=2)
    child = Job.objects.create(kind="remediation", title="Remediate cluster HVA", lock_key="cluster:x")
    job.steps.filter(target="HVA", is_group=False).update(data={"child_job_id": child.pk})
    page = operator_client.get(job.get_absolute_url()).content.decode()
    assert f'href="{child.get_absolute_url()}">Open job #{child.pk}</a>' in page


@pytest.mark.django_db
def test_the_command_refuses_a_host_group_and_a_bad_parallel():
    from django.core.management import call_command
    from django.core.management.base import CommandError

    f.cluster("HVA", nodes=3)
    f.cluster("HVB", nodes=3)
    f.group("Production")
    with pytest.raises(CommandError, match="--parallel must be at least 1"):
        call_command("remediate", "HVA", "HVB", "--parallel", "0")
    with pytest.raises(CommandError, match="not a cluster or host: Production"):
        call_command("remediate", "HVA", "Production", "--parallel", "2")
    with pytest.raises(CommandError, match="--order names the nodes of one cluster"):
        call_command("remediate", "HVA", "HVB", "--order", "HVA-N1")
    assert not Job.objects.exists()
