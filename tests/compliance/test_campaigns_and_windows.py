"""Campaign waves from the VMs' storage paths, and maintenance windows (inheritance, time zones,
midnight), without the lab."""
from datetime import datetime
from datetime import time as day_time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from compliance.campaigns import CampaignError, plan_waves, submit_campaign
from compliance.campaigns.planning import share_of
from fabric import maintenance
from fabric.choices import ClusterKind
from fabric.models import FileShare, MaintenanceWindow
from jobs.models import Job
from tests import factories as f

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")


def _file_server(name, scope, share):
    sofs = f.cluster(name, nodes=3)
    sofs.kind = ClusterKind.SOFS
    sofs.save()
    FileShare.objects.create(cluster=sofs, name=share, scope_name=scope, path=f"C:\\ClusterStorage\\Volume1\\{share}")
    return sofs


@pytest.mark.django_db
def test_the_file_server_holding_a_clusters_vms_goes_in_an_earlier_wave():
    sofs = _file_server("FSC", "SOFS01", "VMStore")
    other_sofs = _file_server("FSX", "SOFS02", "Library")
    hv = f.cluster("HVA", nodes=3)
    lone = f.cluster("HVB", nodes=3)
    on_share = f.vm("app1", hv.nodes.first())
    on_share.storage_path = "\\\\sofs01.contoso.com\\vmstore\\app1"   # case and FQDN do not matter
    on_share.save()
    local = f.vm("app2", lone.nodes.first())
    local.storage_path = "C:\\ClusterStorage\\Volume1\\app2"
    local.save()
    waves = plan_waves([hv, lone, sofs, other_sofs])
    assert [w.names for w in waves] == [["FSC", "FSX", "HVB"], ["HVA"]]
    assert plan_waves([hv, lone])[0].names == ["HVA", "HVB"]   # the file server is not in the campaign
    assert share_of("\\\\SOFS01\\VMStore\\x") == ("sofs01", "vmstore") and share_of("D:\\Hyper-V") is None


@pytest.mark.django_db
def test_a_campaign_is_one_parent_job_with_a_lane_per_cluster_in_waves():
    sofs = _file_server("FSC", "SOFS01", "VMStore")
    hv = f.cluster("HVA", nodes=3)
    vm = f.vm("app1", hv.nodes.first())
    vm.storage_path = "\\\\SOFS01\\VMStore\\app1"
    vm.save()
    job, _ = submit_campaign([hv, sofs], parallel=3, max_failed_clusters=1)
    assert job.kind == "campaign" and job.lock_key == ""      # the parent holds no cluster's lock
    steps = list(job.steps.filter(is_group=False).order_by("order"))
    assert [(s.target, s.parallel_group, s.max_parallel) for s in steps] == [("FSC", "wave-1", 3), ("HVA", "wave-2", 3)]
    assert job.failure_policy == {"max_failed_nodes": 1}
    assert job.params["waves"] == [["FSC"], ["HVA"]]


@pytest.mark.django_db
def test_a_campaign_that_does_not_fit_saves_nothing():
    small = f.cluster("TWO", nodes=2)   # no node can leave without losing quorum
    with pytest.raises(CampaignError, match="TWO: Quorum would be lost"):
        submit_campaign([small, f.cluster("OK", nodes=3)])
    with pytest.raises(CampaignError, match="at least 1"):
        submit_campaign([f.cluster("OK2", nodes=3)], parallel=0)
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_windows_are_inherited_host_then_cluster_then_host_group():
    parent = f.group("Berlin")
    child = f.group("Rack 1", parent=parent)
    hv = f.cluster("HVA", host_group=child, nodes=3)
    node = hv.nodes.first()
    lone = f.host("SA1", host_group=child)
    assert maintenance.for_host(node).unrestricted
    MaintenanceWindow.objects.create(host_group=parent, weekday=6, start=day_time(1), end=day_time(5))
    assert maintenance.for_host(lone).source == "host group All Hosts › Berlin"
    assert maintenance.for_host(node).source == "host group All Hosts › Berlin"
    MaintenanceWindow.objects.create(cluster=hv, weekday=5, start=day_time(2), end=day_time(4))
    assert maintenance.for_host(node).source == "cluster HVA"
    MaintenanceWindow.objects.create(host=node, weekday=2, start=day_time(22), end=day_time(1))
    assert maintenance.for_host(node).source == f"host {node.name}"
    assert maintenance.for_host(lone).source == "host group All Hosts › Berlin"


@pytest.mark.django_db
def test_a_window_in_a_time_zone_across_midnight():
    hv = f.cluster("HVA", nodes=3)
    MaintenanceWindow.objects.create(cluster=hv, weekday=5, start=day_time(23), end=day_time(2),
                                     time_zone="Europe/Berlin")   # Saturday 23:00 to Sunday 02:00
    windows = maintenance.for_cluster(hv)
    assert windows.is_open(datetime(2026, 12, 13, 1, 30, tzinfo=BERLIN))           # Sunday 01:30 Berlin
    assert windows.is_open(datetime(2026, 12, 12, 22, 30, tzinfo=UTC))             # = Saturday 23:30 Berlin
    assert not windows.is_open(datetime(2026, 12, 13, 2, 0, tzinfo=BERLIN))
    closed = datetime(2026, 12, 14, 9, 0, tzinfo=BERLIN)                            # Monday
    assert windows.next_opening(closed) == datetime(2026, 12, 19, 23, 0, tzinfo=BERLIN)
    assert maintenance.pause_reason(windows, closed) == "paused until Sat 23:00 (maintenance window)"
    assert windows.closes_at(datetime(2026, 12, 13, 1, 0, tzinfo=BERLIN)) == datetime(2026, 12, 13, 2, 0, tzinfo=BERLIN)


@pytest.mark.django_db
def test_a_window_refuses_an_unknown_time_zone_and_a_missing_scope():
    hv = f.cluster("HVA", nodes=3)
    window = MaintenanceWindow(cluster=hv, weekday=5, start=day_time(2), end=day_time(4), time_zone="Mars/Olympus")
    with pytest.raises(ValidationError, match="not a time zone"):
        window.full_clean()
    assert not MaintenanceWindow.objects.exists()
    with pytest.raises(ValidationError):
        MaintenanceWindow(weekday=5, start=day_time(2), end=day_time(4)).full_clean()


@pytest.mark.django_db(transaction=True)
def test_a_campaign_starts_no_new_cluster_once_its_failure_policy_is_spent(settings):
    from jobs.engine.runner import run_job
    from tests.jobs.conftest import FAST

    settings.FERRY_JOBS = dict(FAST)
    first, second, third = (f.cluster(n, nodes=3) for n in ("HVA", "HVB", "HVC"))
    job, _ = submit_campaign([first, second, third], parallel=1, max_failed_clusters=0)
    lane = job.steps.get(target="HVA", is_group=False)
    # HVA's job was started (by this step, before a worker died) and failed on its own
    Job.objects.create(kind="remediation", title="Remediate cluster HVA", status="failed", error="HVA-N2 failed",
                       params={"campaign_step": lane.pk})
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "HVA" in job.error
    steps = {s.target: s for s in job.steps.filter(is_group=False)}
    assert steps["HVA"].status == "failed" and "HVA-N2 failed" in steps["HVA"].message
    for name in ("HVB", "HVC"):
        assert steps[name].status == "skipped" and steps[name].message.startswith("Not started: 1 cluster(s) failed")
    assert Job.objects.filter(kind="remediation").count() == 1     # no cluster job started after the failure


@pytest.mark.django_db
def test_a_standalone_host_on_a_file_server_share_goes_after_it_and_a_node_is_refused():
    sofs = _file_server("FSC", "SOFS01", "VMStore")
    lone = f.host("SA1")
    vm = f.vm("sa-app", lone, highly_available=False)
    vm.storage_path = "\\\\SOFS01\\VMStore\\sa-app"
    vm.save()
    waves = plan_waves([lone, sofs])
    assert [w.names for w in waves] == [["FSC"], ["SA1"]]
    job, _ = submit_campaign([lone, sofs], parallel=2)
    steps = list(job.steps.filter(is_group=False).order_by("order"))
    assert [(s.title, s.params) for s in steps] == [("Remediate cluster FSC", {"cluster_id": sofs.pk, "wave": 1}),
                                                     ("Remediate host SA1", {"host_id": lone.pk, "wave": 2})]
    hv = f.cluster("HVA", nodes=3)
    with pytest.raises(CampaignError, match="is a node of HVA: put the cluster in the campaign"):
        submit_campaign([hv.nodes.first(), sofs])


@pytest.mark.django_db
def test_a_campaign_lane_says_what_its_cluster_job_waits_for():
    from compliance.steps.campaign import child_activity
    from jobs.choices import StepStatus
    from jobs.models import JobStep
    from tests.jobs.test_views import make_job

    child = make_job("Upgrade cluster RU to Windows Server 2022")
    assert child_activity(child) == ""  # nothing running yet
    step = JobStep.objects.filter(job=child, is_group=False).order_by("order")[1]
    JobStep.objects.filter(pk=step.pk).update(status=StepStatus.RUNNING,
                                              message="Paused until Thu 02:00 (maintenance window)")
    assert child_activity(child) == "Patch hv01 — Paused until Thu 02:00 (maintenance window)"
