"""The Upgrade Cluster wizard's pages, without machines: each page refuses bad input with field
errors and saves nothing; Missing Settings keep Next (and so Finish) out of reach until filled."""
import pytest
from django.urls import reverse

from core.models import AuditEntry
from fabric.models import (
    Cluster,
    DeploymentServer,
    Host,
    HostGroup,
    IPAllocation,
    LibraryImage,
    LogicalNetwork,
    PhysicalComputerProfile,
    RunAsAccount,
    StaticIPPool,
    Subnet,
)
from jobs.models import Job

pytestmark = pytest.mark.django_db

PREFIX = "upgrade_cluster_{}"


@pytest.fixture
def fabric():
    root = HostGroup.root()
    cluster = Cluster.objects.create(name="HVC19", address="hvc19.contoso.com", host_group=root,
                                     functional_level=10)
    bmc = RunAsAccount.objects.create(name="BMC admin", username="ADMIN", password="bmc-secret-1")
    # BMCs on TEST-NET-1 (192.0.2.0/24, never routed): nothing answers them.
    nodes = []
    for i in (1, 2, 3):
        nodes.append(Host.objects.create(
            name=f"HV19-N{i}", address=f"10.0.1.{10 + i}", host_group=root, cluster=cluster, os_build=17763,
            management_mac=f"00-15-5D-00-01-0{i}" if i != 3 else "",
            bmc_address=f"192.0.2.{10 + i}" if i != 3 else None, bmc_port=623, bmc_run_as=bmc))
    wds = DeploymentServer.objects.create(name="WDS01", address="wds01.contoso.com")
    image = LibraryImage.objects.create(name="WS2022", vhd_path="D:\\RemoteInstall\\Images\\WS2022\\WS2022.vhdx",
                                        deployment_server=wds, image_name="Windows Server 2022 SERVERDATACENTER",
                                        image_group="WS2022", os_name="Windows Server 2022", os_version="10.0.20348",
                                        os_build=20348)
    wim = LibraryImage.objects.create(name="WS2022 WIM", vhd_path="D:\\RemoteInstall\\Images\\WS2022\\install.wim",
                                      deployment_server=wds, image_name="Windows Server 2022 (WIM)",
                                      os_name="Windows Server 2022", os_version="10.0.20348", os_build=20348)
    network = LogicalNetwork.objects.create(name="Management")
    subnet = Subnet.objects.create(logical_network=network, name="Mgmt", cidr="10.0.1.0/24", gateway="10.0.1.1")
    other = Subnet.objects.create(logical_network=network, name="Mgmt2", cidr="10.0.2.0/24")
    pool = StaticIPPool.objects.create(subnet=subnet, name="Mgmt pool", range_start="10.0.1.100",
                                       range_end="10.0.1.150")
    profile = PhysicalComputerProfile.objects.create(name="WS2022 hosts", image=image, host_group=root)
    wim_profile = PhysicalComputerProfile.objects.create(name="WIM hosts", image=wim, host_group=root)
    return dict(cluster=cluster, nodes=nodes, bmc=bmc, profile=profile, wim_profile=wim_profile, subnet=subnet,
                other_subnet=other, pool=pool, network=network)


def url(cluster):
    return reverse("upgrades:upgrade_cluster", args=[cluster.pk])


def post(client, cluster, step, data):
    body = {f"{PREFIX.format(cluster.pk)}-current_step": step}
    body.update(data)
    return client.post(url(cluster), body)


def current_step(response):
    return response.context["wizard"]["steps"].current


def nothing_saved(before_accounts=1):
    return not Job.objects.exists() and RunAsAccount.objects.count() == before_accounts


def to_customize(client, f, nodes=None, select_all=False):
    data = {"nodes-profile": f["profile"].pk}
    if select_all:
        data["nodes-select_all"] = "on"
    else:
        data["nodes-nodes"] = [n.pk for n in (nodes or f["nodes"])]
    response = post(client, f["cluster"], "nodes", data)
    assert current_step(response) == "bmc", response.context["form"].errors
    response = post(client, f["cluster"], "bmc", {"bmc-run_as": f["bmc"].pk, "bmc-protocol": "ipmi", "bmc-port": 623})
    assert current_step(response) == "customize", response.context["form"].errors
    return response


def rows(response):
    return response.context["form"]


def row_data(response, changes=None):
    """The Customization page's POST as the browser would send it, with `changes` (index → fields)."""
    formset = rows(response)
    data = {"customize-TOTAL_FORMS": len(formset.forms), "customize-INITIAL_FORMS": len(formset.forms)}
    for i, form in enumerate(formset.forms):
        for name, value in form.initial.items():
            if isinstance(value, bool):
                if value:
                    data[f"customize-{i}-{name}"] = "on"
            elif value not in (None, ""):
                data[f"customize-{i}-{name}"] = value
        for name, value in (changes or {}).get(i, {}).items():
            key = f"customize-{i}-{name}"
            if value is False:
                data.pop(key, None)
            else:
                data[key] = value
    return data


def test_entry_points_are_for_operators(fabric, operator_client, viewer_client):
    cluster = fabric["cluster"]
    wizard = url(cluster)
    for page in (cluster.get_absolute_url(), reverse("fabric:cluster_list")):
        assert wizard in operator_client.get(page).content.decode()
        assert wizard not in viewer_client.get(page).content.decode()
    assert viewer_client.get(wizard).status_code == 403
    row = reverse("upgrades:customize_row", args=[cluster.pk, 0])
    assert viewer_client.post(row, {"customize-TOTAL_FORMS": 1}).status_code == 403
    html = operator_client.get(wizard).content.decode()
    assert "HV19-N1" in html and "Select All" in html and "WS2022 hosts" in html


def test_nodes_page_refuses_no_node_and_no_profile(fabric, operator_client):
    response = post(operator_client, fabric["cluster"], "nodes", {})
    assert current_step(response) == "nodes"
    errors = response.context["form"].errors
    assert "Select the nodes to upgrade, or Select All." in errors["nodes"]
    assert "Choose a physical computer profile" in errors["profile"][0]
    assert "Nothing was saved" in response.content.decode() and nothing_saved()


def test_nodes_page_refuses_a_profile_whose_image_is_not_a_vhdx(fabric, operator_client):
    response = post(operator_client, fabric["cluster"], "nodes",
                    {"nodes-select_all": "on", "nodes-profile": fabric["wim_profile"].pk})
    assert current_step(response) == "nodes"
    assert "an upgrade deploys a VHDX image" in response.context["form"].errors["profile"][0]


def test_nodes_page_refuses_an_image_a_rolling_upgrade_cannot_reach(fabric, operator_client):
    Host.objects.filter(name="HV19-N2").update(os_build=9600)       # Windows Server 2012 R2
    response = post(operator_client, fabric["cluster"], "nodes",
                    {"nodes-select_all": "on", "nodes-profile": fabric["profile"].pk})
    assert current_step(response) == "nodes"
    assert response.context["form"].errors["profile"] == [
        "HV19-N2: A rolling upgrade to Windows Server 2022 starts from Windows Server 2016 or Windows Server "
        "2019, not from Windows Server 2012 R2."]
    # Without that node, the others may go.
    response = post(operator_client, fabric["cluster"], "nodes",
                    {"nodes-nodes": [fabric["nodes"][0].pk], "nodes-profile": fabric["profile"].pk})
    assert current_step(response) == "bmc"


def test_select_all_gives_one_row_per_node_and_a_subset_only_its_nodes(fabric, operator_client):
    response = to_customize(operator_client, fabric, select_all=True)
    assert [f.node_name for f in rows(response).forms] == ["HV19-N1", "HV19-N2", "HV19-N3"]
    # Back to Nodes, a subset: the rows follow the new choice.
    post(operator_client, fabric["cluster"], "customize", {"wizard_goto_step": "nodes"})
    response = to_customize(operator_client, fabric, nodes=[fabric["nodes"][0], fabric["nodes"][2]])
    assert [f.node_name for f in rows(response).forms] == ["HV19-N1", "HV19-N3"]


def test_bmc_page_refuses_a_port_out_of_range_and_no_account(fabric, operator_client):
    post(operator_client, fabric["cluster"], "nodes", {"nodes-select_all": "on", "nodes-profile": fabric["profile"].pk})
    for port in (0, 65536, "x"):
        response = post(operator_client, fabric["cluster"], "bmc", {"bmc-protocol": "ipmi", "bmc-port": port})
        assert current_step(response) == "bmc"
        errors = response.context["form"].errors
        assert errors["port"] == ["A port is a number from 1 to 65535."]
        assert "Choose the Run As account" in errors["run_as"][0]
    html = response.content.decode()
    assert "DCMI management goes through IPMI" in html and nothing_saved()


@pytest.mark.slow   # the Summary asks each BMC for its power state; unanswered, pyghmi gives up after its timeout
def test_missing_settings_block_next_until_filled(fabric, operator_client):
    response = to_customize(operator_client, fabric, select_all=True)
    html = response.content.decode()
    # N3 has no BMC address and no MAC; nobody has IP settings (no pool on the profile, and the
    # nodes' addresses lie in Mgmt, so they are kept as static addresses — except none is missing).
    assert html.count("Missing Settings") == 1 and "BMC IP, management NIC MAC" in html
    assert 'id="wizard-next" disabled' in html
    response = post(operator_client, fabric["cluster"], "customize", row_data(response))
    assert current_step(response) == "customize"
    errors = rows(response).forms[2].errors
    assert errors["bmc_address"][0].startswith("Missing setting") and errors["management_mac"][0].startswith("Missing")
    response = post(operator_client, fabric["cluster"], "customize",
                    row_data(response, {2: {"bmc_address": "192.0.2.13", "management_mac": "00:15:5d:00:01:03"}}))
    assert current_step(response) == "summary", rows(response).errors
    html = response.content.decode()
    # No machine answers here: the BMC prerequisites fail, so Finish stays disabled.
    assert "The BMC of HV19-N1 does not answer" in html and 'id="wizard-finish" disabled' in html
    assert nothing_saved()


def test_customize_row_endpoint_updates_the_alert_and_next(fabric, operator_client):
    response = to_customize(operator_client, fabric, select_all=True)
    row_url = reverse("upgrades:customize_row", args=[fabric["cluster"].pk, 2])
    data = row_data(response)
    html = operator_client.post(row_url, data).content.decode()
    assert "Missing Settings" in html and 'id="wizard-next" hx-swap-oob="true" disabled' in html
    data = row_data(response, {2: {"bmc_address": "192.0.2.13", "management_mac": "00-15-5D-00-01-03"}})
    html = operator_client.post(row_url, data).content.decode()
    assert "Missing Settings" not in html and 'id="wizard-next" hx-swap-oob="true">' in html
    # The subnets follow the logical network; the pool box is offered only where the subnet has a pool.
    assert "Mgmt2 (10.0.2.0/24)" in html and "From the pool Mgmt pool" in html
    data["customize-2-subnet"] = fabric["other_subnet"].pk
    html = operator_client.post(row_url, data).content.decode()
    assert "The selected subnet has no static IP pool." in html


@pytest.mark.parametrize("changes, field, message", [
    ({"ip": "10.0.1.300"}, "ip", "Enter an IPv4 or IPv6 address."),
    ({"ip": "10.0.7.5"}, "ip", "10.0.7.5 is outside the subnet 10.0.1.0/24."),
    ({"ip": "10.0.1.12"}, "ip", "10.0.1.12 is in use by HV19-N2."),
    ({"ip": "10.0.1.1"}, "ip", "10.0.1.1 is the gateway of 10.0.1.0/24."),
    ({"ip": "10.0.1.120"}, "ip", "is inside the static IP pool Mgmt pool"),
    ({"ip": "10.0.1.100"}, "ip", "10.0.1.100 is already allocated from the pool Mgmt pool"),
    ({"ip": ""}, "ip", "Missing setting: type an address inside 10.0.1.0/24 or obtain one from the pool Mgmt pool."),
    ({"management_mac": "00-15-5D-00-01"}, "management_mac", "is not a MAC address"),
    ({"bmc_address": "10.0.9"}, "bmc_address", "Enter an IPv4 or IPv6 address."),
    ({"bmc_address": "192.0.2.12"}, "bmc_address", "192.0.2.12 is the BMC of HV19-N2."),
    ({"new_name": "HV19-N2"}, "new_name", "HV19-N2 is already a host Ferry manages"),
    ({"new_name": "bad_name!"}, "new_name", "is not a computer name"),
    ({"new_name": "HV22-NODE-NUMBER-1"}, "new_name", "at most 15 characters"),
])
def test_customize_page_refuses_bad_input(fabric, operator_client, changes, field, message):
    IPAllocation.objects.create(pool=fabric["pool"], address="10.0.1.100", description="a VM")
    response = to_customize(operator_client, fabric, nodes=fabric["nodes"][:2])
    response = post(operator_client, fabric["cluster"], "customize", row_data(response, {0: changes}))
    assert current_step(response) == "customize"
    errors = rows(response).forms[0].errors[field]
    assert any(message in e for e in errors), errors
    assert "Nothing was saved" in response.content.decode()
    assert nothing_saved() and IPAllocation.objects.count() == 1


def test_two_rows_cannot_share_an_address_or_a_name(fabric, operator_client):
    response = to_customize(operator_client, fabric, nodes=fabric["nodes"][:2])
    response = post(operator_client, fabric["cluster"], "customize",
                    row_data(response, {0: {"ip": "10.0.1.50", "new_name": "HV22-A"},
                                        1: {"ip": "10.0.1.50", "new_name": "hv22-a"}}))
    assert current_step(response) == "customize"
    errors = rows(response).forms[1].errors
    assert errors["ip"] == ["HV19-N1 already has this IP address."]
    assert errors["new_name"] == ["HV19-N1 already has this computer name."] and nothing_saved()


def test_the_pool_box_needs_a_subnet_with_a_pool(fabric, operator_client):
    response = to_customize(operator_client, fabric, nodes=fabric["nodes"][:1])
    data = row_data(response, {0: {"subnet": fabric["other_subnet"].pk, "use_pool": "on", "ip": ""}})
    response = post(operator_client, fabric["cluster"], "customize", data)
    assert current_step(response) == "customize"
    assert "Missing setting: type an address inside 10.0.2.0/24." in rows(response).forms[0].errors["ip"]


def test_inline_run_as_account_is_for_administrators_audited_and_never_echoed(fabric, operator_client,
                                                                               admin_client_ferry):
    add = reverse("upgrades:bmc_run_as_add", args=[fabric["cluster"].pk])
    secret = "new-bmc-Secret-42"
    body = {"new_run_as-name": "BMC 2", "new_run_as-username": "root", "new_run_as-password": secret,
            "new_run_as-confirm_password": secret}
    assert operator_client.post(add, body).status_code == 403 and RunAsAccount.objects.count() == 1
    bad = admin_client_ferry.post(add, dict(body, **{"new_run_as-confirm_password": "other"}))
    assert "The two passwords are not the same." in bad.content.decode() and secret not in bad.content.decode()
    assert RunAsAccount.objects.count() == 1
    response = admin_client_ferry.post(add, body)
    html = response.content.decode()
    account = RunAsAccount.objects.get(name="BMC 2")
    assert f'<option value="{account.pk}" selected>' in html and secret not in html
    assert AuditEntry.objects.filter(action="create", object_repr="BMC 2", username="ada").count() == 1
    # The wizard page never stores the inline form's password with its step data.
    post(admin_client_ferry, fabric["cluster"], "nodes",
         {"nodes-select_all": "on", "nodes-profile": fabric["profile"].pk})
    post(admin_client_ferry, fabric["cluster"], "bmc", {"bmc-run_as": account.pk, "bmc-protocol": "ipmi",
                                                        "bmc-port": 623, "new_run_as-password": secret})
    assert secret not in str(dict(admin_client_ferry.session))

