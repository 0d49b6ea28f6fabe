"""Run reports (page and CSV) and the running job's ETA, from the steps' history."""
import csv
import io
from datetime import timedelta

from django.utils import timezone

from jobs.choices import JobStatus, StepStatus
from jobs.eta import estimate
from jobs.models import Job, JobStep
from tests.jobs.test_views import make_job


def _finish(job, durations, *, status=JobStatus.SUCCEEDED, end=None):
    """Give each leaf step of `job` (in order) a run of the given seconds, one after the other."""
    end = end or timezone.now()
    leaves = list(JobStep.objects.filter(job=job, is_group=False).order_by("order"))
    start = end - timedelta(seconds=sum(durations))
    for step, seconds in zip(leaves, durations):
        JobStep.objects.filter(pk=step.pk).update(status=StepStatus.SUCCEEDED, started=start,
                                                  finished=start + timedelta(seconds=seconds))
        start += timedelta(seconds=seconds)
    Job.objects.filter(pk=job.pk).update(status=status, started=end - timedelta(seconds=sum(durations)), finished=end)
    job.refresh_from_db()
    return job


def test_eta_says_no_history_yet_for_a_first_run(db):
    job = make_job(status=JobStatus.RUNNING, lock_key="cluster:1")
    eta = estimate(job)
    assert eta is not None and not eta.known and eta.unknown_steps == 3


def test_eta_comes_from_the_same_steps_on_the_same_cluster_first(db):
    past = make_job(lock_key="cluster:1")
    _finish(past, [60, 60, 60], end=timezone.now() - timedelta(hours=1))
    elsewhere = make_job(lock_key="cluster:2")
    _finish(elsewhere, [600, 600, 600], end=timezone.now() - timedelta(minutes=30))
    job = make_job(status=JobStatus.RUNNING, lock_key="cluster:1")
    now = timezone.now()
    assert estimate(job, now).remaining == timedelta(seconds=180)
    # one step done, the next one half way: 30 s of it and 60 s of the last
    first, second, _ = JobStep.objects.filter(job=job, is_group=False).order_by("order")
    JobStep.objects.filter(pk=first.pk).update(status=StepStatus.SUCCEEDED, started=now - timedelta(seconds=90),
                                               finished=now - timedelta(seconds=30))
    JobStep.objects.filter(pk=second.pk).update(status=StepStatus.RUNNING, started=now - timedelta(seconds=30))
    eta = estimate(job, now)
    assert eta.remaining == timedelta(seconds=90) and eta.finish == now + timedelta(seconds=90)


def test_eta_falls_back_to_the_same_kind_of_step_elsewhere(db, client, operator):
    _finish(make_job(lock_key="cluster:2"), [600, 600, 600], end=timezone.now() - timedelta(minutes=30))
    job = make_job(status=JobStatus.RUNNING, lock_key="cluster:3")
    assert estimate(job).remaining == timedelta(seconds=1800)
    client.force_login(operator)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "about 30 min left" in page and "ETA " in page
    _finish(job, [600, 600, 600])
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "min left" not in page and f"/jobs/{job.pk}/report/" in page  # a finished job has its report instead


def test_report_lists_each_nodes_steps_moves_updates_and_failures(db, viewer_client):
    job = make_job(lock_key="cluster:1")
    _finish(job, [5, 7, 9], status=JobStatus.FAILED)
    pause1, patch1, pause2 = JobStep.objects.filter(job=job, is_group=False).order_by("order")
    JobStep.objects.filter(pk=pause1.pk).update(data={"moved": {"id-1": ["hv02", 1024, "web-1"]},
                                                      "saved": {"id-2": "db-1"}})
    JobStep.objects.filter(pk=patch1.pk).update(data={"installed": [{"id": "u-1", "kb": "5031234"}]})
    JobStep.objects.filter(pk=pause2.pk).update(status=StepStatus.FAILED, message="=HYPERLINK(\"x\") refused")
    job.write_log("hv02 could not be paused", "error", step=pause2)

    page = viewer_client.get(f"/jobs/{job.pk}/report/").content.decode()
    assert "web-1 → hv02" in page and "KB5031234" in page and "hv02 could not be paused" in page
    assert "Pause hv02 failed:" in page

    response = viewer_client.get(f"/jobs/{job.pk}/report.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["node"], r["step"], r["status"], r["seconds"]) for r in rows] == [
        ("hv01", "Pause hv01", "succeeded", "5"), ("hv01", "Patch hv01", "succeeded", "7"),
        ("hv02", "Pause hv02", "failed", "9")]
    assert rows[0]["vms_moved"] == "web-1 -> hv02" and rows[0]["vms_saved"] == "db-1"
    assert rows[1]["updates_installed"] == "KB5031234"
    assert rows[2]["message"].startswith("'=HYPERLINK")  # never a formula in a spreadsheet


def test_a_running_job_has_no_report_yet_and_a_viewer_needs_the_role(db, client, viewer_client, make_user):
    job = make_job(status=JobStatus.RUNNING)
    assert viewer_client.get(f"/jobs/{job.pk}/report/").status_code == 404
    assert viewer_client.get(f"/jobs/{job.pk}/report.csv").status_code == 404
    done = _finish(make_job(), [1, 1, 1])
    client.force_login(make_user("nobody", role=None))
    assert client.get(f"/jobs/{done.pk}/report/").status_code == 403
    assert client.get(f"/jobs/{done.pk}/report.csv").status_code == 403


def test_while_a_job_waits_for_its_maintenance_window_the_eta_promises_no_time_of_day(db, client, operator):
    _finish(make_job(lock_key="cluster:4"), [60, 60, 60], end=timezone.now() - timedelta(hours=1))
    job = make_job(status=JobStatus.RUNNING, lock_key="cluster:4")
    first = JobStep.objects.filter(job=job, is_group=False).order_by("order").first()
    JobStep.objects.filter(pk=first.pk).update(
        status=StepStatus.RUNNING, started=timezone.now() - timedelta(hours=5),
        waiting_for="the maintenance window to open (Thu 02:00)", message="Paused until Thu 02:00 (maintenance window)")
    eta = estimate(job)
    # five hours of waiting do not count as work done: the whole plan is still ahead, after the window opens
    assert eta.finish is None and eta.remaining == timedelta(seconds=180)
    assert eta.paused == "Paused until Thu 02:00 (maintenance window)"
    client.force_login(operator)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Paused until Thu 02:00 (maintenance window); then about 3 min of work" in page
    assert "min left" not in page
