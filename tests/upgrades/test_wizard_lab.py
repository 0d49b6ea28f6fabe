"""The Upgrade Cluster wizard against the lab: the directory check of a new name goes through the
deployment server (Get-ADComputer), the Summary shows the real prerequisites (the BMCs answer) and
the plan, and Finish starts the job — or, refused, saves nothing."""
import pytest
from django.urls import reverse

from core.models import AuditEntry
from fabric.inventory import add_deployment_server, discover_cluster
from fabric.models import (
    HostGroup,
    LibraryImage,
    LogicalNetwork,
    PhysicalComputerProfile,
    RunAsAccount,
    StaticIPPool,
    Subnet,
)
from jobs.models import Job
from tests.agents.conftest import https_target
from tests.upgrades.test_wizard import current_step, post, row_data, rows

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.lab]

# Three 2019 nodes with BMCs (quorum holds with one out), a WDS with a 2022 VHDX that
# accepts CredSSP (the directory check is a second hop), and a name already taken in the directory.
TOPOLOGY = """
[lab]
name = "wizard"
domain = "contoso.com"
speed = 100.0

[defaults]
memory_gb = 64.0
credssp = true
deploy_seconds = 300.0
reboot_seconds = 60.0
boot_seconds = 60.0

[directory]
taken_names = ["HV-OLD01"]

[[clusters]]
name = "WZ19"
kind = "hyperv"
witness = true
vms = [{ name = "wz-vm1", owner = "WZ-N1", memory_gb = 4.0 }, { name = "wz-vm2", owner = "WZ-N2", memory_gb = 4.0 }]

[[clusters.nodes]]
name = "WZ-N1"
os = "2019"

[[clusters.nodes]]
name = "WZ-N2"
os = "2019"

[[clusters.nodes]]
name = "WZ-N3"
os = "2019"

[deployment_server]
name = "WZWDS"
os = "2022"
bmc = false
images = [{ name = "Windows Server 2022 SERVERDATACENTER", os = "2022", group = "WS2022", file = "WS2022.vhdx" }]
"""


@pytest.fixture
def wizard_lab(db):
    from django.contrib.auth.models import Group

    from core.roles import ADMINISTRATOR, OPERATOR, VIEWER
    from lab.testing import LabProcess

    for role in (VIEWER, OPERATOR, ADMINISTRATOR):     # a transactional test before this one flushed them
        Group.objects.get_or_create(name=role)
    with LabProcess(topology_text=TOPOLOGY, speed=100.0) as running:
        yield running
        running.assert_invariants_held()


def bring_in(lab):
    """The cluster and the deployment server added as an operator would, the nodes' BMCs known,
    a profile naming the 2022 VHDX and the lab's management subnet."""
    winrm = lab.entry("WZ19")["winrm"]
    run_as = RunAsAccount.objects.create(name="Lab WinRM", username=winrm["username"], password=winrm["password"])
    cluster = discover_cluster(run_as=run_as, **https_target(lab, "WZ19"))
    add_deployment_server(run_as=run_as, transport="credssp", **https_target(lab, "WZWDS"))
    bmc = lab.entry("WZ-N1")["bmc"]
    bmc_run_as = RunAsAccount.objects.create(name="Lab BMC", username=bmc["username"], password=bmc["password"])
    for node in cluster.nodes.all():
        entry = lab.entry(node.name)["bmc"]
        node.bmc_address, node.bmc_port, node.bmc_run_as = entry["address"], entry["port"], bmc_run_as
        node.save()
    network = LogicalNetwork.objects.create(name="Lab management")
    subnet = Subnet.objects.create(logical_network=network, name="Lab", cidr="127.0.10.0/24",
                                   gateway="127.0.10.254", dns_servers="127.0.10.253")
    StaticIPPool.objects.create(subnet=subnet, name="Lab pool", range_start="127.0.10.200", range_end="127.0.10.220")
    image = LibraryImage.objects.get(os_build=20348)
    profile = PhysicalComputerProfile.objects.create(name="WS2022 hosts", image=image, host_group=HostGroup.root())
    return cluster, profile, bmc_run_as


def walk_to_customize(client, cluster, profile, bmc_run_as):
    response = post(client, cluster, "nodes", {"nodes-select_all": "on", "nodes-profile": profile.pk})
    assert current_step(response) == "bmc", response.context["form"].errors
    html = response.content.decode()
    assert f'value="{bmc_run_as.pk}" selected' in html      # the nodes' BMC account, chosen already
    port = cluster.nodes.first().bmc_port
    response = post(client, cluster, "bmc", {"bmc-run_as": bmc_run_as.pk, "bmc-protocol": "ipmi", "bmc-port": port})
    assert current_step(response) == "customize", response.context["form"].errors
    assert "Missing Settings" not in response.content.decode()   # BMCs, MACs and addresses all known
    return response


def test_the_wizard_checks_names_in_the_directory_and_starts_the_upgrade(wizard_lab, operator_client):
    cluster, profile, bmc_run_as = bring_in(wizard_lab)
    response = walk_to_customize(operator_client, cluster, profile, bmc_run_as)

    # A name the directory already holds, with the AD check on: refused, through the deployment server.
    taken = row_data(response, {0: {"new_name": "HV-OLD01", "skip_ad_check": False}})
    response = post(operator_client, cluster, "customize", taken)
    assert current_step(response) == "customize"
    assert rows(response).forms[0].errors["new_name"] == [
        "HV-OLD01 already has a computer account in Active Directory: choose another name, or tick Skip "
        "Active Directory check to reuse it."]
    assert not Job.objects.exists()
    # Ticked again, the same name passes (the operator reuses the account); a free name passes the check.
    # WZ-N3 takes its address from the subnet's pool (allocated when the job uses it).
    response = post(operator_client, cluster, "customize",
                    row_data(response, {0: {"new_name": "WZ22-N1", "skip_ad_check": False},
                                        2: {"use_pool": "on", "ip": ""}}))
    assert current_step(response) == "summary", rows(response).errors

    html = response.content.decode()
    assert "Windows Server 2022" in html and "The BMC of WZ-N1 answers" in html and "The BMC of WZ-N2 answers" in html
    assert "Evict WZ-N1 from the cluster (Remove-ClusterNode)" in html and "wz-vm1 → WZ-N" in html
    assert "point of no return" in html.lower(), html[html.find("Prerequisites"):html.find("Prerequisites") + 3000]
    assert 'id="wizard-finish" disabled' not in html, html[html.find("Prerequisites"):html.find("Prerequisites") + 3000]

    response = post(operator_client, cluster, "summary", {"summary-functional_level": "on"})
    job = Job.objects.get(kind="rolling_upgrade")
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    request = job.params["request"]
    assert [n["new_name"] for n in request["nodes"]] == ["WZ22-N1", "", ""]
    assert [n["ip"] for n in request["nodes"]][1:] == ["127.0.10.2", "pool"] and request["functional_level"] is True
    assert request["bmc_run_as_id"] == bmc_run_as.pk and request["profile_id"] == profile.pk
    audit = AuditEntry.objects.get(detail__startswith="upgrade requested")
    assert (audit.username, audit.object_id) == ("otto", str(job.pk)) and "WZ-N1, WZ-N2, WZ-N3" in audit.detail
    lanes = set(job.steps.filter(is_group=True).values_list("title", flat=True))
    assert {"WZ-N1", "WZ-N2", "WZ-N3"} <= lanes


def test_a_refused_finish_says_why_on_the_summary_and_saves_nothing(wizard_lab, operator_client):
    cluster, profile, bmc_run_as = bring_in(wizard_lab)
    response = walk_to_customize(operator_client, cluster, profile, bmc_run_as)
    response = post(operator_client, cluster, "customize", row_data(response))
    assert current_step(response) == "summary"
    wizard_lab.fault("bmc_unresponsive", host="WZ-N2")       # the BMC stops answering before Finish
    response = post(operator_client, cluster, "summary", {"summary-functional_level": "on"})
    assert response.status_code == 200 and current_step(response) == "summary"
    html = response.content.decode()
    assert "Upgrade Cluster refused:" in html and "The BMC of WZ-N2 does not answer" in html
    assert not Job.objects.exists()
    # The pages are kept: with the fault gone, Finish (the functional level unticked) starts the job.
    wizard_lab.clear_faults()
    response = post(operator_client, cluster, "summary", {})
    job = Job.objects.get(kind="rolling_upgrade")
    assert response.status_code == 302 and reverse("jobs:job_detail", args=[job.pk]) == response["Location"]
    assert job.params["request"]["functional_level"] is False
    assert not job.steps.filter(name="upgrades.raise_functional_level").exists()


def test_the_directory_check_needs_a_logon_that_can_take_the_second_hop(wizard_lab):
    from fabric import agents
    from fabric.agents.directory import computer_name_taken
    from tests.agents.conftest import connection

    over_credssp = connection(wizard_lab, "WZWDS", transport="credssp")
    assert computer_name_taken(over_credssp, "HV-OLD01") is True
    assert computer_name_taken(over_credssp, "WZ19") is True           # the cluster's own account
    assert computer_name_taken(over_credssp, "WZ22-N9") is False       # ADIdentityNotFoundException: free
    over_ntlm = connection(wizard_lab, "WZWDS", transport="ntlm")
    with pytest.raises(agents.CmdletError, match="cannot reach a domain controller with your identity") as raised:
        computer_name_taken(over_ntlm, "WZ22-N9")
    assert raised.value.fqid.startswith("ActiveDirectoryServer:0")
    with pytest.raises(ValueError, match="is not a computer name"):
        computer_name_taken(over_credssp, "name; Remove-Item C:\\")
