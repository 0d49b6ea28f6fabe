"""Who may do what: anonymous → login, viewer and operator read but change nothing (403)."""
import pytest

from core.models import AuditEntry
from fabric.models import Host, HostGroup, LibraryImage, RunAsAccount
from tests.fabric.routes import change_routes, every_route, operator_routes, read_routes

ADMIN_ONLY_READS = {"runas_list"}


def _snapshot():
    return (
        AuditEntry.objects.count(), HostGroup.objects.count(), Host.objects.count(),
        LibraryImage.objects.count(), RunAsAccount.objects.count(),
    )


def test_every_fabric_url_is_classified_and_changing_ones_exist(inventory):
    names = {name for name, _ in every_route(inventory)}
    changing = {name for name, _ in change_routes(inventory)}
    # The changes an administrator can make from these pages; a missing one would be a gap.
    for expected in ("runas_add", "runas_edit", "runas_delete", "image_add", "profile_edit", "pool_add",
                     "subnet_delete", "hostgroup_delete", "host_edit", "host_delete", "cluster_edit",
                     "deploymentserver_add", "logicalnetwork_delete"):
        assert expected in changing
    assert {"server_list", "host_detail", "cluster_detail", "vm_list", "fileserver_detail", "audit_list"} <= names


def test_anonymous_is_sent_to_the_login_page_everywhere(client, inventory):
    for name, url in every_route(inventory):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, (name, url)
            assert response.url.startswith("/login/"), (name, url)


@pytest.mark.parametrize("role_client", ["viewer_client", "operator_client"])
def test_viewer_and_operator_get_403_on_every_changing_url(request, role_client, inventory):
    client = request.getfixturevalue(role_client)
    before = _snapshot()
    routes = change_routes(inventory)
    assert len(routes) >= 28
    for name, url in routes:
        assert client.get(url).status_code == 403, (name, url)
        assert client.post(url, {"name": "intruder", "password": "x"}).status_code == 403, (name, url)
    assert _snapshot() == before


@pytest.mark.parametrize("role_client", ["viewer_client", "operator_client"])
def test_viewer_and_operator_read_every_page_but_run_as_accounts(request, role_client, inventory):
    client = request.getfixturevalue(role_client)
    for name, url in read_routes(inventory):
        response = client.get(url)
        expected = 403 if name in ADMIN_ONLY_READS else 200
        assert response.status_code == expected, (name, url)
        if expected == 200:
            assert b'href="/fabric/runas/add/"' not in response.content
            assert b"/edit/" not in response.content, f"{name} offers an edit link to a non-administrator"


def test_administrator_reads_every_page_and_every_form(admin_client_ferry, inventory):
    for name, url in every_route(inventory):
        assert admin_client_ferry.get(url).status_code == 200, (name, url)


def test_navigation_hides_run_as_accounts_from_viewers(viewer_client, admin_client_ferry, inventory):
    assert b"Run As accounts" not in viewer_client.get("/fabric/servers/").content
    assert b"Run As accounts" in admin_client_ferry.get("/fabric/servers/").content


def test_viewer_gets_403_on_every_operator_action(viewer_client, inventory):
    routes = operator_routes(inventory)
    assert {name for name, _ in routes} == {"cluster_refresh", "host_refresh"}
    for name, url in routes:
        assert viewer_client.post(url).status_code == 403, (name, url)
