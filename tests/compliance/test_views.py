"""The Compliance view, the host drill-down, the Remediate dialog and who may do what."""
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.models import Baseline, BaselineAssignment, Exemption
from core.models import AuditEntry
from fabric.models import Host
from jobs.models import Job
from tests import factories as f

pytestmark = pytest.mark.django_db

URL = "/compliance/"


def test_viewer_sees_states_counts_and_no_action_buttons(viewer_client):
    f.scanned_cluster(compliant=("HVC1-N1",))
    page = viewer_client.get(URL).content.decode()
    assert 'data-compliance="HVC1">Non Compliant' in page
    assert 'data-compliance="HVC1-N1">Compliant' in page
    assert re.search(r'data-state-count="non_compliant">Non Compliant</a>\s*<strong>3</strong>', page)
    assert "<svg" in page and "donut-seg state-compliant" in page
    assert 'data-action="remediate"' not in page and 'data-action="scan"' not in page


def test_operator_gets_scan_and_a_disabled_remediate_until_something_not_compliant_is_ticked(operator_client):
    f.scanned_cluster()
    page = operator_client.get(URL).content.decode()
    assert re.search(r'data-action="remediate"[^>]*disabled', page)
    assert 'value="cluster:' in page and 'data-state="non_compliant"' in page


def test_filters_narrow_the_rows_and_htmx_gets_only_the_results(viewer_client):
    f.scanned_cluster(compliant=("HVC1-N1",))
    f.host("LONE")  # no baseline: counted apart
    response = viewer_client.get(URL, {"state": "compliant"}, HTTP_HX_REQUEST="true",
                                 HTTP_HX_TARGET="compliance-results")
    page = response.content.decode()
    assert "<html" not in page and 'id="compliance-results"' in page
    assert "HVC1-N1" in page and "HVC1-N2" not in page
    assert "1 host has no baseline assigned" in viewer_client.get(URL).content.decode()


def test_the_view_needs_the_same_number_of_queries_for_10_and_40_hosts(viewer_client):
    f.scanned_cluster("A", nodes=10, vms_per_node=1)
    with CaptureQueriesContext(connection) as small:
        viewer_client.get(URL)
    f.scanned_cluster("B", nodes=30, vms_per_node=1)
    with CaptureQueriesContext(connection) as large:
        viewer_client.get(URL)
    assert len(large) == len(small) <= 20, [q["sql"][:80] for q in large.captured_queries]


def test_drill_down_lists_the_missing_update_and_an_admin_can_exempt_it(admin_client_ferry, viewer_client):
    clu = f.scanned_cluster(nodes=2)
    node = clu.nodes.order_by("name").first()
    update = Baseline.objects.get(name="Security").updates.get()
    page = viewer_client.get(reverse("compliance:host_compliance", args=[node.pk])).content.decode()
    assert update.kb_label in page and "Missing" in page and "Exempt…" not in page
    response = admin_client_ferry.post(reverse("compliance:exempt", args=[node.pk]),
                                       {"update": update.pk, "note": "Vendor says not needed on this model"})
    assert response.status_code == 302
    exemption = Exemption.objects.get(host=node)
    assert exemption.created_by_name == "ada"
    assert AuditEntry.objects.filter(object_type="exemption", username="ada").exists()
    assert node.compliance.__class__.objects.get(host=node).state == "compliant"


def test_viewers_and_operators_cannot_change_baselines_or_exemptions(viewer_client, operator_client):
    clu = f.scanned_cluster(nodes=1)
    node = clu.nodes.get()
    baseline = Baseline.objects.get()
    for client in (viewer_client, operator_client):
        assert client.post(
            reverse("compliance:baseline_assign", args=[baseline.pk]), {"host": node.pk}
        ).status_code == 403
        assert client.post(reverse("compliance:exempt", args=[node.pk]), {"note": "x"}).status_code == 403
        assert client.get(reverse("compliance:baseline_add")).status_code == 403
    assert viewer_client.post(reverse("compliance:scan"), {"selected": f"host:{node.pk}"}).status_code == 403
    assert viewer_client.get(reverse("compliance:remediate"), {"selected": f"cluster:{clu.pk}"}).status_code == 403
    assert viewer_client.post(
        reverse("compliance:remediate"), {"selected": f"cluster:{clu.pk}", "action": "submit"}
    ).status_code == 403


def test_admin_creates_a_rule_baseline_and_assigns_it_to_a_group(admin_client_ferry):
    f.update(classification="Security Updates", severity="Critical")
    group = f.group("Production")
    response = admin_client_ferry.post(reverse("compliance:baseline_add"), {
        "name": "Critical security", "description": "", "rule_enabled": "on",
        "rule_classifications": ["Security Updates"], "rule_severities": ["Critical"], "rule_released_days": 0,
    })
    baseline = Baseline.objects.get(name="Critical security")
    assert response.status_code == 302 and baseline.updates.count() == 1
    admin_client_ferry.post(reverse("compliance:baseline_assign", args=[baseline.pk]), {"host_group": group.pk})
    assert BaselineAssignment.objects.filter(baseline=baseline, host_group=group).exists()
    bad = admin_client_ferry.post(reverse("compliance:baseline_add"), {"name": "Empty", "rule_released_days": 0})
    assert bad.status_code == 200 and not Baseline.objects.filter(name="Empty").exists()


def test_remediate_dialog_shows_the_dry_run_plan_with_every_vm_placed(operator_client):
    clu = f.scanned_cluster(compliant=("HVC1-N1",))
    page = operator_client.get(reverse("compliance:remediate"), {"selected": f"cluster:{clu.pk}"},
                               HTTP_HX_REQUEST="true").content.decode()
    assert "Update Remediation" in page and "Do not restart the servers after remediation" in page
    assert "Allow remediation of clusters with nodes already in maintenance mode" in page
    assert 'name="max_failed_nodes" min="0" max="64" value="0"' in page
    assert "Skipped — already compliant, not drained" in page
    for node in ("HVC1-N2", "HVC1-N3", "HVC1-N4"):
        for j in range(2):
            assert re.search(rf"{node}-VM{j} → HVC1-N\d", page)
    assert "will not start" not in page
    assert not re.search(r'value="submit"[^>]*disabled', page)


def test_remediate_refuses_with_the_reason_when_a_vm_fits_nowhere(operator_client):
    clu = f.scanned_cluster(nodes=3, vms_per_node=2, vm_gib=8, memory_gib=64)
    f.vm("BIGDB", clu.nodes.get(name="HVC1-N1"), memory_gib=20)
    f.vm("FILL2", clu.nodes.get(name="HVC1-N2"), memory_gib=30)
    f.vm("FILL3", clu.nodes.get(name="HVC1-N3"), memory_gib=30)
    page = operator_client.post(reverse("compliance:remediate"), {
        "selected": f"cluster:{clu.pk}", "action": "submit", "evacuation": "live", "max_retries_per_node": 3,
        "max_failed_nodes": 0, "reboot_timeout_minutes": 15, "node_order": "fewest_vms",
    }, HTTP_HX_REQUEST="true").content.decode()
    assert "will not start" in page and "BIGDB" in page and "does not fit anywhere" in page
    assert not Job.objects.exists()
    # save state needs no room elsewhere
    page = operator_client.post(reverse("compliance:remediate"), {
        "selected": f"cluster:{clu.pk}", "action": "preview", "evacuation": "save", "max_retries_per_node": 3,
        "max_failed_nodes": 0, "reboot_timeout_minutes": 15, "node_order": "fewest_vms",
    }, HTTP_HX_REQUEST="true").content.decode()
    assert "will not start" not in page and "Save state: BIGDB" in page


def test_remediate_refuses_a_compliant_selection_and_asks_to_confirm_clustered_hosts(operator_client):
    clu = f.scanned_cluster(nodes=2, compliant=("HVC1-N1", "HVC1-N2"))
    options = {"action": "submit", "evacuation": "live", "max_retries_per_node": 3, "max_failed_nodes": 0,
               "reboot_timeout_minutes": 15, "node_order": "fewest_vms"}
    page = operator_client.post(reverse("compliance:remediate"), {"selected": f"cluster:{clu.pk}", **options},
                                HTTP_HX_REQUEST="true").content.decode()
    assert "Every node is compliant" in page
    lone = f.scanned_cluster("HVC2", nodes=3)
    node = lone.nodes.order_by("name").first()
    page = operator_client.post(reverse("compliance:remediate"), {"selected": f"host:{node.pk}", **options},
                                HTTP_HX_REQUEST="true").content.decode()
    assert "confirm that it is remediated as a standalone host" in page
    assert not Job.objects.exists()
    response = operator_client.post(reverse("compliance:remediate"),
                                    {"selected": f"host:{node.pk}", "confirm_clustered_hosts": "on", **options},
                                    HTTP_HX_REQUEST="true")
    job = Job.objects.get()
    assert response["HX-Redirect"] == job.get_absolute_url()
    assert job.lock_key == f"cluster:{lone.pk}" and job.params["standalone"] is True


def test_submitting_twice_gives_one_job_and_shows_the_first(operator_client, make_user):
    from django.test import Client

    clu = f.scanned_cluster()
    other = Client()
    other.force_login(make_user("olga", "operator"))
    options = {"selected": f"cluster:{clu.pk}", "action": "submit", "evacuation": "live", "max_retries_per_node": 3,
               "max_failed_nodes": 0, "reboot_timeout_minutes": 15, "node_order": "fewest_vms"}
    first = operator_client.post(reverse("compliance:remediate"), options, HTTP_HX_REQUEST="true")
    second = other.post(reverse("compliance:remediate"), options, HTTP_HX_REQUEST="true")
    job = Job.objects.get()
    assert first["HX-Redirect"] == second["HX-Redirect"] == job.get_absolute_url()
    names = list(job.steps.filter(is_group=True).order_by("order").values_list("title", flat=True))
    assert names == ["HVC1-N1", "HVC1-N2", "HVC1-N3", "HVC1-N4"]
    assert job.failure_policy == {"max_retries_per_node": 3, "max_failed_nodes": 0}
    assert AuditEntry.objects.filter(username="otto", detail__startswith="remediation requested").exists()


def test_explicit_order_must_name_every_node_once(operator_client):
    clu = f.scanned_cluster(nodes=3)
    base = {"selected": f"cluster:{clu.pk}", "action": "preview", "evacuation": "live", "max_retries_per_node": 3,
            "max_failed_nodes": 0, "reboot_timeout_minutes": 15, "node_order": "explicit"}
    page = operator_client.post(reverse("compliance:remediate"), {**base, "explicit_order": "HVC1-N3, HVC1-N9"},
                                HTTP_HX_REQUEST="true").content.decode()
    assert "HVC1-N9 is not a node of this cluster" in page
    page = operator_client.post(reverse("compliance:remediate"),
                                {**base, "explicit_order": "hvc1-n3, HVC1-N1, HVC1-N2"},
                                HTTP_HX_REQUEST="true").content.decode()
    rows = re.findall(r'data-node="([^"]+)"', page)
    assert rows == ["HVC1-N3", "HVC1-N1", "HVC1-N2"]


def test_scan_button_starts_one_scan_job_per_selected_target(operator_client):
    clu = f.scanned_cluster(nodes=2)
    response = operator_client.post(reverse("compliance:scan"), {"selected": [f"cluster:{clu.pk}"]})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert sorted(job.steps.values_list("title", flat=True)) == ["Scan HVC1-N1", "Scan HVC1-N2"]
    assert Host.objects.count() == 2
