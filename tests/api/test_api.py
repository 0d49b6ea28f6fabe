"""The REST API without machines: who may call what (every endpoint × every role), tokens (hashed,
revoked → 401, audited), errors as JSON, the schema and its documentation page."""
import pytest
from django.test import Client
from django.urls import reverse

from api import serializers as s
from api.models import ApiToken
from compliance.models import HostCompliance
from core.models import AuditEntry
from jobs.choices import JobStatus
from jobs.models import Job
from tests import factories as f
from tests.fabric.test_lists import csv_rows
from tests.fabric.test_role_walk import every_pattern
from tests.helpers import database_text
from tests.jobs.test_views import make_job

from .conftest import Api, token_for

pytestmark = pytest.mark.django_db

# pages for people (signed in through the login page), not API endpoints
PAGES = {"api:token_list", "api:token_revoke", "api:docs", "api:redoc"}


@pytest.fixture
def world():
    cluster = f.scanned_cluster(nodes=3)
    running = make_job("Remediate hv-a", status=JobStatus.RUNNING)
    failed = make_job("Remediate hv-b", status=JobStatus.FAILED)
    host = cluster.nodes.order_by("name").first()
    vm = host.vms.first()
    return {"cluster": cluster, "host": host, "vm": vm, "running": running, "failed": failed}


def endpoints(w):
    """(url name, method, url, body) for every API endpoint; a POST leaves the fabric as it was
    where it can (dry runs)."""
    c = w["cluster"]
    return [
        ("api:api-root", "get", "/api/", None),
        ("api:cluster-list", "get", "/api/clusters/", None),
        ("api:cluster-detail", "get", f"/api/clusters/{c.pk}/", None),
        ("api:host-list", "get", "/api/hosts/", None),
        ("api:host-detail", "get", f"/api/hosts/{w['host'].pk}/", None),
        ("api:vm-list", "get", "/api/vms/", None),
        ("api:vm-detail", "get", f"/api/vms/{w['vm'].pk}/", None),
        ("api:fileserver-list", "get", "/api/file-servers/", None),
        ("api:fileserver-detail", "get", "/api/file-servers/999/", None),
        ("api:job-list", "get", "/api/jobs/", None),
        ("api:job-detail", "get", f"/api/jobs/{w['running'].pk}/", None),
        ("api:compliance", "get", "/api/compliance/", None),
        ("api:schema", "get", "/api/schema/", None),
        ("api:scan", "post", "/api/compliance/scan/", {"cluster": c.pk}),
        ("api:job-cancel", "post", f"/api/jobs/{w['running'].pk}/cancel/", None),
        ("api:job-restart", "post", f"/api/jobs/{w['failed'].pk}/restart/", None),
        ("api:remediate", "post", f"/api/clusters/{c.pk}/remediate/", {"dry_run": True}),
        ("api:upgrade", "post", f"/api/clusters/{c.pk}/upgrade/", {"profile": "none", "bmc_run_as": "none",
                                                                    "dry_run": True}),
        ("api:campaigns", "post", "/api/campaigns/", {"clusters": [c.pk], "dry_run": True}),
    ]


def test_the_walk_covers_every_api_endpoint(world):
    named = {name for name, _ in every_pattern() if name.startswith("api:")}
    walked = {name for name, *_ in endpoints(world)}
    # DRF's format-suffix twins (…\.json) of the same views are not walked separately
    assert named - PAGES - walked == set()


@pytest.mark.parametrize("role", [None, "none", "viewer", "operator", "administrator"])
def test_role_walk(world, make_user, role):
    user = None if role is None else make_user(f"u-{role}", role=None if role == "none" else role)
    api = Api(token_for(user)) if user else Api()
    jobs_before = Job.objects.count()
    for name, method, url, body in endpoints(world):
        response = getattr(api, method)(url, body) if method == "post" else api.get(url)
        code = response.status_code
        if role is None:
            assert code == 401, (name, code)
            assert response["WWW-Authenticate"].startswith("Bearer")
        elif role == "none" or (role == "viewer" and method == "post"):
            assert code == 403, (name, code)
            assert b"role" in response.content
        else:
            assert code < 400 or (name, code) in {("api:fileserver-detail", 404), ("api:upgrade", 400)}, (
                name, code, response.content[:300])
    if role in ("operator", "administrator"):
        assert Job.objects.get(pk=world["running"].pk).status == JobStatus.CANCELLING
        assert Job.objects.get(pk=world["failed"].pk).status == JobStatus.QUEUED
        assert Job.objects.count() == jobs_before + 1  # the scan; the dry runs start nothing
    else:
        assert Job.objects.count() == jobs_before
        assert Job.objects.get(pk=world["running"].pk).status == JobStatus.RUNNING


def test_a_token_is_shown_once_stored_hashed_revoked_and_audited(viewer_client, viewer, world):
    page = viewer_client.post(reverse("api:token_list"), {"name": "nightly report"})
    assert page.status_code == 200
    token = page.context["new_token"]
    assert token.startswith("ferry_") and token in page.content.decode()
    row = ApiToken.objects.get(user=viewer)
    assert token not in database_text() and row.digest in database_text()
    assert token not in viewer_client.get(reverse("api:token_list")).content.decode()
    created = AuditEntry.objects.get(object_type="API token", action="create")
    assert created.username == "vera" and token not in str(created.__dict__)

    api = Api(token)
    assert api.get("/api/clusters/").json()["results"][0]["name"] == world["cluster"].name
    row.refresh_from_db()
    assert row.last_used is not None

    viewer_client.post(reverse("api:token_revoke", args=[row.pk]))
    row.refresh_from_db()
    assert not row.is_active
    refused = api.get("/api/clusters/")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert AuditEntry.objects.filter(object_type="API token", detail="API token revoked").count() == 1


def test_ones_tokens_are_a_sorted_counted_table_exported_without_the_token_or_its_hash(viewer_client, viewer,
                                                                                     operator):
    _, second = ApiToken.issue(viewer, "b nightly report")
    first_row, first = ApiToken.issue(viewer, "=a backup script")
    first_row.revoke()
    ApiToken.issue(operator, "theirs")
    url = reverse("api:token_list")
    page = viewer_client.get(url, {"sort": "name"}).content.decode()
    assert "2 API tokens" in page and "theirs" not in page
    assert page.index("=a backup script") < page.index("b nightly report") and page.count(">Revoke<") == 1
    descending = viewer_client.get(url, {"sort": "-name"}).content.decode()
    assert descending.index("b nightly report") < descending.index("=a backup script")

    response = viewer_client.get(url, {"_export": "csv", "sort": "name"})
    rows = csv_rows(response)
    assert rows[0] == ["Name", "Token", "Created", "Last used", "State"]
    assert [row[0] for row in rows[1:]] == ["'=a backup script", "b nightly report"]
    assert rows[1][1] == f"ferry_{first_row.prefix}_…" and rows[1][4].startswith("Revoked 20")
    assert rows[2][4] == "Active"
    export = response.content.decode()
    for secret in (first, second, *ApiToken.objects.values_list("digest", flat=True)):
        assert secret not in export and secret not in page
    assert "theirs" not in export
    assert Client().get(url, {"_export": "csv"}).status_code == 302
    made = viewer_client.post(url, {"name": "new one"}).content.decode()
    assert "3 API tokens" in made and 'id="new-token"' in made


def test_nobody_revokes_another_users_token(viewer, operator_client):
    row, token = ApiToken.issue(viewer, "mine")
    assert operator_client.post(reverse("api:token_revoke", args=[row.pk])).status_code == 404
    assert Api(token).get("/api/jobs/").status_code == 200


@pytest.mark.parametrize("header", ["Bearer", "Bearer ferry_nope_nope", "Bearer a b", "Bearer ferry_"])
def test_bad_tokens_are_refused(viewer, header):
    ApiToken.issue(viewer, "real")
    response = Client().get("/api/jobs/", headers={"Authorization": header})
    assert response.status_code == 401 and response.json()["detail"]


def test_a_session_post_needs_its_csrf_token(operator, world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(operator)
    page = browser.get("/api/jobs/", headers={"Accept": "text/html"})  # the browsable API, with the session
    assert page.status_code == 200 and "Job List" in page.content.decode()
    assert "/static/rest_framework/" in page.content.decode()
    response = browser.post(f"/api/jobs/{world['running'].pk}/cancel/")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert Job.objects.get(pk=world["running"].pk).status == JobStatus.RUNNING


def test_bad_input_gets_field_errors_and_changes_nothing(operator, world):
    api = Api(token_for(operator))
    url = f"/api/clusters/{world['cluster'].pk}/remediate/"
    before = (Job.objects.count(), AuditEntry.objects.count())
    response = api.post(url, {"max_retries_per_node": 99, "evacuation": "teleport"})
    assert response.status_code == 400
    errors = response.json()
    assert "evacuation" in errors
    response = api.post(url, {"max_retries_per_node": 99})
    assert response.status_code == 400 and "max_retries_per_node" in response.json()
    response = api.post(url, {"node_order": ["HVC1-N1", "nowhere"], "dry_run": True})
    assert response.status_code == 200 and not response.json()["fits"]
    assert any("nowhere is not a node" in p for p in response.json()["problems"])
    assert api.post("/api/compliance/scan/", {"cluster": 999}).json()["cluster"]
    assert api.post(f"/api/jobs/{world['running'].pk}/restart/", {"skip_failed": "perhaps"}).status_code == 400
    assert (Job.objects.count(), AuditEntry.objects.count()) == before


def test_remediation_dry_run_returns_the_plan_and_submit_refuses_a_busy_cluster(operator, world):
    api = Api(token_for(operator))
    cluster = world["cluster"]
    url = f"/api/clusters/{cluster.pk}/remediate/"
    dry = api.post(url, {"dry_run": True}).json()
    assert dry["fits"] and dry["active_job"] is None
    # the answer is what the schema says it is
    assert set(dry) == set(s.RemediationPlanSerializer().fields)
    assert set(dry["plan"][0]) == set(s.RemediationNodePlanSerializer().fields)
    assert [n["node"] for n in dry["plan"]] == [h.name for h in cluster.nodes.order_by("name")]
    first = dry["plan"][0]
    assert first["action"] == "remediate" and {m["vm"] for m in first["migrations"]} == {
        v.name for v in cluster.nodes.get(name=first["node"]).vms.all()}
    assert Job.objects.filter(lock_key=f"cluster:{cluster.pk}").count() == 0

    started = api.post(url, {})
    assert started.status_code == 201, started.content
    job = Job.objects.get(pk=started.json()["id"])
    assert job.kind == "remediation" and job.requested_by == operator and job.status == JobStatus.QUEUED
    assert started.json()["steps"][0]["title"].startswith("Scan the nodes of")
    row = AuditEntry.objects.get(object_id=str(job.pk))
    assert row.username == "otto" and "remediation requested through the API" in row.detail

    again = api.post(url, {})
    assert again.status_code == 409 and again.json()["job"]["id"] == job.pk
    assert "already has an active job" in again.json()["detail"]
    assert Job.objects.filter(lock_key=f"cluster:{cluster.pk}").count() == 1


def test_a_plan_that_does_not_fit_is_refused_with_its_problems(operator):
    cluster = f.scanned_cluster(nodes=3, compliant=("HVC1-N1", "HVC1-N2", "HVC1-N3"))
    response = Api(token_for(operator)).post(f"/api/clusters/{cluster.pk}/remediate/", {})
    assert response.status_code == 409
    assert "nothing to remediate" in response.json()["detail"]
    assert not Job.objects.exists()


def test_compliance_states_per_host_and_baseline(viewer, world):
    api = Api(token_for(viewer))
    rows = api.get("/api/compliance/", cluster=world["cluster"].pk).json()["results"]
    assert {r["host"] for r in rows} == {h.name for h in world["cluster"].nodes.all()}
    assert all(r["state"] == "non_compliant" and r["baselines"][0]["baseline"] == "Security" for r in rows)
    HostCompliance.objects.filter(host=world["host"]).update(state="compliant")
    assert [r["host"] for r in api.get("/api/compliance/", state="compliant").json()["results"]] == [world["host"].name]


def test_job_list_filters_and_detail_with_steps(viewer, world):
    api = Api(token_for(viewer))
    listed = api.get("/api/jobs/", status="failed").json()["results"]
    assert [j["id"] for j in listed] == [world["failed"].pk]
    detail = api.get(f"/api/jobs/{world['failed'].pk}/").json()
    assert [s["title"] for s in detail["steps"]] == ["Pause hv01", "Patch hv01", "Pause hv02"]
    assert detail["steps"][0]["node"] == "hv01"


def test_cancelling_a_finished_job_is_a_json_conflict(operator):
    done = make_job("Done", status=JobStatus.SUCCEEDED)
    response = Api(token_for(operator)).post(f"/api/jobs/{done.pk}/cancel/")
    assert response.status_code == 409 and "already finished" in response.json()["detail"]


def test_the_schema_validates_and_the_docs_page_serves_its_own_files(viewer, viewer_client):
    from drf_spectacular.validation import validate_schema

    response = Api(token_for(viewer)).get("/api/schema/", format="json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert "/api/clusters/{id}/remediate/" in schema["paths"] and "apiToken" in schema["components"]["securitySchemes"]
    answers = schema["paths"]["/api/clusters/{id}/remediate/"]["post"]["responses"]
    assert answers["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/RemediationPlan")
    page = viewer_client.get("/api/docs/")
    html = page.content.decode()
    assert page.status_code == 200 and "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower() and "//unpkg" not in html
    assert Client().get("/api/docs/").status_code == 302  # people sign in first


def test_every_api_change_writes_one_audit_row_and_reads_take_no_post(operator, world):
    from tests.fabric.test_audit import ADDRESS, assert_one_row

    api = Api(token_for(operator), REMOTE_ADDR=ADDRESS)
    for name, method, url, body in endpoints(world):
        if method == "get":
            if name != "api:api-root":
                assert api.post(url, {}).status_code == 405, name
            continue
        if name == "api:upgrade":
            continue  # a started upgrade needs the lab's BMCs: tests/api/test_api_lab.py
        if name in ("api:remediate", "api:campaigns"):
            body = {**body, "dry_run": False}  # the real submit, not the dry run
        before = AuditEntry.objects.count()
        response = api.post(url, body)
        assert response.status_code in (200, 201), (name, response.content)
        row = assert_one_row(list(AuditEntry.objects.order_by("id")[before:]), name, who="otto")
        assert row.action == "action" and "through the API" in row.detail, (name, row.detail)


def test_a_token_needs_a_name(viewer_client, viewer):
    response = viewer_client.post(reverse("api:token_list"), {"name": "  "})
    assert response.status_code == 400 and "name" in response.context["form"].errors
    assert not ApiToken.objects.exists()
    assert not AuditEntry.objects.filter(object_type="API token").exists()


def test_a_standalone_host_has_no_cluster_in_its_compliance(viewer):
    from compliance.evaluation import ScanResult, record_scan

    lone = f.host("HV-LONE")
    record_scan(lone, ScanResult(installed=set(), missing=set()))
    rows = Api(token_for(viewer)).get("/api/compliance/", host=lone.pk).json()["results"]
    assert [(r["host"], r["cluster"]) for r in rows] == [("HV-LONE", None)]


def test_a_deactivated_users_token_stops_working(operator):
    token = token_for(operator)
    assert Api(token).get("/api/jobs/").status_code == 200
    operator.is_active = False
    operator.save()
    assert Api(token).get("/api/jobs/").status_code == 401
