"""Update Version on a cluster upgraded behind Ferry's back, and mixed mode on the cluster page."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from core.models import AuditEntry
from fabric.inventory import discover_cluster
from fabric.models import Cluster
from jobs.engine.runner import run_job
from jobs.models import Job
from tests.agents.conftest import https_target

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.lab]


def test_update_version_from_the_cluster_page(lab, lab_run_as, operator_client, viewer_client):
    cluster = discover_cluster(run_as=lab_run_as, **https_target(lab, "UPC22"))
    assert cluster.functional_level == 10 and cluster.mixed_mode_since is not None   # 2022 nodes, level of 2019
    page = cluster.get_absolute_url()
    assert 'id="update-version"' not in viewer_client.get(page).content.decode()
    html = operator_client.get(page).content.decode()
    assert "Mixed mode since" in html and "Update Version" in html and "raises it to 11" in html

    response = operator_client.post(reverse("upgrades:update_version", args=[cluster.pk]))
    job = Job.objects.get(kind="update_version")
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    rows = list(AuditEntry.objects.filter(detail__startswith="update version requested"))
    assert len(rows) == 1 and (rows[0].username, rows[0].source_address) == ("otto", "127.0.0.1")
    assert rows[0].object_id == str(job.pk) and "from functional level 10 to 11" in rows[0].detail
    again = operator_client.post(reverse("upgrades:update_version", args=[cluster.pk]))
    assert again["Location"] == job.get_absolute_url() and Job.objects.count() == 1   # one active job per cluster

    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    steps = list(job.steps.filter(is_group=False).order_by("order").values_list("name", "status"))
    assert steps == [("upgrades.check_functional_level", "succeeded"), ("upgrades.raise_functional_level", "succeeded"),
                     ("upgrades.refresh_cluster", "succeeded")]
    cluster.refresh_from_db()
    assert cluster.functional_level == 11 and cluster.mixed_mode_since is None
    assert lab.run_json("U22-N1", "(Get-Cluster).ClusterFunctionalLevel | ConvertTo-Json") == 11
    assert 'id="update-version"' not in operator_client.get(page).content.decode()


def test_update_version_is_refused_while_a_node_runs_the_old_release(lab, lab_run_as, operator_client):
    cluster = discover_cluster(run_as=lab_run_as, **https_target(lab, "MIX"))
    html = operator_client.get(cluster.get_absolute_url()).content.decode()
    assert "Mixed mode since" in html and "build 17763" in html and "build 20348" in html
    assert 'id="update-version"' not in html
    response = operator_client.post(reverse("upgrades:update_version", args=[cluster.pk]), follow=True)
    assert "M-N1 does not" in response.content.decode() and not Job.objects.exists()
    with pytest.raises(CommandError, match="M-N1 does not"):
        call_command("update_version", "MIX", stdout=StringIO())
    assert lab.run_json("M-N1", "(Get-Cluster).ClusterFunctionalLevel | ConvertTo-Json") == 10


def test_update_version_from_the_command_line(lab, lab_run_as, monkeypatch):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)      # the job runs inline, as a worker would run it
    discover_cluster(run_as=lab_run_as, **https_target(lab, "UPC22"))
    out = StringIO()
    call_command("update_version", "upc22", "--wait", stdout=out)
    assert "succeeded" in out.getvalue()
    assert Cluster.objects.get(name="UPC22").functional_level == 11
    assert AuditEntry.objects.filter(detail__contains="update version requested: UPC22").exists()
    with pytest.raises(CommandError, match="No Hyper-V cluster"):
        call_command("update_version", "NOPE", stdout=StringIO())
