"""Bad input: a field error on the right field, nothing saved, nothing audited."""
import pytest
from django.urls import reverse

from core.models import AuditEntry
from fabric.models import (
    DeploymentServer,
    Host,
    HostGroup,
    LibraryImage,
    PhysicalComputerProfile,
    RunAsAccount,
    StaticIPPool,
    Subnet,
)


def assert_rejected(client, url, data, field, model):
    rows, audits = model.objects.count(), AuditEntry.objects.count()
    response = client.post(url, data)
    assert response.status_code == 200, f"expected the form back, got {response.status_code}"
    errors = response.context["form"].errors
    assert field in errors, f"no error on {field}: {errors.as_data()}"
    assert "Nothing was saved" in response.content.decode()
    assert (model.objects.count(), AuditEntry.objects.count()) == (rows, audits)
    return errors[field]


SUBNET = {"name": "site2", "cidr": "10.30.0.0/24", "vlan": "30", "gateway": "10.30.0.1",
          "dns_servers": "10.30.0.10", "dns_suffix": "contoso.example"}


@pytest.mark.parametrize("change,field", [
    ({"cidr": "10.30.0.0/33"}, "cidr"),
    ({"cidr": "10.30.0.1/24"}, "cidr"),  # host bits set
    ({"cidr": "banana"}, "cidr"),
    ({"cidr": "10.30.0.0"}, "cidr"),  # no prefix length
    ({"cidr": "10.20.0.0/16"}, "cidr"),  # overlaps mgmt-site1 (10.20.0.0/24)
    ({"cidr": "10.20.0.0/24"}, "cidr"),  # the same subnet again
    ({"vlan": "4095"}, "vlan"),
    ({"vlan": "-1"}, "vlan"),
    ({"gateway": "10.31.0.1"}, "gateway"),  # outside the subnet
    ({"gateway": "10.30.0.300"}, "gateway"),
    ({"gateway": "10.30.0.0"}, "gateway"),  # the network address
    ({"dns_servers": "10.30.0.10, 8.8.8"}, "dns_servers"),
    ({"dns_suffix": "bad_suffix!"}, "dns_suffix"),
    ({"name": "mgmt-site1"}, "name"),  # duplicate
])
def test_subnet_bad_input(admin_client_ferry, inventory, change, field):
    url = reverse("fabric:subnet_add", args=[inventory.network.pk])
    assert_rejected(admin_client_ferry, url, {**SUBNET, **change}, field, Subnet)


def test_subnet_reports_every_bad_field_at_once(admin_client_ferry, inventory):
    url = reverse("fabric:subnet_add", args=[inventory.network.pk])
    data = {**SUBNET, "cidr": "10.30.0.1/24", "vlan": "5000", "dns_servers": "8.8.8"}
    assert_rejected(admin_client_ferry, url, data, "cidr", Subnet)
    errors = admin_client_ferry.post(url, data).context["form"].errors
    assert {"cidr", "vlan", "dns_servers"} <= set(errors)


POOL = {"name": "spare", "range_start": "10.20.0.200", "range_end": "10.20.0.220"}


@pytest.mark.parametrize("change,field,message", [
    ({"range_start": "10.21.0.1"}, "range_start", "outside the subnet"),
    ({"range_end": "10.20.1.5"}, "range_end", "outside the subnet"),
    ({"range_start": "10.20.0.90", "range_end": "10.20.0.120"}, "range_start", "overlaps the pool mgmt-hosts"),
    ({"range_start": "10.20.0.210", "range_end": "10.20.0.200"}, "range_end", "ends before it starts"),
    ({"range_start": "10.20.0.999"}, "range_start", "valid"),
    ({"name": "mgmt-hosts"}, "name", "already exists"),
])
def test_pool_bad_input(admin_client_ferry, inventory, change, field, message):
    url = reverse("fabric:pool_add", args=[inventory.subnet.pk])
    errors = assert_rejected(admin_client_ferry, url, {**POOL, **change}, field, StaticIPPool)
    assert message in " ".join(errors)


def test_pool_cannot_shrink_past_an_allocated_address(admin_client_ferry, inventory):
    url = reverse("fabric:pool_edit", args=[inventory.pool.pk])
    data = {"name": inventory.pool.name, "range_start": "10.20.0.101", "range_end": "10.20.0.150"}
    errors = assert_rejected(admin_client_ferry, url, data, "range_start", StaticIPPool)
    assert "10.20.0.100" in " ".join(errors)
    inventory.pool.refresh_from_db()
    assert inventory.pool.range_start == "10.20.0.100"


def host_data(host, **change):
    data = {"host_group": host.host_group_id, "address": host.address, "winrm_port": "5986", "winrm_https": "on",
            "winrm_transport": "ntlm", "ca_path": "", "run_as": "", "live_migration_limit": "2",
            "management_mac": "", "bmc_address": "", "bmc_port": "623", "bmc_protocol": "ipmi", "bmc_run_as": ""}
    data.update(change)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("change,field", [
    ({"management_mac": "00-15-5D-ZZ-01-02"}, "management_mac"),
    ({"management_mac": "00:15:5d:01:02"}, "management_mac"),
    ({"bmc_address": "10.0.0.300"}, "bmc_address"),
    ({"bmc_port": "70000"}, "bmc_port"),
    ({"address": "not an address!"}, "address"),
    ({"address": "10.0.0.256"}, "address"),
    ({"winrm_transport": "basic"}, "allow_insecure"),  # Basic needs an explicit allowance
    ({"winrm_https": None}, "allow_insecure"),  # so does plain HTTP
    ({"live_migration_limit": "0"}, "live_migration_limit"),
    ({"host_group": "999999"}, "host_group"),
])
def test_host_bad_input_changes_nothing(admin_client_ferry, inventory, change, field):
    host = inventory.standalone
    url = reverse("fabric:host_edit", args=[host.pk])
    before = Host.objects.filter(pk=host.pk).values().get()
    assert_rejected(admin_client_ferry, url, host_data(host, **change), field, Host)
    assert Host.objects.filter(pk=host.pk).values().get() == before


def test_host_edit_normalises_the_mac_and_accepts_an_allowed_insecure_setting(admin_client_ferry, inventory):
    host = inventory.standalone
    data = host_data(host, management_mac="00:15:5d:0a:0b:0c", winrm_transport="basic", allow_insecure="on",
                     bmc_address="10.9.0.20", live_migration_limit="4")
    assert admin_client_ferry.post(reverse("fabric:host_edit", args=[host.pk]), data).status_code == 302
    host.refresh_from_db()
    assert (host.management_mac, host.live_migration_limit, host.bmc_address) == ("00-15-5D-0A-0B-0C", 4, "10.9.0.20")
    assert "WARNING" in admin_client_ferry.get(host.get_absolute_url()).content.decode()


IMAGE = {"name": "ws2025", "vhd_path": "\\\\library\\images\\ws2025.vhdx", "os_name": "Windows Server 2025",
         "os_version": "10.0.26100", "os_build": "26100"}


@pytest.mark.parametrize("change,field", [
    ({"name": "ws2022"}, "name"),
    ({"vhd_path": "ws2025.iso"}, "vhd_path"),
    ({"vhd_path": "images\\ws2025.vhdx"}, "vhd_path"),  # not a full path
    ({"os_version": "2025"}, "os_version"),
    ({"os_build": "-1"}, "os_build"),
])
def test_image_bad_input(admin_client_ferry, inventory, change, field):
    assert_rejected(admin_client_ferry, reverse("fabric:image_add"), {**IMAGE, **change}, field, LibraryImage)


def test_profile_bad_input(admin_client_ferry, inventory):
    base = {"name": "p2", "image": inventory.image.pk, "host_group": inventory.group.pk}
    url = reverse("fabric:profile_add")
    assert_rejected(admin_client_ferry, url, {**base, "domain": "contoso.example"}, "domain_join_run_as",
                    PhysicalComputerProfile)
    assert_rejected(admin_client_ferry, url, {**base, "domain": "contoso..example",
                                              "domain_join_run_as": inventory.runas.pk}, "domain",
                    PhysicalComputerProfile)


@pytest.mark.parametrize("change,field", [
    ({"address": "http://wds02/"}, "address"),
    ({"name": "wds01"}, "name"),
    ({"winrm_port": "0"}, "winrm_port"),
])
def test_deployment_server_bad_input(admin_client_ferry, inventory, change, field):
    data = {"name": "wds02", "address": "10.20.0.6", "winrm_port": "5986", "winrm_https": "on",
            "winrm_transport": "ntlm", "remote_install_path": "D:\\RemoteInstall", **change}
    assert_rejected(admin_client_ferry, reverse("fabric:deploymentserver_add"), data, field, DeploymentServer)


def test_run_as_duplicate_name(admin_client_ferry, inventory):
    data = {"name": "fabric-admin", "username": "x", "password": "p-1", "confirm_password": "p-1"}
    assert_rejected(admin_client_ferry, reverse("fabric:runas_add"), data, "name", RunAsAccount)


def test_host_group_rules(admin_client_ferry, inventory):
    client = admin_client_ferry
    root = HostGroup.root()
    child = HostGroup.objects.create(name="Rack 1", parent=inventory.group)
    # a duplicate name under the same parent (any case)
    assert_rejected(client, reverse("fabric:hostgroup_add"), {"name": "production", "parent": root.pk},
                    "name", HostGroup)
    # a group cannot move under its own subgroup
    url = reverse("fabric:hostgroup_edit", args=[inventory.group.pk])
    assert_rejected(client, url, {"name": "Production", "parent": child.pk}, "parent", HostGroup)
    inventory.group.refresh_from_db()
    assert inventory.group.parent_id == root.pk
    # the root can be described but not renamed, moved or deleted
    response = client.post(reverse("fabric:hostgroup_edit", args=[root.pk]), {"name": "Renamed", "description": "top"})
    assert response.status_code == 302
    root.refresh_from_db()
    assert (root.name, root.description) == ("All Hosts", "top")
    response = client.post(reverse("fabric:hostgroup_delete", args=[root.pk]))
    assert response.status_code == 409 and "root of the tree" in response.content.decode()
    # an empty group can go
    assert client.post(reverse("fabric:hostgroup_delete", args=[child.pk])).status_code == 302
    assert not HostGroup.objects.filter(pk=child.pk).exists()
