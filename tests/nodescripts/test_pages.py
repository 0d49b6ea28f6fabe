"""Library › Node scripts: administrators only; each change one audit row; bad input loses nothing;
the Remediate dialog and `remediate` offer the scripts by name."""
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from core.models import AuditEntry
from nodescripts.models import NodeScript
from tests.fabric.test_audit import ADDRESS, assert_one_row, post_and_count

SCRIPT = {"name": "drain-checks", "description": "Is the backup done?", "timeout_seconds": "120",
          "body": "Write-Output 'checking'\nif ($false) { throw 'not yet' }"}


@pytest.fixture
def admin(administrator):
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(administrator)
    return client


def test_an_administrator_adds_edits_and_deletes_a_script_each_audited(admin):
    response, rows = post_and_count(admin, "/scripts/add/", SCRIPT)
    script = NodeScript.objects.get(name="drain-checks")
    assert response.status_code == 302 and script.body == SCRIPT["body"] and script.timeout_seconds == 120
    assert "Timeout (seconds): 120" in assert_one_row(rows, "script_add").detail
    page = admin.get(f"/scripts/{script.pk}/").content.decode()
    assert "throw &#x27;not yet&#x27;" in page
    response, rows = post_and_count(admin, f"/scripts/{script.pk}/edit/", {**SCRIPT, "timeout_seconds": "600"})
    assert response.status_code == 302 and "120 → 600" in assert_one_row(rows, "script_edit").detail
    assert "drain-checks" in admin.get("/scripts/").content.decode()
    response, rows = post_and_count(admin, f"/scripts/{script.pk}/delete/")
    assert response.status_code == 302 and not NodeScript.objects.exists()
    assert_one_row(rows, "script_delete")


@pytest.mark.parametrize("change, field, message", [
    ({"timeout_seconds": "0"}, "timeout_seconds", "greater than or equal to 1"),
    ({"timeout_seconds": "999999"}, "timeout_seconds", "less than or equal to 14400"),
    ({"body": ""}, "body", "This field is required."),
    ({"body": "Write-Output 1\n# end of Ferry script\n"}, "body", "may not contain the line"),
    ({"name": ""}, "name", "This field is required."),
    ({"body": "Write-Output 'done'\nexit 0"}, "body", "Use throw"),
    ({"body": "if ($bad) { exit 3 }"}, "body", "Use throw"),
])
def test_bad_input_shows_the_field_error_and_saves_nothing(admin, change, field, message):
    before = AuditEntry.objects.count()
    response = admin.post("/scripts/add/", {**SCRIPT, **change})
    assert response.status_code == 200 and message in str(response.context["form"].errors[field])
    assert not NodeScript.objects.exists() and AuditEntry.objects.count() == before


def test_only_administrators_see_or_change_scripts(operator_client, viewer_client):
    script = NodeScript.objects.create(name="x", body="Write-Output 1")
    for client in (operator_client, viewer_client):
        for url in ("/scripts/", "/scripts/add/", f"/scripts/{script.pk}/", f"/scripts/{script.pk}/edit/"):
            assert client.get(url).status_code == 403, url
        assert client.post(f"/scripts/{script.pk}/delete/").status_code == 403
    assert NodeScript.objects.filter(pk=script.pk).exists()


def test_remediate_names_a_script_that_is_not_in_the_library(db):
    from tests.factories import small_inventory

    cluster = small_inventory().cluster
    with pytest.raises(CommandError, match="no node script named 'nope'"):
        call_command("remediate", f"cluster:{cluster.name}", "--pre-script", "nope", "--dry-run")


def test_the_remediate_dialog_offers_the_scripts_and_the_plan_runs_them_around_each_node(db):
    from compliance.forms import RemediateForm
    from compliance.orchestration import submit_cluster_remediation
    from tests.factories import small_inventory

    NodeScript.objects.create(name="drain-checks", body="Write-Output 1", timeout_seconds=30)
    NodeScript.objects.create(name="health-checks", body="Write-Output 2")
    base = {"evacuation": "live", "max_retries_per_node": 3, "max_failed_nodes": 0, "reboot_timeout_minutes": 15,
            "node_order": "fewest_vms"}
    form = RemediateForm({**base, "pre_script": "gone"})
    assert not form.is_valid() and "pre_script" in form.errors
    form = RemediateForm({**base, "pre_script": "drain-checks", "post_script": "health-checks"})
    assert form.is_valid(), form.errors
    options = form.options()
    assert (options.pre_script, options.post_script) == ("drain-checks", "health-checks")
    assert "pre-script drain-checks, post-script health-checks" in options.describe()

    job, _ = submit_cluster_remediation(small_inventory().cluster, options)
    NodeScript.objects.filter(name="drain-checks").update(body="changed later")  # the job keeps its copy
    lane = [s for s in job.steps.filter(is_group=False, target="hv-prod-n1").order_by("order")]
    names = [s.name.split(".")[-1] for s in lane]
    assert names == ["prepare_node", "check_node", "pre_node_script", "evacuate_node", "install_updates",
                     "restart_node", "resume_node", "post_node_script", "return_vms", "verify_node"]
    assert lane[2].params["script"] == {"name": "drain-checks", "body": "Write-Output 1", "timeout": 30}


def test_the_api_takes_the_scripts_by_name_and_refuses_an_unknown_one(operator):
    from rest_framework.test import APIClient

    from tests.factories import small_inventory

    cluster = small_inventory().cluster
    NodeScript.objects.create(name="drain-checks", body="Write-Output 1")
    client = APIClient()
    client.force_authenticate(operator)
    url = f"/api/clusters/{cluster.pk}/remediate/"
    response = client.post(url, {"pre_script": "nope", "dry_run": True}, format="json")
    assert response.status_code == 400 and "pre_script" in response.json()
    response = client.post(url, {"pre_script": "drain-checks", "dry_run": True}, format="json")
    assert response.status_code == 200 and "pre-script drain-checks" in response.json()["options"]
