"""The Jobs workspace over HTTP: list, job page, polling fallback, cancel/restart and who may."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import AuditEntry
from jobs.choices import JobStatus, StepStatus
from jobs.engine import PlanStep, submit_job
from jobs.models import Job, JobStep

pytestmark = pytest.mark.django_db

RECORD = "tests.jobs.sample_steps.record"


def make_job(title="Remediate hv-a", status=None, **kwargs):
    plan = [
        PlanStep(RECORD, title="Pause hv01", group="hv01", params={"key": "p1"}),
        PlanStep(RECORD, title="Patch hv01", group="hv01", params={"key": "u1"}),
        PlanStep(RECORD, title="Pause hv02", group="hv02", params={"key": "p2"}),
    ]
    job, _ = submit_job(kind=kwargs.pop("kind", "remediation"), title=title, plan=plan, **kwargs)
    if status:
        Job.objects.filter(pk=job.pk).update(status=status)
        job.refresh_from_db()
    return job


def test_pages_need_a_login(client):
    job = make_job()
    for url in ("/jobs/", f"/jobs/{job.pk}/", f"/jobs/{job.pk}/live/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/")


def test_a_user_without_a_role_is_refused(client, make_user):
    job = make_job()
    client.force_login(make_user("nobody", role=None))
    assert client.get("/jobs/").status_code == 403
    assert client.get(f"/jobs/{job.pk}/").status_code == 403


def test_job_list_shows_jobs_and_filters_them(viewer_client, operator):
    running = make_job("Remediate hv-a", status=JobStatus.RUNNING, requested_by=operator)
    done = make_job("Scan all hosts", status=JobStatus.SUCCEEDED, kind="scan")
    page = viewer_client.get("/jobs/").content.decode()
    assert f'id="job-row-{running.pk}"' in page and f'id="job-row-{done.pk}"' in page
    assert 'ws-connect="/ws/jobs/?view=list"' in page
    assert "1 job running" in page  # the indicator
    active = viewer_client.get("/jobs/?status=active").content.decode()
    assert f'job-row-{running.pk}"' in active and f'job-row-{done.pk}"' not in active
    assert 'ws-connect="/ws/jobs/?status=active&amp;view=list"' in active
    by_kind = viewer_client.get("/jobs/?kind=scan").content.decode()
    assert f'job-row-{done.pk}"' in by_kind and f'job-row-{running.pk}"' not in by_kind
    search = viewer_client.get("/jobs/?q=hv-a").content.decode()
    assert f'job-row-{running.pk}"' in search and f'job-row-{done.pk}"' not in search


def test_job_list_htmx_request_gets_only_the_table(viewer_client):
    make_job()
    response = viewer_client.get("/jobs/", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="job-table"') and "<html" not in body


def test_job_list_query_count_is_flat(viewer_client):
    for n in range(12):
        make_job(f"Early {n}")
    with CaptureQueriesContext(connection) as few:
        viewer_client.get("/jobs/")
    for n in range(30):
        make_job(f"Job {n}")
    with CaptureQueriesContext(connection) as many:
        viewer_client.get("/jobs/")
    assert len(many) == len(few) <= 20


def test_job_page_shows_swimlanes_log_and_live_socket(viewer_client):
    job = make_job()
    page = viewer_client.get(f"/jobs/{job.pk}/").content.decode()
    lanes = JobStep.objects.filter(job=job, is_group=True)
    for lane in lanes:
        assert f'id="step-{lane.pk}" class="step pending lane-head"' in page
    for step in JobStep.objects.filter(job=job, is_group=False):
        assert f'id="step-{step.pk}"' in page
    assert f'ws-connect="/ws/jobs/{job.pk}/"' in page
    assert page.count("ws-connect=") == 1  # the indicator shares the job page's socket
    assert "Queued by the system with 3 steps." in page
    assert 'id="job-header"' in page and 'data-status="queued"' in page


def test_viewer_sees_no_buttons_operator_does(viewer_client, operator_client):
    job = make_job(status=JobStatus.RUNNING)
    assert b'name="cancel"' not in viewer_client.get(f"/jobs/{job.pk}/").content
    assert b'name="cancel"' in operator_client.get(f"/jobs/{job.pk}/").content


def test_polling_fallback_stops_with_286_when_the_job_ended(viewer_client):
    job = make_job(status=JobStatus.RUNNING)
    live = viewer_client.get(f"/jobs/{job.pk}/live/")
    assert live.status_code == 200 and b'id="job-header"' in live.content and b"<html" not in live.content
    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
    last = viewer_client.get(f"/jobs/{job.pk}/live/")
    assert last.status_code == 286 and b'id="job-header"' in last.content  # the final state still shown


def test_viewer_cannot_cancel_or_restart(viewer_client):
    job = make_job(status=JobStatus.RUNNING)
    assert viewer_client.post(f"/jobs/{job.pk}/cancel/").status_code == 403
    assert viewer_client.post(f"/jobs/{job.pk}/restart/").status_code == 403
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and not job.cancel_requested


def test_operator_cancels_and_it_is_audited(operator_client):
    job = make_job(status=JobStatus.RUNNING)
    response = operator_client.post(f"/jobs/{job.pk}/cancel/")
    assert response.status_code == 302 and response.url == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLING and job.cancel_requested_by.username == "otto"
    entry = AuditEntry.objects.get(object_type="job", object_id=str(job.pk))
    assert entry.username == "otto" and entry.detail == "Job cancel requested"
    page = operator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "requested by otto; the job stops at its next safe point" in page


def test_operator_restarts_skipping_the_failed_step(operator_client):
    job = make_job(status=JobStatus.FAILED)
    failed = JobStep.objects.filter(job=job, is_group=False).order_by("order")[1]
    JobStep.objects.filter(pk=failed.pk).update(status=StepStatus.FAILED, message="boom")
    page = operator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'name="retry"' in page and "Retry from the failed step" in page
    operator_client.post(f"/jobs/{job.pk}/restart/", {"skip_failed": "1"})
    job.refresh_from_db()
    failed.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.restarts == 1
    assert failed.status == StepStatus.SKIPPED
    assert AuditEntry.objects.filter(detail="Job restarted skipping the failed step").exists()


def test_live_renders_carry_no_csrf_token_and_post_with_the_pages_token(operator):
    """The job header is rendered once for every viewer and pushed over the socket: no user's token
    may be in it. Its buttons post through htmx with the token of the page they sit on."""
    from django.test import Client

    from jobs.live.render import job_frames

    job = make_job(status=JobStatus.RUNNING)
    _, frame = job_frames(job.pk, since=0, wanted=0, can_operate=True)
    assert 'name="cancel"' in frame and "csrfmiddlewaretoken" not in frame
    assert f'hx-post="/jobs/{job.pk}/cancel/"' in frame

    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    token = page.split('"X-CSRFToken": "', 1)[1].split('"', 1)[0]
    assert client.post(f"/jobs/{job.pk}/cancel/", HTTP_HX_REQUEST="true").status_code == 403  # no token: refused
    response = client.post(f"/jobs/{job.pk}/cancel/", HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200 and response["HX-Redirect"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLING


def test_restarting_a_running_job_is_refused_with_a_message(operator_client):
    job = make_job(status=JobStatus.RUNNING)
    response = operator_client.post(f"/jobs/{job.pk}/restart/", follow=True)
    assert "Only a failed or cancelled job can be restarted" in response.content.decode()


def test_every_page_shows_the_running_jobs_indicator(viewer_client):
    make_job(status=JobStatus.RUNNING)
    make_job("Second", status=JobStatus.QUEUED)
    page = viewer_client.get("/fabric/servers/").content.decode()
    assert 'id="running-jobs"' in page and 'data-count="2"' in page and "2 jobs running" in page
    assert 'ws-connect="/ws/jobs/"' in page


def test_the_reaper_is_scheduled_by_a_migration():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="jobs.tasks.reap_expired_jobs")
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1 and schedule.repeats == -1
