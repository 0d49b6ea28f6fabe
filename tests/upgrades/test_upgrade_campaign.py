"""Upgrade campaigns without machines: what refuses the whole campaign before anything is saved (a
node Ferry lacks a setting for, a standalone host, a viewer), through `submit_campaign`, the
`upgrade_cluster` command, `POST /api/campaigns/` and the Upgrade clusters page."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from compliance.campaigns import CampaignError, UpgradeChoice, submit_campaign
from compliance.campaigns.upgrade import request_for
from core.models import AuditEntry
from fabric.choices import ClusterKind
from fabric.models import FileShare, Host, HostGroup, PhysicalComputerProfile
from jobs.models import Job
from nodescripts.models import NodeScript
from tests import factories as f
from tests.api.conftest import Api, token_for
from upgrades.rolling import check_prerequisites, node_steps

pytestmark = pytest.mark.django_db

URL = "/upgrades/campaign/"
API = "/api/campaigns/"


@pytest.fixture
def fabric():
    """HVA's VMs live on a share of the file server FSA; every node has its management MAC and an
    address in a known subnet, but no BMC address (Ferry never provisioned them)."""
    hv = f.cluster("HVA", nodes=3)
    sofs = f.cluster("FSA", kind=ClusterKind.SOFS, nodes=3)
    FileShare.objects.create(cluster=sofs, name="VMs", scope_name="SOFSA", path="C:\\ClusterStorage\\Volume1\\VMs")
    for node in hv.nodes.all():
        f.vm(host=node, storage_path="\\\\SOFSA\\VMs\\" + node.name.lower())
    for i, node in enumerate(Host.objects.order_by("name"), 1):
        node.management_mac = f"00-15-5D-00-00-{i:02X}"
        node.save(update_fields=["management_mac"])
    f.subnet(cidr="10.2.0.0/16", name="Management")
    profile = PhysicalComputerProfile.objects.create(name="WS2022 hosts", image=f.image(), host_group=HostGroup.root())
    bmc = f.runas("BMC admin")
    return hv, sofs, profile, bmc


def _nothing_started():
    return not Job.objects.exists() and not AuditEntry.objects.filter(detail__contains="campaign requested").exists()


def test_a_node_without_a_bmc_address_refuses_the_whole_campaign(fabric):
    hv, sofs, profile, bmc = fabric
    choice = UpgradeChoice(profile_id=profile.pk, bmc_run_as_id=bmc.pk)
    with pytest.raises(CampaignError) as refused:
        submit_campaign([hv, sofs], upgrade=choice)
    message = str(refused.value)
    assert "HVA: Ferry could not work out every node's settings (HVA-N1: missing bmc_address;" in message
    assert "FSA-N3: missing bmc_address" in message and "Use the Upgrade Cluster wizard for it." in message
    assert _nothing_started()


def test_the_command_names_the_cluster_and_what_it_misses(fabric):
    hv, sofs, profile, bmc = fabric
    base = ["HVA", "FSA", "--profile", profile.name, "--bmc-run-as", bmc.name]
    with pytest.raises(CommandError, match=r"Refused: .*HVA-N2: missing bmc_address.*Upgrade Cluster wizard"):
        call_command("upgrade_cluster", *base, stdout=StringIO())
    out = StringIO()
    with pytest.raises(CommandError, match="The campaign would be refused"):
        call_command("upgrade_cluster", *base, "--parallel", "1", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "wave 1: FSA" in text and "wave 2: HVA" in text and "at most 1 clusters at once" in text
    assert "FSA: REFUSED: FSA: Ferry could not work out" in text
    with pytest.raises(CommandError, match="--nodes applies to one cluster"):
        call_command("upgrade_cluster", *base, "--nodes", "HVA-N1", stdout=StringIO())
    with pytest.raises(CommandError, match="--parallel must be at least 1"):
        call_command("upgrade_cluster", *base, "--parallel", "0", stdout=StringIO())
    with pytest.raises(CommandError, match="No physical computer profile is named 'nope'"):
        call_command("upgrade_cluster", "HVA", "FSA", "--profile", "nope", "--bmc-run-as", bmc.name,
                     stdout=StringIO())
    with pytest.raises(CommandError, match="--max-failed counts failed clusters of a campaign"):
        call_command("upgrade_cluster", "HVA", "--profile", profile.name, "--bmc-run-as", bmc.name,
                     "--max-failed", "1", stdout=StringIO())
    assert _nothing_started()


def test_a_standalone_host_is_refused_with_the_reason(fabric, operator):
    hv, sofs, profile, bmc = fabric
    alone = f.host("SA1", management_mac="00-15-5D-00-01-01", bmc_address="10.9.0.2")
    with pytest.raises(CommandError, match=r"SA1 is a standalone host: a rolling upgrade re-images the nodes of a "
                                           r"cluster"):
        call_command("upgrade_cluster", "SA1", "HVA", "--profile", profile.name, "--bmc-run-as", bmc.name,
                     stdout=StringIO())
    response = Api(token_for(operator)).post(API, {"action": "upgrade", "clusters": [hv.pk], "hosts": [alone.pk],
                                                   "profile": profile.name, "bmc_run_as": bmc.name})
    assert response.status_code == 409 and "SA1 is a standalone host" in response.json()["detail"], response.content
    response = Api(token_for(operator)).post(API, {"action": "upgrade", "clusters": [hv.pk], "hosts": [alone.pk],
                                                   "profile": profile.name, "bmc_run_as": bmc.name, "dry_run": True})
    answer = response.json()
    assert response.status_code == 200 and not answer["fits"], response.content
    by_name = {c["cluster"]: c for c in answer["clusters"]}
    assert by_name["SA1"]["plan"] is None and "standalone host" in by_name["SA1"]["problems"][0]
    assert _nothing_started()


def test_the_api_answers_bad_input_field_by_field(fabric, operator):
    hv, sofs, profile, bmc = fabric
    api = Api(token_for(operator))
    upgrade = {"action": "upgrade", "clusters": [hv.pk, sofs.pk], "profile": profile.name, "bmc_run_as": bmc.name}
    for body, field in [
        ({**upgrade, "profile": ""}, "profile"),
        ({**upgrade, "bmc_run_as": ""}, "bmc_run_as"),
        ({**upgrade, "profile": "nope"}, "profile"),
        ({**upgrade, "file_server_profile": "nope"}, "file_server_profile"),
        ({**upgrade, "parallel": 0}, "parallel"),
        ({**upgrade, "max_failed_clusters": -1}, "max_failed_clusters"),
        ({**upgrade, "clusters": [hv.pk, 999999]}, "clusters"),
        ({**upgrade, "action": "reinstall"}, "action"),
        ({**upgrade, "pre_script": "nope"}, "pre_script"),
        ({**upgrade, "post_script": "nope"}, "post_script"),
        ({"clusters": [hv.pk], "hosts": [hv.nodes.first().pk]}, "hosts"),
    ]:
        response = api.post(API, body)
        assert response.status_code == 400 and field in response.json(), (body, response.content)
    response = api.post(API, {**upgrade, "dry_run": True})
    answer = response.json()
    assert response.status_code == 200 and answer["waves"] == [["FSA"], ["HVA"]] and not answer["fits"]
    assert answer["action"] == "upgrade" and "BMC Run As BMC admin" in answer["upgrade"]
    assert all("missing bmc_address" in c["problems"][0] for c in answer["clusters"])
    response = api.post(API, upgrade)
    assert response.status_code == 409 and "HVA-N1: missing bmc_address" in response.json()["detail"]
    assert _nothing_started()


def test_a_viewer_may_not_upgrade_clusters(fabric, viewer, viewer_client):
    hv, sofs, profile, bmc = fabric
    response = Api(token_for(viewer)).post(API, {"action": "upgrade", "clusters": [hv.pk], "profile": profile.name,
                                                 "bmc_run_as": bmc.name, "dry_run": True})
    assert response.status_code == 403
    assert viewer_client.get(URL).status_code == 403
    assert viewer_client.post(URL, {"clusters": [hv.pk], "profile": profile.pk, "bmc_run_as": bmc.pk,
                                    "parallel": 2, "max_failed_clusters": 0, "submit": "1"}).status_code == 403
    page = viewer_client.get("/fabric/clusters/").content.decode()
    assert "Upgrade clusters" not in page and 'name="clusters"' not in page
    assert _nothing_started()


def test_the_page_shows_the_waves_and_refuses_what_it_cannot_upgrade(fabric, operator_client):
    hv, sofs, profile, bmc = fabric
    page = operator_client.get("/fabric/clusters/").content.decode()
    assert 'form="upgrade-clusters"' in page and f'value="{hv.pk}"' in page and "Upgrade clusters" in page
    assert 'form="upgrade-clusters"' in operator_client.get("/fabric/fileservers/").content.decode()
    page = operator_client.get(URL, {"clusters": [hv.pk, sofs.pk]}).content.decode()
    assert page.count("checked") == 3     # both clusters ticked, and the functional level
    form = {"clusters": [hv.pk, sofs.pk], "profile": profile.pk, "bmc_run_as": bmc.pk, "parallel": 2,
            "max_failed_clusters": 0, "functional_level": "on"}
    page = operator_client.post(URL, {**form, "review": "1"}).content.decode()
    assert "Wave 1: FSA" in page and "Wave 2: HVA" in page
    assert "HVA-N1: missing bmc_address" in page and 'id="campaign-submit" disabled' in page
    response = operator_client.post(URL, {**form, "submit": "1"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Refused, nothing was started: FSA: Ferry could not work out" in page and "HVA-N3: missing" in page
    response = operator_client.post(URL, {**form, "parallel": 0, "profile": "", "submit": "1"})
    page = response.content.decode()
    assert response.status_code == 200 and "Choose a physical computer profile" in page
    assert "Ensure this value is greater than or equal to 1" in page
    assert _nothing_started()


def test_each_cluster_of_the_campaign_gets_the_chosen_node_scripts(fabric):
    hv, sofs, profile, bmc = fabric
    NodeScript.objects.create(name="drain-checks", body="Write-Output 1", timeout_seconds=30)
    choice = UpgradeChoice(profile_id=profile.pk, bmc_run_as_id=bmc.pk, pre_script="drain-checks",
                           post_script="smoke-test")
    assert "pre-script drain-checks; post-script smoke-test" in choice.describe()
    for cluster in (hv, sofs):
        request = request_for(cluster, choice)
        assert (request.pre_script, request.post_script) == ("drain-checks", "smoke-test")
        steps = [title for host in cluster.nodes.all()
                 for _, title in node_steps(host, cluster.kind, pre_script=request.pre_script,
                                            post_script=request.post_script)]
        assert sum("Run the pre-script drain-checks" in t for t in steps) == 3
        assert sum("Run the post-script smoke-test" in t for t in steps) == 3
    # a script the library does not have is one of the prerequisites that refuse the campaign
    assert any(not v.ok and "smoke-test" in v.message for v in check_prerequisites(request_for(hv, choice)))
