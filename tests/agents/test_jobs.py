"""Discovery and refresh started from the pages run as jobs: the job's step does the same work."""
import pytest

from fabric.inventory.jobs import submit_discovery, submit_refresh
from fabric.models import Cluster
from jobs.engine.runner import run_job
from jobs.models import Job
from tests.agents.conftest import https_target

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.lab]


def test_discovery_and_refresh_jobs(lab, lab_run_as):
    target = https_target(lab, "A19-N1")
    job, created = submit_discovery("cluster", {
        "address": target["address"], "run_as_id": lab_run_as.pk, "port": target["port"], "https": True,
        "transport": "ntlm", "ca_path": target["ca_path"], "allow_insecure": False, "kind": "hyperv",
    })
    assert created
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    cluster = Cluster.objects.get(name="ACL19")
    assert cluster.nodes.count() == 3

    refresh, _ = submit_refresh(cluster)
    run_job(refresh.pk)
    refresh.refresh_from_db()
    assert refresh.status == "succeeded", refresh.error


def test_a_failed_discovery_job_says_why(lab, lab_run_as):
    job, _ = submit_discovery("host", {"address": "127.0.10.230", "run_as_id": lab_run_as.pk,
                                       "port": https_target(lab, "A19-N1")["port"], "https": True,
                                       "transport": "ntlm", "ca_path": "", "allow_insecure": False})
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    step = job.steps.filter(is_group=False).get()
    assert "refused" in (step.message or "") + (job.error or "")
    assert not Job.objects.exclude(pk=job.pk).exists()
