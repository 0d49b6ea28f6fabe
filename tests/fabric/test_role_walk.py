"""The role walk over every URL pattern of the project and every websocket route: anonymous is
sent to sign in (or refused), a viewer's POST changes nothing anywhere."""
import re

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from core.models import AuditEntry
from jobs.routing import websocket_urlpatterns

PUBLIC = {"login", "logout"}  # signing in and out is for everyone


def every_pattern(patterns=None, prefix="", namespace=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # Django's admin: staff only, with its own sign-in (see test_admin_pages_need_staff)
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from every_pattern(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name or ''}", prefix + str(entry.pattern)


def concrete(route: str) -> str:
    """`fabric/servers/<int:pk>/edit/` → `/fabric/servers/1/edit/` (the role is checked before the object)."""
    return "/" + re.sub(r"<(?:\w+:)?\w+>", "1", route)


def is_api_endpoint(name: str) -> bool:
    """The REST API answers 401/403 itself: tests/api/test_api.py walks it role by role."""
    return name.startswith("api:") and name not in API_PAGES


# One's own settings, which every role changes (tests/api/test_api.py, tests/notifications/test_pages.py).
PERSONAL = {"api:token_list", "notifications:subscription_list"}
API_PAGES = {"api:token_list", "api:token_revoke", "api:docs", "api:redoc"}  # pages for people


def routes():
    found = [(name, concrete(route)) for name, route in every_pattern()
             if name.split(":")[-1] not in PUBLIC and not is_api_endpoint(name)]
    assert len(found) > 60
    return found


def test_anonymous_is_sent_to_sign_in_on_every_url(db):
    client = Client()
    for name, url in routes():
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302 and response.url.startswith("/login/"), (name, url)


def test_a_viewer_changes_nothing_anywhere(viewer_client, inventory):
    from jobs.models import Job

    before = (AuditEntry.objects.count(), Job.objects.count())
    for name, url in routes():
        if url == "/" or name in PERSONAL:
            continue  # the redirect to the server list; one's own settings
        status = viewer_client.post(url, {"name": "intruder", "selected": ["host:1"]}).status_code
        # 404: the view looked for object 1 before the role (compliance:baseline_edit); still no change.
        assert status in (403, 404, 405), (name, url, status)
    assert (AuditEntry.objects.count(), Job.objects.count()) == before


def test_admin_pages_need_staff(viewer_client):
    response = viewer_client.get("/admin/")
    assert response.status_code == 302 and response.url.startswith("/admin/login/")


@pytest.mark.parametrize("route", [str(p.pattern) for p in websocket_urlpatterns])
def test_every_websocket_route_refuses_anonymous_and_foreign_origins(route, db):
    from config.asgi import application

    def connect(headers):
        async def attempt():
            communicator = WebsocketCommunicator(application, concrete(route), headers=headers)
            connected, code = await communicator.connect(timeout=5)
            await communicator.disconnect()
            return connected, code

        return async_to_sync(attempt)()

    assert connect([(b"origin", b"http://testserver")])[0] is False
    assert connect([(b"origin", b"http://evil.example")])[0] is False
    assert connect([(b"origin", b"http://testserver:8080")])[0] is False
