"""A real browser on the API's documentation page: Swagger UI comes from Ferry itself (no CDN; the
machine has no outside network) and shows the endpoints, read from /api/schema/ with the session."""
import os

import pytest
from django.db import connection

from fabric.roles import ROLES, VIEWER
from tests.helpers import CHROMIUM_ARGS, logged_in_page, require_binary, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def procs(transactional_db, tmp_path):
    from django.contrib.auth.models import Group

    from tests.jobs.procs import Processes, database_url, fast_env

    for role in ROLES:
        Group.objects.get_or_create(name=role)
    processes = Processes(tmp_path, {**os.environ, "DATABASE_URL": database_url(connection.settings_dict),
                                     **fast_env()})
    yield processes
    processes.stop_all()


def test_the_docs_page_shows_the_endpoints_from_local_files(procs, make_user):
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    session = session_cookie(make_user("vera", VIEWER))
    _, port = procs.daphne()
    base = f"http://127.0.0.1:{port}"
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
