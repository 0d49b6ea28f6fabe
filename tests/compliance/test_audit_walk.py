"""The audit walk beyond the fabric pages: every compliance and job URL that changes something
writes exactly one audit row with who, what, which object and the client address; and no URL that
accepts a POST can be added without being walked here or in tests/fabric/test_audit.py."""
import pytest
from django.test import Client
from django.urls import resolve, reverse

from compliance.models import Baseline, BaselineAssignment, Exemption
from core.models import AuditEntry
from jobs.choices import JobStatus
from tests import factories as f
from tests.fabric.routes import change_routes, operator_routes
from tests.fabric.test_audit import ADDRESS, assert_one_row, post_and_count
from tests.fabric.test_role_walk import concrete, every_pattern, is_api_endpoint
from tests.jobs.test_views import make_job

REMEDIATE = {"action": "submit", "evacuation": "live", "max_retries_per_node": 3, "max_failed_nodes": 0,
             "reboot_timeout_minutes": 15, "node_order": "fewest_vms"}
WALKED_HERE = {
    "compliance:baseline_add", "compliance:baseline_edit", "compliance:baseline_delete", "compliance:baseline_assign",
    "compliance:assignment_delete", "compliance:exempt", "compliance:exemption_delete", "compliance:scan",
    "compliance:remediate", "compliance:updateserver_sync", "jobs:job_cancel", "jobs:job_restart",
}
WALKED_ELSEWHERE = {
    "upgrades:update_version",    # tests/upgrades/test_update_version.py (it needs the lab)
    "upgrades:upgrade_cluster",   # the wizard's Finish: tests/upgrades/test_wizard_lab.py
    "upgrades:bmc_run_as_add",    # the wizard's in-place Run As account: tests/upgrades/test_wizard.py
    "upgrades:upgrade_campaign",  # Upgrade clusters: tests/upgrades/test_upgrade_campaign_lab.py
    "jobs:job_resume_node",       # Resume node after a failed job: tests/jobs/test_recovery_actions.py
    "api:token_list",             # creating an API token: tests/api/test_api.py
    "api:token_revoke",           # revoking it: tests/api/test_api.py
    "notifications:subscription_list",    # adding a subscription: tests/notifications/test_pages.py
    "notifications:subscription_edit",    # changing it: tests/notifications/test_pages.py
    "notifications:subscription_delete",  # deleting it: tests/notifications/test_pages.py
    "users:user_add",             # Settings › Users and roles: tests/users/test_users.py
    "users:user_edit",
    "users:user_password",
    "nodescripts:script_add",     # the node script library: tests/nodescripts/test_pages.py
    "nodescripts:script_edit",
    "nodescripts:script_delete",
    "compliance:maintenance_windows", "compliance:maintenance_window_delete",  # tests/compliance/test_campaign_pages.py
    "compliance:schedule_list", "compliance:schedule_cancel",                  # tests/compliance/test_campaign_pages.py
}
# Every REST API endpoint (api:…) is walked in tests/api/test_api.py, its changes with their audit rows.
NOT_A_CHANGE = {"login", "logout",  # audited through the sign-in signals (tests/fabric/test_login.py)
                # redraws one row of the wizard's form; saves nothing
                "upgrades:customize_row"}


@pytest.fixture
def admin(administrator):
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(administrator)
    return client


def accepts_post(pattern_name: str) -> bool:
    cls = getattr(resolve(concrete(dict(every_pattern())[pattern_name])).func, "view_class", None)
    return cls is not None and hasattr(cls, "post") and "post" in cls.http_method_names


def test_every_url_that_accepts_a_post_is_walked(db):
    from tests.factories import small_inventory

    inventory = small_inventory()
    fabric = {f"fabric:{name}" for name, _ in change_routes(inventory) + operator_routes(inventory)}
    posting = {name for name, _ in every_pattern() if name and not is_api_endpoint(name) and accepts_post(name)}
    unwalked = posting - fabric - WALKED_HERE - WALKED_ELSEWHERE - NOT_A_CHANGE
    assert not unwalked, f"state-changing URLs without an audit walk: {sorted(unwalked)}"


def test_every_compliance_and_job_change_writes_one_audit_row(admin):
    clu = f.scanned_cluster(nodes=3)  # three: one node out keeps quorum
    node = clu.nodes.order_by("name").first()
    update = Baseline.objects.get(name="Security").updates.get()
    f.update(classification="Security Updates", severity="Critical")
    group = f.group("Production")

    def walk(name, url, data=None, **expect):
        response, rows = post_and_count(admin, url, data)
        assert response.status_code in (200, 204, 302), (name, response.status_code)
        row = assert_one_row(rows, name)
        for key, value in expect.items():
            assert getattr(row, key) == value, (name, key, getattr(row, key))
        return row

    walk("baseline_add", reverse("compliance:baseline_add"), {
        "name": "Critical security", "description": "", "rule_enabled": "on",
        "rule_classifications": ["Security Updates"], "rule_severities": ["Critical"], "rule_released_days": 0,
    }, action="create")
    baseline = Baseline.objects.get(name="Critical security")
    walk("baseline_edit", reverse("compliance:baseline_edit", args=[baseline.pk]), {
        "name": "Critical security", "description": "only critical", "rule_enabled": "on",
        "rule_classifications": ["Security Updates"], "rule_severities": ["Critical"], "rule_released_days": 0,
    }, action="change")
    walk("baseline_assign", reverse("compliance:baseline_assign", args=[baseline.pk]), {"host_group": group.pk},
         action="create")
    assignment = BaselineAssignment.objects.get(baseline=baseline)
    walk("assignment_delete", reverse("compliance:assignment_delete", args=[assignment.pk]), action="delete")
    walk("baseline_delete", reverse("compliance:baseline_delete", args=[baseline.pk]), action="delete")

    walk("exempt", reverse("compliance:exempt", args=[node.pk]), {"update": update.pk, "note": "vendor says so"},
         action="create", object_type="exemption")
    exemption = Exemption.objects.get(host=node)
    walk("exemption_delete", reverse("compliance:exemption_delete", args=[exemption.pk]), action="delete")

    walk("remediate", reverse("compliance:remediate"), {"selected": f"cluster:{clu.pk}", **REMEDIATE},
         action="action")
    walk("scan", reverse("compliance:scan"), {"selected": [f"cluster:{clu.pk}"]}, action="action")
    walk("updateserver_sync", reverse("compliance:updateserver_sync", args=[f.server().pk]), action="action")

    running = make_job("Remediate hv-a", status=JobStatus.RUNNING)
    walk("job_cancel", reverse("jobs:job_cancel", args=[running.pk]), object_type="job")
    failed = make_job("Remediate hv-b", status=JobStatus.FAILED)
    walk("job_restart", reverse("jobs:job_restart", args=[failed.pk]), object_type="job")
    assert AuditEntry.objects.filter(source_address=ADDRESS).exclude(detail="logged in").count() == 12
