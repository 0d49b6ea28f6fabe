"""The Jobs list as an operator reads it: kinds by name, % on every progress bar coloured by
status, why a job failed, labelled filters, sorting, a count and a CSV export."""
import csv
import io

import pytest
from django.urls import reverse

from jobs.choices import JobStatus
from jobs.models import Job
from tests.jobs.test_views import make_job

pytestmark = pytest.mark.django_db

WHY = ("Node hv02 did not come back after its restart within 30 minutes; its BMC says it is powered "
       "on. Check the console of hv02, then restart the job.")


def set_state(job, **fields):
    Job.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    return job


@pytest.fixture
def jobs(operator):
    return {
        "scan": set_state(make_job("Scan cluster HVC1", kind="compliance_scan"),
                          target_label="HVC1", status=JobStatus.SUCCEEDED, progress=100),
        "remediate": set_state(make_job("Remediate cluster HVC2", kind="remediation", requested_by=operator),
                               target_label="HVC2", status=JobStatus.FAILED, progress=40, error=WHY),
        "upgrade": set_state(make_job("Upgrade cluster HVC3", kind="rolling_upgrade"),
                             target_label="HVC3", status=JobStatus.RUNNING, progress=7),
    }


def row(page: str, job) -> str:
    start = page.index(f'id="job-row-{job.pk}"')
    return page[start:page.index("</tr>", start)]


def export(client, **params):
    response = client.get(reverse("jobs:job_list"), {**params, "_export": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_kinds_have_names_and_every_bar_its_percentage_and_status_colour(viewer_client, jobs):
    page = viewer_client.get(reverse("jobs:job_list")).content.decode()
    assert "3 jobs" in page
    scan, remediate, upgrade = row(page, jobs["scan"]), row(page, jobs["remediate"]), row(page, jobs["upgrade"])
    assert "<td>Compliance scan</td>" in scan and "compliance_scan" not in scan
    assert "<td>Remediation</td>" in remediate and "<td>Cluster upgrade</td>" in upgrade
    assert 'class="progress succeeded"' in scan and "100%</span>" in scan
    assert 'class="progress failed"' in remediate and 'aria-valuenow="40"' in remediate and "40%</span>" in remediate
    assert 'class="progress running"' in upgrade and "7%</span>" in upgrade


def test_a_failed_job_says_why_shortened_with_the_whole_reason_on_hover(viewer_client, jobs):
    page = viewer_client.get(reverse("jobs:job_list")).content.decode()
    failed = row(page, jobs["remediate"])
    assert "Failure reason" in page
    assert f'<span class="failure-reason failed" title="{WHY}">{WHY[:79]}…</span>' in failed
    assert "failure-reason" not in row(page, jobs["scan"])


def test_filters_have_labels_and_filter_by_kind_status_target_and_who_started(viewer_client, operator, jobs):
    url = reverse("jobs:job_list")
    page = viewer_client.get(url).content.decode()
    for label, name in (("Status", "status"), ("Kind", "kind"), ("Target", "target"), ("Started by", "requested_by")):
        assert f'<label class="filter">{label} <' in page and f'name="{name}"' in page
    assert '<option value="rolling_upgrade">Cluster upgrade</option>' in page

    def titles(**params):
        return [r[1] for r in export(viewer_client, **params)[1:]]

    assert titles(kind="compliance_scan") == ["Scan cluster HVC1"]
    assert titles(status="failed") == ["Remediate cluster HVC2"]
    assert sorted(titles(status="finished")) == ["Remediate cluster HVC2", "Scan cluster HVC1"]
    assert titles(status="active") == ["Upgrade cluster HVC3"]
    assert titles(target="hvc3") == ["Upgrade cluster HVC3"]
    assert titles(requested_by=operator.pk) == ["Remediate cluster HVC2"]
    assert sorted(titles(requested_by="null")) == ["Scan cluster HVC1", "Upgrade cluster HVC3"]  # the system
    assert f"job-row-{jobs['remediate'].pk}" in viewer_client.get(url, {"kind": "remediation"}).content.decode()


def test_the_list_sorts_by_its_columns(viewer_client, jobs):
    by_progress = [r[1] for r in export(viewer_client, sort="progress")[1:]]
    assert by_progress == ["Upgrade cluster HVC3", "Remediate cluster HVC2", "Scan cluster HVC1"]
    by_kind = [r[2] for r in export(viewer_client, sort="-kind")[1:]]
    assert by_kind == ["Cluster upgrade", "Remediation", "Compliance scan"]
    page = viewer_client.get(reverse("jobs:job_list"), {"sort": "progress"}).content.decode()
    assert page.index(f"job-row-{jobs['upgrade'].pk}") < page.index(f"job-row-{jobs['scan'].pk}")
    assert 'href="?sort=-progress"' in page  # the header now sorts the other way
    assert 'ws-connect="/ws/jobs/?sort=progress&amp;view=list"' in page  # live updates keep the order


def test_csv_export_holds_what_the_page_shows(viewer_client, operator, jobs):
    rows = export(viewer_client, status="failed")
    assert rows[0] == ["#", "Job", "Kind", "Status", "Progress", "Failure reason", "Target", "Started by", "Started",
                       "Duration"]
    assert rows[1][:8] == [str(jobs["remediate"].pk), "Remediate cluster HVC2", "Remediation", "Failed", "40%", WHY,
                           "HVC2", operator.username]


def test_whoever_may_not_see_jobs_cannot_export_them(client, make_user, jobs):
    client.force_login(make_user("nobody", role=None))
    response = client.get(reverse("jobs:job_list"), {"_export": "csv"})
    assert response.status_code == 403 and b"HVC2" not in response.content


def test_sorting_or_filtering_in_place_brings_a_socket_that_follows_the_new_view(viewer_client, jobs):
    response = viewer_client.get(reverse("jobs:job_list"), {"sort": "-progress", "kind": "remediation"},
                                 headers={"HX-Request": "true", "HX-Target": "results"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="results"') and "<html" not in body
    assert 'ws-connect="/ws/jobs/?kind=remediation&amp;sort=-progress&amp;view=list"' in body
    assert f"job-row-{jobs['remediate'].pk}" in body and f"job-row-{jobs['scan'].pk}" not in body
