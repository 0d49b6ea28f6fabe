"""Create, read, edit and delete every object an administrator manages, each change audited."""
from dataclasses import dataclass
from typing import Callable

import pytest
from django.urls import reverse

from core.audit import AuditAction
from core.models import AuditEntry
from fabric.models import (
    DeploymentServer,
    HostGroup,
    LibraryImage,
    LogicalNetwork,
    PhysicalComputerProfile,
    RunAsAccount,
    StaticIPPool,
    Subnet,
)


@dataclass
class Spec:
    model: type
    add_url: Callable
    data: Callable  # inventory -> valid POST data
    change: dict  # fields changed by the edit
    list_url: Callable

    def __str__(self):
        return self.model.__name__


SPECS = [
    Spec(
        LibraryImage, lambda inv: reverse("fabric:image_add"),
        lambda inv: {"name": "ws2025", "vhd_path": "\\\\library\\images\\ws2025.vhdx",
                     "os_name": "Windows Server 2025 Datacenter", "os_version": "10.0.26100", "os_build": "26100"},
        {"os_version": "10.0.26100.1742"}, lambda obj: reverse("fabric:image_list"),
    ),
    Spec(
        PhysicalComputerProfile, lambda inv: reverse("fabric:profile_add"),
        lambda inv: {"name": "hv-2025", "description": "rebuild", "image": inv.image.pk, "host_group": inv.group.pk,
                     "ip_pool": inv.pool.pk, "domain": "contoso.example", "domain_join_run_as": inv.runas.pk,
                     "admin_run_as": inv.runas.pk},
        {"domain": "fabrikam.example"}, lambda obj: reverse("fabric:profile_list"),
    ),
    Spec(
        DeploymentServer, lambda inv: reverse("fabric:deploymentserver_add"),
        lambda inv: {"name": "wds02", "address": "wds02.contoso.example", "winrm_port": "5986", "winrm_https": "on",
                     "winrm_transport": "kerberos", "run_as": inv.runas.pk, "remote_install_path": "E:\\RemoteInstall"},
        {"winrm_port": "15986"}, lambda obj: reverse("fabric:deploymentserver_list"),
    ),
    Spec(
        LogicalNetwork, lambda inv: reverse("fabric:logicalnetwork_add"),
        lambda inv: {"name": "Storage", "description": "SMB3 traffic"},
        {"description": "SMB Direct traffic"}, lambda obj: reverse("fabric:logicalnetwork_list"),
    ),
    Spec(
        Subnet, lambda inv: reverse("fabric:subnet_add", args=[inv.network.pk]),
        lambda inv: {"name": "mgmt-site2", "cidr": "10.30.0.0/24", "vlan": "30", "gateway": "10.30.0.1",
                     "dns_servers": "10.30.0.10, 10.30.0.11", "dns_suffix": "site2.contoso.example"},
        {"vlan": "31"}, lambda obj: obj.logical_network.get_absolute_url(),
    ),
    Spec(
        StaticIPPool, lambda inv: reverse("fabric:pool_add", args=[inv.subnet.pk]),
        lambda inv: {"name": "mgmt-spare", "range_start": "10.20.0.200", "range_end": "10.20.0.220"},
        {"range_end": "10.20.0.230"}, lambda obj: obj.subnet.get_absolute_url(),
    ),
    Spec(
        RunAsAccount, lambda inv: reverse("fabric:runas_add"),
        lambda inv: {"name": "bmc-admin", "username": "ADMIN", "password": "Bmc-P4ss!", "confirm_password": "Bmc-P4ss!",
                     "description": "IPMI"},
        {"username": "root"}, lambda obj: reverse("fabric:runas_list"),
    ),
    Spec(
        HostGroup, lambda inv: reverse("fabric:hostgroup_add"),
        lambda inv: {"name": "Edge", "parent": inv.group.pk, "description": "branch offices"},
        {"description": "branch offices and shops"}, lambda obj: reverse("fabric:server_list"),
    ),
]


def _audit(action):
    return AuditEntry.objects.filter(action=action).order_by("-id").first()


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_administrator_creates_reads_edits_and_deletes(spec, admin_client_ferry, inventory):
    client = admin_client_ferry
    data = spec.data(inventory)

    # create
    assert client.get(spec.add_url(inventory)).status_code == 200
    response = client.post(spec.add_url(inventory), data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    obj = spec.model.objects.get(name=data["name"])
    entry = _audit(AuditAction.CREATE)
    assert (entry.username, entry.object_repr, entry.source_address) == ("ada", str(obj), "127.0.0.1")
    assert entry.object_type == spec.model._meta.verbose_name

    # list and detail show it
    assert data["name"] in client.get(spec.list_url(obj)).content.decode()
    if not isinstance(obj, RunAsAccount):
        assert data["name"] in client.get(obj.get_absolute_url()).content.decode()

    # edit
    edit_url = reverse(f"fabric:{_url_prefix(spec.model)}_edit", args=[obj.pk])
    assert client.get(edit_url).status_code == 200
    response = client.post(edit_url, {**data, **spec.change})
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    obj.refresh_from_db()
    field, value = next(iter(spec.change.items()))
    assert str(getattr(obj, field)) == value
    entry = _audit(AuditAction.CHANGE)
    assert entry.object_id == str(obj.pk) and value in entry.detail

    # delete
    delete_url = reverse(f"fabric:{_url_prefix(spec.model)}_delete", args=[obj.pk])
    assert client.get(delete_url).status_code == 200
    assert client.post(delete_url).status_code == 302
    assert not spec.model.objects.filter(pk=obj.pk).exists()
    entry = _audit(AuditAction.DELETE)
    assert (entry.object_id, entry.object_repr) == (str(obj.pk), str(obj))


def _url_prefix(model) -> str:
    return {
        LibraryImage: "image", PhysicalComputerProfile: "profile", DeploymentServer: "deploymentserver",
        LogicalNetwork: "logicalnetwork", Subnet: "subnet", StaticIPPool: "pool", RunAsAccount: "runas",
        HostGroup: "hostgroup",
    }[model]


def test_each_change_is_in_the_audit_log_page_a_viewer_can_read(admin_client_ferry, viewer_client, inventory):
    admin_client_ferry.post(reverse("fabric:logicalnetwork_add"), {"name": "Backup", "description": ""})
    page = viewer_client.get(reverse("fabric:audit_list") + "?action=create").content.decode()
    assert "Backup" in page and "ada" in page and "127.0.0.1" in page


@pytest.mark.parametrize("url_name,obj_attr,reason", [
    ("image_delete", "image", "still used by physical computer profile hyperv-2022"),
    ("runas_delete", "runas", "still used by"),
    ("pool_delete", "pool", "1 address is allocated"),
    ("subnet_delete", "subnet", "1 address is allocated"),
    ("logicalnetwork_delete", "network", "1 address is allocated"),
    ("hostgroup_delete", "group", "still contains"),
])
def test_delete_refused_while_in_use(admin_client_ferry, inventory, url_name, obj_attr, reason):
    obj = getattr(inventory, obj_attr)
    before = AuditEntry.objects.count()
    response = admin_client_ferry.post(reverse(f"fabric:{url_name}", args=[obj.pk]))
    assert response.status_code == 409
    assert reason in response.content.decode()
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert AuditEntry.objects.count() == before
