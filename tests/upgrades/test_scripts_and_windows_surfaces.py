"""Node scripts and maintenance windows where an operator asks for an upgrade, against the lab's
three-node cluster: the wizard's Summary, `upgrade_cluster` and the API refuse a script the library
does not hold (nothing queued), show the script steps and the window in the plan, and the job keeps
its own copy of each script."""
import io
import time
from datetime import datetime
from datetime import time as day_time
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from fabric.models import MaintenanceWindow
from jobs.models import Job
from nodescripts.models import NodeScript
from tests.api.conftest import Api, token_for
from tests.upgrades.test_wizard import current_step, post, row_data
from tests.upgrades.test_wizard_lab import bring_in, walk_to_customize, wizard_lab  # noqa: F401
from upgrades.rolling import EVACUATE, JOIN, POST_SCRIPT, PRE_SCRIPT, RECORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.lab]

CLOSED = ("The maintenance window of cluster WZ19 is closed now; it next opens Sat 12 Dec 02:00 (Europe/Berlin): "
          "no node of it leaves before then")


@pytest.fixture
def upgrade(wizard_lab, settings):  # noqa: F811
    cluster, profile, bmc_run_as = bring_in(wizard_lab)
    NodeScript.objects.create(name="drain-checks", body="Write-Output 'ready'")
    NodeScript.objects.create(name="health-checks", body="Write-Output 'healthy'")
    MaintenanceWindow.objects.create(cluster=cluster, weekday=5, start=day_time(2), end=day_time(4),
                                     time_zone="Europe/Berlin")
    # Wednesday noon: the window is closed
    settings.FERRY_CLOCK = {"start": datetime(2026, 12, 9, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")),
                            "speed": 1.0, "anchor": time.time()}
    return cluster, profile, bmc_run_as


def _lane(job, node):
    return list(job.steps.filter(target=node, is_group=False).order_by("order").values_list("name", flat=True))


def test_the_summary_offers_the_scripts_refuses_an_unknown_one_and_the_job_keeps_its_copy(upgrade, operator_client):
    cluster, profile, bmc_run_as = upgrade
    response = walk_to_customize(operator_client, cluster, profile, bmc_run_as)
    response = post(operator_client, cluster, "customize", row_data(response))
    assert current_step(response) == "summary"
    html = response.content.decode()
    assert CLOSED in html and 'id="node-scripts"' in html and "drain-checks" in html

    response = post(operator_client, cluster, "summary", {"summary-pre_script": "drain-checks",
                                                           "summary-post_script": "no-such-script"})
    assert current_step(response) == "summary" and not Job.objects.exists()
    assert response.context["form"].errors["post_script"] == [
        "There is no node script of that name in the library: choose one of the list, or none."]
    html = response.content.decode()
    assert "Run the pre-script drain-checks on WZ-N1" in html        # the plan with the valid choice
    assert "Nothing was saved" in html

    response = post(operator_client, cluster, "summary", {"summary-pre_script": "drain-checks",
                                                           "summary-post_script": "health-checks"})
    assert response.status_code == 302, response.context["form"].errors
    job = Job.objects.get(kind="rolling_upgrade")
    lane = _lane(job, "WZ-N2")
    assert lane.index(RECORD) < lane.index(PRE_SCRIPT) == lane.index(EVACUATE) - 1
    assert lane.index(POST_SCRIPT) == lane.index(JOIN) + 1 == len(lane) - 1
    NodeScript.objects.filter(name="drain-checks").update(body="Write-Output 'edited later'")
    step = job.steps.get(name=PRE_SCRIPT, target="WZ-N1")
    assert step.params["script"] == {"name": "drain-checks", "body": "Write-Output 'ready'", "timeout": 300}
    assert step.title == "Run the pre-script drain-checks on WZ-N1"
    assert job.params["request"]["post_script"] == "health-checks"


def test_upgrade_cluster_refuses_an_unknown_script_and_the_dry_run_shows_the_steps(upgrade):
    cluster, profile, bmc_run_as = upgrade
    base = [cluster.name, "--profile", profile.name, "--bmc-run-as", bmc_run_as.name, "--nodes", "WZ-N1"]
    with pytest.raises(CommandError, match=r"--pre-script: There is no node script named 'nope' in the library\."):
        call_command("upgrade_cluster", *base, "--pre-script", "nope")
    with pytest.raises(CommandError, match=r"--post-script: There is no node script named 'nope'"):
        call_command("upgrade_cluster", *base, "--post-script", "nope", "--dry-run")
    assert not Job.objects.exists()
    out = io.StringIO()
    call_command("upgrade_cluster", *base, "--pre-script", "drain-checks", "--post-script", "health-checks",
                 "--dry-run", stdout=out)
    text = out.getvalue()
    assert CLOSED in text
    assert "  - Run the pre-script drain-checks on WZ-N1\n  - Pause WZ-N1 and live-migrate its VMs" in text
    assert text.index("Add WZ-N1 to the cluster") < text.index("  - Run the post-script health-checks on WZ-N1")
    assert not Job.objects.exists()
    assert call_command("upgrade_cluster", *base, "--pre-script", "drain-checks", stdout=io.StringIO()) is None
    job = Job.objects.get(kind="rolling_upgrade")
    assert PRE_SCRIPT in _lane(job, "WZ-N1") and POST_SCRIPT not in _lane(job, "WZ-N1")


def test_the_api_answers_an_unknown_script_with_a_field_error(upgrade, operator):
    cluster, profile, bmc_run_as = upgrade
    api = Api(token_for(operator))
    url = f"/api/clusters/{cluster.pk}/upgrade/"
    base = {"profile": profile.name, "bmc_run_as": bmc_run_as.name, "nodes": ["WZ-N1"], "functional_level": False}
    wrong = api.post(url, dict(base, pre_script="nope"))
    assert wrong.status_code == 400
    assert wrong.json() == {"pre_script": ["There is no node script named 'nope' in the library."]}
    assert not Job.objects.exists()
    dry = api.post(url, dict(base, pre_script="drain-checks", post_script="health-checks", dry_run=True))
    assert dry.status_code == 200, dry.content
    plan = dry.json()
    steps = plan["nodes"][0]["steps"]
    assert steps[1] == "Run the pre-script drain-checks on WZ-N1"
    assert steps[-1] == "Run the post-script health-checks on WZ-N1"
    assert plan["maintenance_window"].startswith(CLOSED)
    verdict = {"name": "node scripts", "ok": True, "message": "The pre-script drain-checks and the post-script "
               "health-checks are in the library; the job keeps a copy of each as it is when it starts."}
    assert verdict in plan["verdicts"]
    assert not Job.objects.exists()
