"""POST /api/campaigns/: several clusters as one campaign, through the dialog's waves, dry runs and
`submit_campaign`, without machines."""
import pytest

from api import serializers as s
from core.models import AuditEntry
from fabric.choices import ClusterKind
from fabric.models import Cluster, FileShare
from jobs.models import Job
from tests import factories as f

from .conftest import Api, token_for

pytestmark = pytest.mark.django_db

URL = "/api/campaigns/"


@pytest.fixture
def share_and_its_vms():
    """HVA's VMs live on a share of the file server FSA: FSA goes first."""
    hv = f.scanned_cluster("HVA", nodes=3)
    sofs = f.scanned_cluster("FSA", nodes=3, vms_per_node=0)
    sofs.kind = ClusterKind.SOFS
    sofs.save()
    FileShare.objects.create(cluster=sofs, name="VMs", scope_name="SOFSA", path="C:\\ClusterStorage\\Volume1\\VMs")
    hv.vms.update(storage_path="\\\\sofsa.contoso.com\\VMs\\vm")
    return hv, sofs


def test_a_viewer_may_not_start_a_campaign(viewer, share_and_its_vms):
    hv, sofs = share_and_its_vms
    response = Api(token_for(viewer)).post(URL, {"clusters": [hv.pk, sofs.pk], "dry_run": True})
    assert response.status_code == 403 and "operator" in response.json()["detail"]
    assert not Job.objects.exists()


def test_the_dry_run_puts_the_file_server_before_the_cluster_whose_vms_it_holds(operator, share_and_its_vms):
    hv, sofs = share_and_its_vms
    before = AuditEntry.objects.count()
    response = Api(token_for(operator)).post(URL, {"clusters": [hv.pk, sofs.pk], "parallel": 3, "dry_run": True})
    assert response.status_code == 200, response.content
    plan = response.json()
    assert set(plan) == set(s.CampaignPlanSerializer().fields)
    assert plan["waves"] == [["FSA"], ["HVA"]]
    assert plan["fits"] and plan["problems"] == [] and plan["parallel"] == 3 and plan["max_failed_clusters"] == 0
    by_name = {c["cluster"]: c for c in plan["clusters"]}
    assert set(by_name["HVA"]) == set(s.CampaignClusterPlanSerializer().fields)
    assert by_name["HVA"]["id"] == hv.pk and by_name["HVA"]["fits"] and by_name["HVA"]["active_job"] is None
    assert [n["node"] for n in by_name["HVA"]["plan"]] == ["HVA-N1", "HVA-N2", "HVA-N3"]
    assert all(n["action"] == "remediate" for n in by_name["FSA"]["plan"])
    assert not Job.objects.exists() and AuditEntry.objects.count() == before


def test_submit_starts_one_campaign_job_and_writes_one_audit_row(operator, share_and_its_vms):
    hv, sofs = share_and_its_vms
    response = Api(token_for(operator)).post(URL, {"clusters": [hv.pk, sofs.pk], "parallel": 2,
                                                   "max_failed_clusters": 1, "evacuation": "save"})
    assert response.status_code == 201, response.content
    job = Job.objects.get()
    answer = response.json()
    assert answer["id"] == job.pk and answer["url"].endswith(job.get_absolute_url()) and answer["status"] == "queued"
    assert job.kind == "campaign" and job.requested_by == operator
    assert job.params["waves"] == [["FSA"], ["HVA"]] and job.params["parallel"] == 2
    assert job.params["options"]["save_state"] and job.failure_policy == {"max_failed_nodes": 1}
    assert [st["target"] for st in answer["steps"]] == ["FSA", "HVA"]
    row = AuditEntry.objects.get(object_id=str(job.pk))
    assert row.username == "otto" and row.action == "action"
    assert row.detail.startswith("campaign requested through the API: Campaign: remediate FSA, HVA (at most 2 at once")


def test_a_cluster_with_an_active_job_is_waited_for_not_refused(operator, share_and_its_vms):
    hv, sofs = share_and_its_vms
    api = Api(token_for(operator))
    busy = api.post(f"/api/clusters/{hv.pk}/remediate/", {})
    assert busy.status_code == 201
    dry = api.post(URL, {"clusters": [hv.pk, sofs.pk], "dry_run": True}).json()
    assert {c["cluster"]: c["active_job"] for c in dry["clusters"]} == {"HVA": busy.json()["id"], "FSA": None}
    started = api.post(URL, {"clusters": [hv.pk, sofs.pk]})
    assert started.status_code == 201, started.content   # its HVA lane waits for the active job to end
    assert Job.objects.filter(kind="campaign").count() == 1


def test_a_two_node_cluster_with_a_witness_fits_and_one_whose_witness_is_not_read_does_not(operator):
    branch = f.scanned_cluster("BRANCH", nodes=2)
    Cluster.objects.filter(pk=branch.pk).update(witness_kind="cloud", witness_name="Cloud Witness",
                                                witness_state="Online")
    unread = f.scanned_cluster("UNREAD", nodes=2)   # its witness, if any, has not been read: none counted
    api = Api(token_for(operator))
    dry = api.post(URL, {"clusters": [branch.pk, unread.pk], "dry_run": True}).json()
    assert {c["cluster"]: c["fits"] for c in dry["clusters"]} == {"BRANCH": True, "UNREAD": False}
    assert [p for p in dry["problems"] if p.startswith("BRANCH")] == []
    assert any(p.startswith("UNREAD: Quorum would be lost while UNREAD-N1 is out: 1 of 2 nodes would be up")
               for p in dry["problems"]), dry["problems"]
    alone = api.post(f"/api/clusters/{branch.pk}/remediate/", {"dry_run": True}).json()
    assert alone["fits"] and [n["node"] for n in alone["plan"]] == ["BRANCH-N1", "BRANCH-N2"]
    read = api.get(f"/api/clusters/{branch.pk}/").json()
    assert (read["witness_kind"], read["witness_name"], read["witness_votes"]) == ("cloud", "Cloud Witness", True)
    assert api.get(f"/api/clusters/{unread.pk}/").json()["witness_votes"] is False


def test_a_campaign_that_does_not_fit_is_a_conflict_and_saves_nothing(operator):
    small = f.scanned_cluster("TWO", nodes=2)   # no node can leave without losing quorum
    other = f.scanned_cluster("OK", nodes=3)
    api = Api(token_for(operator))
    dry = api.post(URL, {"clusters": [small.pk, other.pk], "dry_run": True}).json()
    assert not dry["fits"] and any(p.startswith("TWO: Quorum would be lost") for p in dry["problems"])
    assert {c["cluster"]: c["fits"] for c in dry["clusters"]} == {"TWO": False, "OK": True}
    response = api.post(URL, {"clusters": [small.pk, other.pk]})
    assert response.status_code == 409 and "TWO: Quorum would be lost" in response.json()["detail"]
    assert not Job.objects.exists() and not AuditEntry.objects.filter(action="action").exists()


def test_bad_input_gets_field_errors_and_starts_nothing(operator, share_and_its_vms):
    hv, sofs = share_and_its_vms
    api = Api(token_for(operator))
    before = AuditEntry.objects.count()
    for body, field in [
        ({}, "clusters"),
        ({"clusters": []}, "clusters"),
        ({"clusters": [hv.pk, 999]}, "clusters"),
        ({"clusters": [hv.pk, hv.pk]}, "clusters"),
        ({"clusters": [hv.pk, sofs.pk], "parallel": 0}, "parallel"),
        ({"clusters": [hv.pk, sofs.pk], "max_failed_clusters": -1}, "max_failed_clusters"),
        ({"clusters": [hv.pk, sofs.pk], "evacuation": "teleport"}, "evacuation"),
        ({"clusters": [hv.pk, sofs.pk], "max_retries_per_node": 99}, "max_retries_per_node"),
        ({"clusters": [hv.pk, sofs.pk], "dry_run": "perhaps"}, "dry_run"),
    ]:
        response = api.post(URL, body)
        assert response.status_code == 400 and field in response.json(), (body, response.content)
    assert not Job.objects.exists() and AuditEntry.objects.count() == before


def test_the_schema_documents_the_campaign_endpoint(viewer):
    from drf_spectacular.validation import validate_schema

    schema = Api(token_for(viewer)).get("/api/schema/", format="json").json()
    validate_schema(schema)
    post = schema["paths"]["/api/campaigns/"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CampaignRequest")
    answers = post["responses"]
    assert answers["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/CampaignDryRun")
    dry_runs = schema["components"]["schemas"]["CampaignDryRun"]["oneOf"]   # a remediation's or an upgrade's
    assert sorted(d["$ref"].rsplit("/", 1)[1] for d in dry_runs) == ["CampaignPlan", "UpgradeCampaignPlan"]
    assert answers["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/JobDetail")
    assert answers["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/Refusal")
