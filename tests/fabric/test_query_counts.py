"""List pages cost the same number of SQL queries for 5 rows as for 50 (no query per row)."""
from io import StringIO

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.audit import AuditAction, record
from fabric.models import Cluster, DeploymentServer, HostGroup, PhysicalComputerProfile
from tests import factories

MAX_QUERIES = 20


def count_queries(client, url) -> int:
    client.get(url)  # once before counting: the first page of a process fills caches (content types)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(context.captured_queries)


def inventory_pages(prefix) -> dict[str, str]:
    """The same pages, pointed at the objects one generate_fabric run made."""
    site = HostGroup.objects.get(name="Site 1", parent__name=f"Synthetic fabric {prefix}")
    biggest = Cluster.objects.filter(kind="hyperv", name__startswith=prefix).order_by("-name").first()
    sofs = Cluster.objects.filter(kind="sofs", name__startswith=prefix).order_by("-name").first()
    node = biggest.nodes.order_by("name").first()
    return {
        "host list": reverse("fabric:server_list"),
        "host list of a group, sorted by VMs": reverse("fabric:server_list") + f"?group={site.pk}&sort=-vm_count",
        "host list filtered": (
            reverse("fabric:server_list") + "?status=responding&os_name=Windows+Server+2019+Datacenter"
        ),
        "VM list": reverse("fabric:vm_list"),
        "VM list by owner node": reverse("fabric:vm_list") + "?sort=host&page=2",
        "cluster list": reverse("fabric:cluster_list"),
        "cluster page": biggest.get_absolute_url(),
        "file server list": reverse("fabric:fileserver_list"),
        "file server page": sofs.get_absolute_url(),
        "host page": node.get_absolute_url(),
    }


def generate(prefix, **options):
    call_command("generate_fabric", prefix=prefix, stdout=StringIO(), **options)


def test_inventory_pages_are_flat_from_5_to_50_hosts(viewer_client, db):
    generate("a", hosts=5, vms=120, cluster_size=2, sofs_clusters=1, sofs_nodes=2)
    small = {name: count_queries(viewer_client, url) for name, url in inventory_pages("a").items()}
    # ten times the hosts, bigger clusters and file servers, four times the VMs per host
    generate("b", hosts=50, vms=5000, cluster_size=16, sofs_clusters=3, sofs_nodes=4)
    large = {name: count_queries(viewer_client, url) for name, url in inventory_pages("b").items()}
    assert large == small
    assert max(large.values()) <= MAX_QUERIES, large


def library_pages():
    return [reverse(f"fabric:{name}") for name in
            ("image_list", "profile_list", "deploymentserver_list", "logicalnetwork_list", "runas_list", "audit_list")]


def add_library_objects(n, start=0):
    for i in range(start, start + n):
        account = factories.runas(f"acct{i}")
        image = factories.image(f"img{i}")
        net = factories.network(f"net{i}")
        sub = factories.subnet(net, f"10.{100 + i}.0.0/24", name=f"sub{i}")
        pool = factories.pool(sub, f"10.{100 + i}.0.10", f"10.{100 + i}.0.20", name=f"pool{i}")
        profile = PhysicalComputerProfile.objects.create(
            name=f"prof{i}", image=image, host_group=HostGroup.root(), ip_pool=pool, domain="contoso.example",
            domain_join_run_as=account, admin_run_as=account,
        )
        DeploymentServer.objects.create(name=f"wds{i}", address=f"10.{100 + i}.0.5", run_as=account)
        record(None, AuditAction.CREATE, profile)


def test_library_network_and_settings_lists_are_flat(admin_client_ferry, db):
    add_library_objects(3)
    small = [count_queries(admin_client_ferry, url) for url in library_pages()]
    add_library_objects(40, start=3)
    large = [count_queries(admin_client_ferry, url) for url in library_pages()]
    assert large == small
    assert max(large) <= MAX_QUERIES
