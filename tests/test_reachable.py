"""Every add page is reachable: its list (or, for parts of an object, the page of the object it
belongs to) links it for an administrator and not for a viewer, who could not use it."""
import re

import pytest
from django.test import Client
from django.urls import resolve, reverse

from core.roles import ADMINISTRATOR, VIEWER
from tests.fabric.test_role_walk import concrete, every_pattern
from tests.factories import small_inventory

# add page → the page that lists what it adds, when the two names do not already say so (X_add ↔ X_list)
LISTED_ON = {
    "fabric:host_add": "fabric:server_list",
    "fabric:hostgroup_add": "fabric:server_list",
    "fabric:updateserver_add": "compliance:updateserver_list",
    "fabric:deploymentserver_discover_add": "fabric:deploymentserver_list",
    "fabric:subnet_add": "fabric:logicalnetwork_detail",
    "fabric:pool_add": "fabric:subnet_detail",
}
NOT_PAGES = {"upgrades:bmc_run_as_add"}  # a POST inside the wizard's BMC page, not a page of its own


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def add_pages():
    return sorted(name for name, _ in every_pattern() if name.endswith("_add") and name not in NOT_PAGES)


def list_page_of(add_name: str) -> str:
    if add_name in LISTED_ON:
        return LISTED_ON[add_name]
    namespace, name = add_name.split(":")
    return f"{namespace}:{name.removesuffix('_add')}_list"


def url_args(name: str, inv) -> list:
    route = dict(every_pattern())[name]
    if "<" not in route:
        return []
    owner = {"fabric:logicalnetwork_detail": inv.network, "fabric:subnet_add": inv.network,
             "fabric:subnet_detail": inv.subnet, "fabric:pool_add": inv.subnet}[name]
    return [owner.pk]


def links(page: str) -> set[str]:
    return {href.replace("&amp;", "&").split("?")[0] for href in re.findall(r'href="([^"]+)"', page)}


def test_every_add_page_has_a_list_page():
    names = dict(every_pattern())
    for add in add_pages():
        assert list_page_of(add) in names, f"{add}: no list page links it; add it to LISTED_ON"
        view = resolve(concrete(names[add])).func.view_class
        assert "get" in view.http_method_names and hasattr(view, "get"), f"{add} is not a page"


def test_each_add_page_is_linked_from_its_list_for_administrators_only(db, make_user):
    inv = small_inventory()
    clients = {}
    for role in (ADMINISTRATOR, VIEWER):
        clients[role] = Client()
        clients[role].force_login(make_user(role, role))
    checked = []
    for add in add_pages():
        listed_on = list_page_of(add)
        add_url = reverse(add, args=url_args(add, inv))
        list_url = reverse(listed_on, args=url_args(listed_on, inv))
        admin_page = clients[ADMINISTRATOR].get(list_url)
        assert admin_page.status_code == 200, (listed_on, admin_page.status_code)
        assert add_url in links(admin_page.content.decode()), f"{listed_on} ({list_url}) does not link {add_url}"
        assert clients[ADMINISTRATOR].get(add_url).status_code == 200, add
        viewer_page = clients[VIEWER].get(list_url)
        if viewer_page.status_code == 200:  # some lists are for administrators only (Run As, users)
            assert add_url not in links(viewer_page.content.decode()), f"{listed_on} shows {add} to a viewer"
        else:
            assert viewer_page.status_code == 403, listed_on
        checked.append(add)
    assert {"fabric:fileserver_add", "fabric:updateserver_add", "fabric:deploymentserver_discover_add",
            "fabric:deploymentserver_add", "fabric:cluster_add", "users:user_add"} <= set(checked)
