"""A real browser: an operator presses Remediate on the Compliance view, watches the job live and
sees the cluster turn Compliant. Real daphne and qcluster processes, real Chromium, the lab."""
import os

import pytest
from django.db import connection

from core.roles import OPERATOR
from tests.helpers import CHROMIUM_ARGS, logged_in_page, require_binary, session_cookie

from .labenv import bring_in, scan_all

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.slow]



@pytest.fixture
def procs(lab, tmp_path):
    from tests.jobs.procs import Processes, database_url, fast_env

    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict),
           **fast_env(FERRY_COMPLIANCE_POLL_SECONDS="0.05")}
    processes = Processes(tmp_path, env)
    yield processes
    processes.stop_all()


def test_remediate_from_the_compliance_view_and_watch_it_turn_compliant(lab, procs, make_user):
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    bring_in(lab)
    scan_all()
    session = session_cookie(make_user("otto", OPERATOR))
    _, port = procs.daphne()
    procs.qcluster()
    base = f"http://127.0.0.1:{port}"
    connection.close()

    # Playwright's sync API runs an event loop in this thread: no ORM calls from here on.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = logged_in_page(browser, base, session)
        page.goto(f"{base}/compliance/")
        assert page.inner_text('[data-compliance="RCL"]') == "Non Compliant"
        remediate = page.locator('[data-action="remediate"]')
        assert remediate.is_disabled()
        page.check('tr.node-row[data-name="R-N3"] input[name=selected]')  # compliant: still nothing to do
        assert remediate.is_disabled()
        page.uncheck('tr.node-row[data-name="R-N3"] input[name=selected]')
        page.check('tr.cluster-row[data-name="RCL"] input[name=selected]')
        assert remediate.is_enabled()
        remediate.click()

        dialog = page.locator("#remediate-modal")
        dialog.wait_for()
        assert "Do not restart the servers after remediation" in dialog.inner_text()
        plan = dialog.locator('.plan-cluster[data-cluster="RCL"]')
        assert "Skipped — already compliant, not drained" in plan.locator('tr[data-node="R-N3"]').inner_text()
        assert "r-app1 → R-N" in plan.locator('tr[data-node="R-N1"]').inner_text()
        dialog.locator('input[name=evacuation][value=save]').check()  # the dry run follows the options
        page.wait_for_selector('tr[data-node="R-N1"] >> text=Save state: r-app1')
        dialog.locator('input[name=evacuation][value=live]').check()
        page.wait_for_selector('tr[data-node="R-N1"] >> text=r-app1 → R-N')
        dialog.locator('button[value="submit"]').click()

        page.wait_for_url(f"{base}/jobs/*/")
        page.evaluate("window.loadedOnce = true")
        page.wait_for_selector("#job-header[data-status=succeeded], #job-header[data-status=failed]",
                               timeout=120_000)
        header = page.locator("#job-header")
        assert header.get_attribute("data-status") == "succeeded", page.inner_text("body")[:3000]
        assert page.evaluate("window.loadedOnce") is True  # followed live, never reloaded
        assert page.locator("text=R-N1 is back").count() >= 1  # a node restarted, seen on the page

        page.goto(f"{base}/compliance/")
        assert page.inner_text('[data-compliance="RCL"]') == "Compliant"
        for node in ("R-N1", "R-N2", "R-N3", "R-N4"):
            assert page.inner_text(f'[data-compliance="{node}"]') == "Compliant"
        browser.close()
    lab.assert_invariants_held()
