"""The recovery actions of a failed job — Resume node, Retry from the failed step, Skip the failed node
and go on: who may press them, what each leaves in the audit log, and what is refused (another job
holds the cluster; going on while a failed node is still out of service)."""
import pytest
from django.urls import reverse

from core.models import AuditEntry
from fabric.models import Host
from jobs.choices import JobStatus, StepStatus
from jobs.engine import PlanStep, submit_job
from jobs.models import Job, JobStep
from tests import factories as f

pytestmark = pytest.mark.django_db

RECORD = "tests.jobs.sample_steps.record"
DOWN = "Down in HV22, its VMs moved to HV22-N2, HV22-N3; it did not come back after its restart"


def failed_remediation(cluster, *, in_service=False, state=DOWN):
    """A remediation of `cluster` whose first node failed at its restart, as the engine leaves it."""
    first, second = cluster.nodes.order_by("name")[:2]
    plan = [PlanStep(RECORD, title=f"{title} {node.name}", target=node.name, group=node.name, params={"host_id": node.pk})
            for node in (first, second) for title in ("Pause", "Restart", "Resume")]
    job, _ = submit_job(kind="remediation", title=f"Remediate cluster {cluster.name}", target=cluster, plan=plan,
                        lock_key=f"cluster:{cluster.pk}")
    steps = list(JobStep.objects.filter(job=job, is_group=False).order_by("order"))
    JobStep.objects.filter(pk=steps[0].pk).update(status=StepStatus.SUCCEEDED)
    JobStep.objects.filter(pk=steps[1].pk).update(status=StepStatus.FAILED, message="did not come back")
    lane = JobStep.objects.get(job=job, is_group=True, title=first.name)
    JobStep.objects.filter(pk=lane.pk).update(status=StepStatus.FAILED, message=state, data={
        "node_state": state, "in_service": in_service, "resumable": not in_service, "host_id": first.pk})
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error=f"1 node(s) failed ({first.name}). {first.name} is {state}.")
    Host.objects.filter(pk=first.pk).update(failure_state=state, failure_job=job)
    job.refresh_from_db()
    lane.refresh_from_db()
    return job, lane


@pytest.fixture
def cluster():
    return f.cluster("HV22", nodes=3)


def test_the_job_page_names_the_node_state_and_offers_resume_node_to_operators(cluster, viewer_client, operator_client):
    job, lane = failed_remediation(cluster)
    seen = viewer_client.get(f"/jobs/{job.pk}/").content.decode()
    assert DOWN in seen and 'name="resume_node"' not in seen and 'name="retry"' not in seen
    page = operator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'name="resume_node"' in page and "Retry from the failed step" in page
    assert "Skip the failed node and go on" in page and "Restart</button>" not in page
    assert "Started on" not in page
    from compliance import baselines
    from compliance.models import Baseline
    from fabric.models import HostGroup

    baselines.assign(Baseline.objects.create(name="Security"), HostGroup.root())  # the Compliance view lists it
    for url in (f"/fabric/servers/{lane.data['host_id']}/", f"/fabric/clusters/{cluster.pk}/", "/compliance/"):
        assert DOWN in viewer_client.get(url).content.decode(), url


def test_a_viewer_cannot_press_any_recovery_action(cluster, viewer_client):
    job, lane = failed_remediation(cluster, in_service=True)
    assert viewer_client.post(f"/jobs/{job.pk}/resume-node/", {"lane": lane.pk}).status_code == 403
    assert viewer_client.post(f"/jobs/{job.pk}/restart/", {"skip_node": "1"}).status_code == 403
    assert viewer_client.post(f"/jobs/{job.pk}/restart/").status_code == 403
    assert Job.objects.count() == 1 and not AuditEntry.objects.filter(object_type="job").exists()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_resume_node_is_a_job_of_its_own_under_the_clusters_lock_and_audited(cluster, operator_client):
    job, lane = failed_remediation(cluster)
    response = operator_client.post(f"/jobs/{job.pk}/resume-node/", {"lane": lane.pk})
    resume = Job.objects.get(kind="resume_node")
    assert response.status_code == 302 and response.url == f"/jobs/{resume.pk}/"
    assert resume.lock_key == f"cluster:{cluster.pk}" and resume.status == JobStatus.QUEUED
    assert resume.requested_by.username == "otto" and resume.title == f"Resume node {cluster.nodes.order_by('name')[0].name}"
    assert [s.title for s in resume.steps.order_by("order")] == [
        "Resume HV22-N1 in HV22", "Bring the VMs back to HV22-N1", "Refresh the inventory"]
    entry = AuditEntry.objects.get(object_type="job", object_id=str(resume.pk))
    assert entry.username == "otto" and entry.detail == f"Resume node started after job #{job.pk} failed"
    jobs = operator_client.get("/jobs/").content.decode()
    assert f'<a href="/fabric/servers/{resume.target_id}/">HV22-N1</a>' in jobs  # the job's target is a link
    audit_log = operator_client.get(reverse("fabric:audit_list")).content.decode()
    assert f'<a href="/jobs/{resume.pk}/">#{resume.pk} Resume node HV22-N1</a>' in audit_log  # the object is a link


def test_resume_node_is_refused_while_another_job_holds_the_cluster(cluster, operator_client):
    job, lane = failed_remediation(cluster)
    other, _ = submit_job(kind="rolling_upgrade", title="Upgrade cluster HV22", plan=[PlanStep(RECORD)],
                          lock_key=f"cluster:{cluster.pk}")
    response = operator_client.post(f"/jobs/{job.pk}/resume-node/", {"lane": lane.pk}, follow=True)
    assert f"Job #{other.pk} (Upgrade cluster HV22) is active on this cluster" in response.content.decode()
    assert not Job.objects.filter(kind="resume_node").exists()
    assert not AuditEntry.objects.filter(object_type="job").exists()


def test_resume_node_is_refused_for_a_node_that_is_back_in_service(cluster, operator_client):
    job, lane = failed_remediation(cluster, in_service=True, state="Up, its VMs are back; it is still not compliant")
    response = operator_client.post(f"/jobs/{job.pk}/resume-node/", {"lane": lane.pk}, follow=True)
    assert "has no failed node that Resume node applies to" in response.content.decode()
    assert not Job.objects.filter(kind="resume_node").exists()


def test_skipping_a_node_still_out_of_service_is_refused(cluster, operator_client):
    job, lane = failed_remediation(cluster)
    response = operator_client.post(f"/jobs/{job.pk}/restart/", {"skip_node": "1"}, follow=True)
    assert "going on would take another node out while it is still out" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and not AuditEntry.objects.filter(object_type="job").exists()


def test_skip_the_failed_node_and_go_on_is_audited(cluster, operator_client):
    job, lane = failed_remediation(cluster, in_service=True, state="Up, its VMs are back; it is still not compliant")
    operator_client.post(f"/jobs/{job.pk}/restart/", {"skip_node": "1"})
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.restarts == 1
    assert set(JobStep.objects.filter(parent=lane).values_list("status", flat=True)) == {StepStatus.SUCCEEDED, StepStatus.SKIPPED}
    other_lane = JobStep.objects.exclude(pk=lane.pk).get(job=job, is_group=True)
    assert set(JobStep.objects.filter(parent=other_lane).values_list("status", flat=True)) == {StepStatus.PENDING}
    assert AuditEntry.objects.get(object_type="job").detail == "Job going on without the failed node"


def test_retry_from_the_failed_step_is_audited_and_refused_while_another_job_holds_the_cluster(cluster, operator_client):
    job, _ = failed_remediation(cluster)
    other, _ = submit_job(kind="compliance_scan", title="Busy", plan=[PlanStep(RECORD)], lock_key=f"cluster:{cluster.pk}")
    response = operator_client.post(f"/jobs/{job.pk}/restart/", follow=True)
    assert f"Job #{other.pk} (Busy) is already active" in response.content.decode()
    Job.objects.filter(pk=other.pk).update(status=JobStatus.SUCCEEDED)
    operator_client.post(f"/jobs/{job.pk}/restart/")
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert AuditEntry.objects.get(object_type="job").detail == "Job retried from the failed step"


def test_the_host_page_shows_compliance_per_baseline_missing_updates_and_recent_jobs(viewer_client):
    scanned = f.scanned_cluster("HVC7", nodes=2, compliant=("HVC7-N2",))
    missing, compliant = scanned.nodes.order_by("name")
    job, _ = submit_job(kind="remediation", title="Remediate cluster HVC7", target=scanned, plan=[PlanStep(RECORD)],
                        lock_key=f"cluster:{scanned.pk}")
    page = viewer_client.get(f"/fabric/servers/{missing.pk}/").content.decode()
    assert '<tr data-baseline="Security">' in page and "Non Compliant" in page
    assert "Missing updates (1)" in page
    assert f'<a href="/jobs/{job.pk}/">#{job.pk} Remediate cluster HVC7</a>' in page  # its cluster's job
    assert f"Remediating (job #{job.pk}, 0 %)" in page  # the job acting on it now
    page = viewer_client.get(f"/fabric/servers/{compliant.pk}/").content.decode()
    assert "Missing updates" not in page and "Compliant" in page
