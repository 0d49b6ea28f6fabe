"""The menu: entries ordered by weight, shown by role, exactly one highlighted for any page; and
breadcrumbs on every page, starting at the highlighted entry."""
import re

import pytest
from django.urls import reverse

from core.navigation import MenuItem, Section, highlighted, registry
from tests import factories as f

pytestmark = pytest.mark.django_db

NAV = re.compile(r'<nav class="mainnav"[^>]*>(.*?)</nav>', re.S)
CRUMBS = re.compile(r'<nav class="breadcrumbs" aria-label="Breadcrumbs"><ol>(.*?)</ol></nav>', re.S)
TAG = re.compile(r"<[^>]+>")


def highlighted_entries(html: str) -> list[str]:
    menu = NAV.search(html).group(1)
    return re.findall(r'<a href="[^"]*" class="active" aria-current="page">([^<]*)</a>', menu)


def breadcrumbs(html: str) -> list[str]:
    trail = CRUMBS.search(html)
    assert trail, "the page has no breadcrumbs"
    return [TAG.sub("", item).strip() for item in re.findall(r"<li[^>]*>(.*?)</li>", trail.group(1), re.S)]


def menu_labels(html: str) -> list[str]:
    return [TAG.sub("", a) for a in re.findall(r"<a [^>]*>[^<]*</a>", NAV.search(html).group(1))]


def test_the_baselines_page_highlights_baselines_alone_not_compliance_too(viewer_client):
    html = viewer_client.get(reverse("compliance:baseline_list")).content.decode()
    assert highlighted_entries(html) == ["Baselines"]
    assert breadcrumbs(html) == ["Compliance", "Baselines"]


def test_a_subnet_belongs_to_logical_networks_and_its_crumbs_name_its_network(viewer_client):
    network = f.network(name="Datacenter")
    subnet = f.subnet(network, cidr="10.20.0.0/24", name="Management")
    pool = f.pool(subnet, "10.20.0.10", "10.20.0.20", name="Hosts")
    html = viewer_client.get(subnet.get_absolute_url()).content.decode()
    assert highlighted_entries(html) == ["Logical networks"]
    assert breadcrumbs(html) == ["Networking", "Logical networks", "Datacenter", str(subnet)]
    html = viewer_client.get(pool.get_absolute_url()).content.decode()
    assert highlighted_entries(html) == ["Logical networks"]
    assert breadcrumbs(html)[:4] == ["Networking", "Logical networks", "Datacenter", str(subnet)]


def test_every_menu_page_highlights_exactly_its_own_entry(admin_client_ferry):
    for section in registry():
        for item in section.items:
            html = admin_client_ferry.get(reverse(item.url_name)).content.decode()
            assert highlighted_entries(html) == [item.label], item.url_name
            assert breadcrumbs(html)[-1] == item.label


def test_detail_edit_and_delete_pages_keep_their_list_highlighted_and_say_where_they_are(admin_client_ferry):
    cluster = f.cluster(name="HVC7")
    image = f.image(name="WS2025")
    pages = {
        cluster.get_absolute_url(): ("Clusters", ["Fabric", "Clusters", "HVC7"]),
        reverse("fabric:cluster_edit", args=[cluster.pk]): ("Clusters", ["Fabric", "Clusters", "HVC7", "Edit"]),
        reverse("upgrades:upgrade_cluster", args=[cluster.pk]):
            ("Clusters", ["Fabric", "Clusters", "HVC7", "Upgrade Cluster"]),
        reverse("fabric:image_add"): ("Images", ["Library", "Images", "Add"]),
        reverse("fabric:image_delete", args=[image.pk]): ("Images", ["Library", "Images", "WS2025", "Delete"]),
    }
    for url, (entry, trail) in pages.items():
        html = admin_client_ferry.get(url).content.decode()
        assert highlighted_entries(html) == [entry], url
        assert breadcrumbs(html) == trail, url


def test_entries_show_by_role(viewer_client, admin_client_ferry):
    assert "Run As accounts" not in menu_labels(viewer_client.get("/fabric/servers/").content.decode())
    assert "Run As accounts" in menu_labels(admin_client_ferry.get("/fabric/servers/").content.decode())


def test_sections_and_entries_follow_their_weights():
    sections = registry()
    assert [s.weight for s in sections] == sorted(s.weight for s in sections)
    assert [s.name for s in sections][:3] == ["Fabric", "Library", "Networking"] and sections[-1].name == "Settings"
    for section in sections:
        assert [i.weight for i in section.items] == sorted(i.weight for i in section.items)


def test_one_entry_wins_when_several_could_claim_a_page():
    parent = Section("Compliance", items=(MenuItem("Compliance", "compliance:compliance"),))
    child = Section("Compliance", items=(MenuItem("Baselines", "compliance:baseline_list"),))
    named = Section("Fabric", items=(MenuItem("Clusters", "fabric:cluster_list", views=("upgrades:*",)),))
    entries = [(parent, parent.items[0], "/compliance/"), (child, child.items[0], "/compliance/baselines/"),
               (named, named.items[0], "/fabric/clusters/")]
    assert highlighted(entries, "/compliance/baselines/3/", "compliance:baseline_detail")[1].label == "Baselines"
    assert highlighted(entries, "/compliance/hosts/3/", "compliance:host_compliance")[1].label == "Compliance"
    assert highlighted(entries, "/upgrades/clusters/3/upgrade/", "upgrades:upgrade_cluster")[1].label == "Clusters"
    assert highlighted(entries, "/jobs/", "jobs:job_list") is None


def test_an_entry_with_an_unknown_role_is_refused():
    with pytest.raises(ValueError, match="unknown role"):
        MenuItem("Users", "core:users", role="superuser")


def test_a_signed_out_page_has_no_menu_and_no_breadcrumbs(client):
    html = client.get(reverse("login")).content.decode()
    assert 'class="mainnav"' not in html and 'class="breadcrumbs"' not in html


def test_every_page_of_the_walk_has_breadcrumbs_ending_where_it_is(admin_client_ferry):
    """Pages outside the menu's lists fill the block too (the job page, a host's compliance)."""
    from jobs.models import Job

    host = f.host(name="hv01")
    job = Job.objects.create(kind="refresh", title="Refresh hv01", lock_key="host:1")
    pages = {
        job.get_absolute_url(): ["Jobs", f"#{job.pk} Refresh hv01"],
        reverse("compliance:host_compliance", args=[host.pk]): ["Compliance", "hv01"],
        reverse("fabric:cluster_add"): ["Fabric", "Clusters", "Add Hyper-V cluster"],
        "/fabric/clusters/999999/": ["Fabric", "Clusters", "Not found"],
    }
    for url, trail in pages.items():
        html = admin_client_ferry.get(url).content.decode()
        assert breadcrumbs(html) == trail, url
