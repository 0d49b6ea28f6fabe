"""A real browser on the API's documentation page: Swagger UI comes from Ferry itself (no CDN; the
machine has no outside network) and shows the endpoints, read from /api/schema/ with the session.
(pytest-django's live server: a thread, quicker to start than daphne, enough for one page.)"""
import pytest
from django.db import connection

from core.roles import ROLES, VIEWER
from tests.helpers import CHROMIUM_ARGS, logged_in_page, require_binary, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_docs_page_shows_the_endpoints_from_local_files(live_server, make_user):
    chromium = require_binary("chromium")
    from django.contrib.auth.models import Group
    from playwright.sync_api import sync_playwright

    for role in ROLES:  # a transactional test before this one flushed them
        Group.objects.get_or_create(name=role)
    session = session_cookie(make_user("vera", VIEWER))
    base = live_server.url
    connection.close()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = logged_in_page(browser, base, session)
            asked = []
            page.on("request", lambda request: asked.append(request.url))
            page.goto(f"{base}/api/docs/")
            page.get_by_text("/api/clusters/{id}/remediate/").first.wait_for()
            page.get_by_text("/api/jobs/{id}/cancel/").first.wait_for()
            assert page.locator(".swagger-ui").count() == 1
            assert asked and all(url.startswith(base) or url.startswith("data:") for url in asked), asked
        finally:
            browser.close()
