"""The discovery pages and the Refresh buttons: who may use them, what they refuse, what they start."""
import pytest
from django.urls import reverse

from fabric.models import Cluster, HostGroup, RunAsAccount
from jobs.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_as(db):
    return RunAsAccount.objects.create(name="svc", username="CONTOSO\\svc-ferry", password="Very-Secret-1")


def test_only_administrators_see_the_add_pages(viewer_client, operator_client, admin_client_ferry):
    url = reverse("fabric:cluster_add")
    assert viewer_client.get(url).status_code == 403
    assert operator_client.get(url).status_code == 403
    page = admin_client_ferry.get(url)
    assert page.status_code == 200
    assert b"Add Hyper-V cluster" in page.content and b"Very-Secret-1" not in page.content


def test_plain_http_without_allow_insecure_is_refused_and_nothing_starts(admin_client_ferry, run_as):
    response = admin_client_ferry.post(reverse("fabric:cluster_add"), {
        "address": "10.0.0.5", "run_as": run_as.pk, "winrm_transport": "ntlm",  # HTTPS box left unticked
    })
    assert response.status_code == 200
    assert "exposes credentials" in response.content.decode()
    assert not Job.objects.exists()


def test_bad_address_is_refused(admin_client_ferry, run_as):
    response = admin_client_ferry.post(reverse("fabric:host_add"), {
        "address": "hv01; Restart-Computer", "run_as": run_as.pk, "winrm_https": "on", "winrm_transport": "ntlm",
    })
    assert response.status_code == 200 and "neither an IP address nor a DNS name" in response.content.decode()
    assert not Job.objects.exists()


def test_a_valid_form_starts_one_discovery_job_without_the_password(admin_client_ferry, run_as):
    group = HostGroup.objects.create(name="London", parent=HostGroup.root())
    data = {"address": "hvc01.contoso.com", "run_as": run_as.pk, "winrm_https": "on", "winrm_transport": "ntlm",
            "host_group": group.pk}
    response = admin_client_ferry.post(reverse("fabric:cluster_add"), data)
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.kind == "discovery"
    assert job.params["address"] == "hvc01.contoso.com" and job.params["host_group_id"] == group.pk
    assert job.params["kind"] == "hyperv"
    assert "Very-Secret-1" not in str(job.params)
    # The same address again while that job is active: the same job, not a second one.
    admin_client_ferry.post(reverse("fabric:cluster_add"), data)
    assert Job.objects.count() == 1


def test_refresh_is_for_operators_and_only_by_post(viewer_client, operator_client, run_as):
    cluster = Cluster.objects.create(name="HVC1", address="hvc1.contoso.com", host_group=HostGroup.root(),
                                     run_as=run_as)
    url = reverse("fabric:cluster_refresh", args=[cluster.pk])
    assert viewer_client.post(url).status_code == 403
    assert operator_client.get(url).status_code == 405
    response = operator_client.post(url)
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.kind == "refresh" and job.lock_key == f"refresh:cluster:{cluster.pk}"


def test_refresh_from_htmx_navigates_to_the_job(operator_client, run_as):
    cluster = Cluster.objects.create(name="HVC2", address="hvc2.contoso.com", host_group=HostGroup.root(),
                                     run_as=run_as)
    response = operator_client.post(reverse("fabric:cluster_refresh", args=[cluster.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"] == Job.objects.get().get_absolute_url()


@pytest.mark.parametrize("name,title", [
    ("fabric:fileserver_add", "Add Scale-Out File Server"), ("fabric:host_add", "Add Hyper-V host"),
    ("fabric:updateserver_add", "Add update server"), ("fabric:deploymentserver_discover_add", "Add deployment server"),
])
def test_every_add_page_renders(admin_client_ferry, run_as, name, title):
    page = admin_client_ferry.get(reverse(name))
    assert page.status_code == 200 and title in page.content.decode()


def test_host_form_needs_a_bmc_login_with_a_bmc_address(admin_client_ferry, run_as):
    response = admin_client_ferry.post(reverse("fabric:host_add"), {
        "address": "hv09.contoso.com", "run_as": run_as.pk, "winrm_https": "on", "winrm_transport": "ntlm",
        "bmc_address": "10.0.9.9",
    })
    assert "needs the BMC" in response.content.decode() and not Job.objects.exists()
