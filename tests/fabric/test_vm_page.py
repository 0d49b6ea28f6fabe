"""The VM page: where the VM runs and its recent moves as the jobs logged them; VM names link to it."""
import pytest

from jobs.engine import PlanStep, submit_job
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_the_vm_page_shows_its_node_and_its_recent_moves(viewer_client):
    cluster = f.cluster("HV22", nodes=2)
    first, second = cluster.nodes.order_by("name")
    vm = f.vm("web1", second)
    f.vm("web10", first)
    job, _ = submit_job(kind="remediation", title="Remediate cluster HV22", target=cluster,
                        plan=[PlanStep("tests.jobs.sample_steps.record")])
    job.write_log("web1 (8.0 GiB) is on HV22-N2.")
    job.write_log("web10 (8.0 GiB) is on HV22-N1.")
    job.write_log("VM web1 could not be live-migrated from HV22-N2 to HV22-N1: out of memory")
    page = viewer_client.get(f"/fabric/vms/{vm.pk}/").content.decode()
    assert f'href="/fabric/servers/{second.pk}/" data-vm-host>HV22-N2</a>' in page
    assert "web1 (8.0 GiB) is on HV22-N2." in page and "could not be live-migrated" in page
    assert "web10 (8.0 GiB)" not in page
    assert f'href="/jobs/{job.pk}/"' in page
    assert f'href="/fabric/vms/{vm.pk}/"' in viewer_client.get(f"/fabric/clusters/{cluster.pk}/").content.decode()


def test_an_unknown_vm_is_a_404(viewer_client):
    assert viewer_client.get("/fabric/vms/999/").status_code == 404
