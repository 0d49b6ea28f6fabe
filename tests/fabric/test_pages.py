"""What operators see on the inventory pages."""
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from core.models import AuditEntry
from fabric.choices import HostStatus, NodeState, VMState
from fabric.models import Cluster, FileShare, Host, VirtualMachine
from tests import factories

HTMX = {"HTTP_HX_REQUEST": "true"}


def names_in(response) -> list[str]:
    return [row.record.name for row in response.context["table"].paginated_rows]


def test_selected_group_lists_its_hosts_and_those_of_every_group_below(viewer_client, db):
    europe = factories.group("Europe")
    paris = factories.group("Paris", parent=europe)
    rack = factories.group("Rack 7", parent=paris)
    paris_host = factories.host("par-hv01", host_group=rack)
    factories.host("ber-hv01", host_group=europe)
    factories.host("nyc-hv01", host_group=factories.group("America"))
    url = reverse("fabric:server_list")

    assert sorted(names_in(viewer_client.get(url, {"group": europe.pk}))) == ["ber-hv01", "par-hv01"]
    assert names_in(viewer_client.get(url, {"group": paris.pk})) == ["par-hv01"]
    assert len(names_in(viewer_client.get(url))) == 3
    page = viewer_client.get(url, {"group": paris.pk}).content.decode()
    assert "All Hosts › Europe › Paris" in page
    assert f'<a href="{paris_host.get_absolute_url()}">par-hv01</a>' in page
    assert viewer_client.get(url, {"group": "999999"}).status_code == 404
    assert viewer_client.get(url, {"group": "abc"}).status_code == 404


def test_host_list_filters_sorts_and_pages(viewer_client, db):
    hv = factories.cluster("hv-a")
    for i in range(60):
        factories.host(f"node{i:02d}", cluster=hv if i < 30 else None,
                       status=HostStatus.NOT_RESPONDING if i % 10 == 0 else HostStatus.RESPONDING,
                       node_state=(NodeState.PAUSED if i == 5 else NodeState.UP) if i < 30 else "",
                       os_name="Windows Server 2022 Datacenter" if i >= 50 else "Windows Server 2019 Datacenter")
    url = reverse("fabric:server_list")
    first = viewer_client.get(url)
    assert len(names_in(first)) == 50 and "60 hosts" in first.content.decode()
    assert len(names_in(viewer_client.get(url, {"page": 2}))) == 10
    assert names_in(viewer_client.get(url, {"sort": "-name"}))[0] == "node59"
    assert names_in(viewer_client.get(url, {"status": "not_responding"})) == [f"node{i:02d}" for i in range(0, 60, 10)]
    assert names_in(viewer_client.get(url, {"cluster": "HV-A", "node_state": "Paused"})) == ["node05"]
    assert len(names_in(viewer_client.get(url, {"os_name": "Windows Server 2022 Datacenter"}))) == 10
    assert names_in(viewer_client.get(url, {"q": "node4"})) == [f"node4{i}" for i in range(10)]
    bad = viewer_client.get(url, {"status": "exploded"})
    assert bad.status_code == 200 and names_in(bad) == [] and "not understood" in bad.content.decode()


def test_htmx_table_requests_get_only_the_table(viewer_client, db):
    factories.host("hv01")
    url = reverse("fabric:server_list")
    partial = viewer_client.get(url, {"sort": "name"}, HTTP_HX_TARGET="results", **HTMX)
    html = partial.content.decode()
    assert partial.status_code == 200 and html.lstrip().startswith('<div id="results"')
    assert "<html" not in html and "hv01" in html and "Host groups" not in html
    assert 'hx-get="?sort=-name"' in html and 'href="?sort=-name"' in html  # links keep a real href
    assert "HX-Request" in partial["Vary"]
    full = viewer_client.get(url).content.decode()
    assert "<html" in full and "Host groups" in full


def test_host_page(viewer_client, inventory):
    host = inventory.node
    html = viewer_client.get(host.get_absolute_url()).content.decode()
    for text in ("hv-prod-n1", "Responding", "hv-prod", "Windows Server 2019 Datacenter", "build 17763",
                 "256 GB", "10.9.0.11", "IPMI 2.0", "sql01", "fabric-admin"):
        assert text in html, text
    assert "WARNING" not in html
    Host.objects.filter(pk=host.pk).update(winrm_https=False, allow_insecure=True)
    html = viewer_client.get(host.get_absolute_url()).content.decode()
    assert "WARNING: insecure connection" in html and "plain HTTP" in html
    assert "insecure" in viewer_client.get(reverse("fabric:server_list")).content.decode()


def test_cluster_page_shows_nodes_vms_with_owner_node_and_mixed_mode(viewer_client, inventory):
    cluster = inventory.cluster
    n2 = Host.objects.get(name="hv-prod-n2")
    Host.objects.filter(pk=n2.pk).update(node_state=NodeState.PAUSED, os_name="Windows Server 2022 Datacenter",
                                         os_build=20348)
    factories.vm("app02", n2, state=VMState.OFF)
    Cluster.objects.filter(pk=cluster.pk).update(mixed_mode_since=timezone.now() - timedelta(days=3))
    response = viewer_client.get(cluster.get_absolute_url())
    html = response.content.decode()
    nodes = {row.record.name: row.record.node_state for row in response.context["node_table"].rows}
    assert nodes == {"hv-prod-n1": "Up", "hv-prod-n2": "Paused"}
    owners = {row.record.name: row.record.host.name for row in response.context["vm_table"].paginated_rows}
    assert owners == {"sql01": "hv-prod-n1", "app02": "hv-prod-n2"}
    assert "Mixed mode since" in html and "3\xa0days" in html
    assert "Functional level" in html and ">10<" in html.replace(" ", "")
    assert "Windows Server 2022 Datacenter (build 20348)" in html
    partial = viewer_client.get(cluster.get_absolute_url(), HTTP_HX_TARGET="vms", **HTMX).content.decode()
    assert partial.lstrip().startswith('<div id="vms"') and "sql01" in partial and "Nodes" not in partial


def test_file_server_pages(viewer_client, inventory):
    listing = viewer_client.get(reverse("fabric:fileserver_list"))
    assert [row.record.name for row in listing.context["table"].paginated_rows] == ["sofs-prod"]
    assert "hv-prod" not in [row.record.name for row in listing.context["table"].paginated_rows]
    assert '<p class="muted count">1 file server</p>' in listing.content.decode()
    html = viewer_client.get(inventory.sofs.get_absolute_url()).content.decode()
    assert "sofs-prod-n1" in html and "\\\\sofs-fs\\vmstore1" in html and "Scale-Out File Server" in html
    # a SOFS is not a Hyper-V cluster page and vice versa
    assert viewer_client.get(reverse("fabric:cluster_detail", args=[inventory.sofs.pk])).status_code == 404
    assert viewer_client.get(reverse("fabric:fileserver_detail", args=[inventory.cluster.pk])).status_code == 404


def test_vm_list(viewer_client, inventory):
    url = reverse("fabric:vm_list")
    rows = viewer_client.get(url).context["table"].paginated_rows
    assert {(r.record.name, r.record.host.name) for r in rows} == {("sql01", "hv-prod-n1"), ("web01", "hv-lab-01")}
    only_ha = viewer_client.get(url, {"highly_available": "true"}).context["table"].paginated_rows
    assert [r.record.name for r in only_ha] == ["sql01"]
    by_node = viewer_client.get(url, {"node": "HV-LAB"}).context["table"].paginated_rows  # the name's beginning
    assert [r.record.name for r in by_node] == ["web01"]
    assert not viewer_client.get(url, {"node": "lab"}).context["table"].paginated_rows


def test_removing_hosts_and_clusters_from_management(admin_client_ferry, inventory):
    client = admin_client_ferry
    # a cluster node is removed with its cluster, not alone
    response = client.post(reverse("fabric:host_delete", args=[inventory.node.pk]))
    assert response.status_code == 409 and "remove the cluster" in response.content.decode()
    assert Host.objects.filter(pk=inventory.node.pk).exists()
    # a standalone host goes with its VMs
    assert client.post(reverse("fabric:host_delete", args=[inventory.standalone.pk])).status_code == 302
    assert (not Host.objects.filter(name="hv-lab-01").exists()
            and not VirtualMachine.objects.filter(name="web01").exists())
    # a cluster goes with its nodes, VMs and shares
    assert client.post(reverse("fabric:cluster_delete", args=[inventory.cluster.pk])).status_code == 302
    assert not Host.objects.filter(name__startswith="hv-prod").exists()
    assert not VirtualMachine.objects.filter(name="sql01").exists()
    response = client.post(reverse("fabric:cluster_delete", args=[inventory.sofs.pk]))
    assert response.url == reverse("fabric:fileserver_list")
    assert not FileShare.objects.exists()
    removed = list(AuditEntry.objects.filter(action="delete").values_list("object_repr", flat=True))
    assert sorted(removed) == ["hv-lab-01", "hv-prod", "sofs-prod"]


def test_cluster_edit_changes_group_and_is_audited(admin_client_ferry, inventory):
    target = factories.group("DR site")
    data = {"host_group": target.pk, "address": "hv-prod.contoso.example", "winrm_port": "5986", "winrm_https": "on",
            "winrm_transport": "kerberos", "run_as": inventory.runas.pk}
    assert admin_client_ferry.post(reverse("fabric:cluster_edit", args=[inventory.cluster.pk]), data).status_code == 302
    inventory.cluster.refresh_from_db()
    assert (inventory.cluster.host_group, inventory.cluster.winrm_transport) == (target, "kerberos")
    detail = AuditEntry.objects.get(action="change").detail
    assert "Production → DR site" in detail and "NTLM → Kerberos" in detail


def test_cluster_and_file_server_pages_show_the_witness_and_what_one_node_out_leaves(viewer_client, db):
    from fabric.choices import ClusterKind

    branch = factories.cluster("BRANCH", nodes=2, witness_kind="file_share", witness_name="File Share Witness",
                               witness_state="Online")
    html = viewer_client.get(branch.get_absolute_url()).content.decode()
    assert "<dt>Witness</dt><dd>File share witness File Share Witness, Online</dd>" in html
    assert "One node out leaves 2 of 3 votes with the witness: a node may leave for its updates." in html
    # a witness offline at the last refresh does not vote
    Cluster.objects.filter(pk=branch.pk).update(witness_state="Offline")
    html = viewer_client.get(branch.get_absolute_url()).content.decode()
    assert "Offline at the last refresh: its vote is not counted" in html
    assert "One node out would leave 1 of 2 votes, more than 1 are needed: Ferry takes no node out." in html
    # never read (added before Ferry read witnesses, or its reading failed): counted as none
    sofs = factories.cluster("SMALL-FS", kind=ClusterKind.SOFS, nodes=2)
    html = viewer_client.get(sofs.get_absolute_url()).content.decode()
    assert "not read yet: no witness vote is counted until a refresh reads it" in html
    assert "One node out would leave 1 of 2 votes" in html
    Cluster.objects.filter(pk=sofs.pk).update(witness_kind="disk", witness_name="Cluster Disk 2",
                                              witness_state="Online")
    html = viewer_client.get(sofs.get_absolute_url()).content.decode()
    assert "Disk witness Cluster Disk 2, Online" in html and "2 of 3 votes with the witness" in html
