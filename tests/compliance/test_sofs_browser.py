"""A real browser: an operator remediates a Scale-Out File Server from the Compliance view and
watches its roles, volumes and storage waits on the job page. Real daphne and qcluster, Chromium,
the lab (whose share-unavailable invariant is checked at the end)."""
from pathlib import Path

import pytest
from django.db import connection

from core.roles import OPERATOR
from tests.helpers import CHROMIUM_ARGS, logged_in_page, require_binary, session_cookie

from .labenv import bring_in, scan_all
from .test_browser import procs  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.slow]


@pytest.fixture
def lab_topology():
    return Path(__file__).resolve().parent / "lab" / "sofs.toml"


def test_remediate_a_file_server_from_the_compliance_view(lab, procs, make_user):  # noqa: F811
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    bring_in(lab, cluster="RFS", standalone=None)
    scan_all()
    session = session_cookie(make_user("fiona", OPERATOR))
    _, port = procs.daphne()
    procs.qcluster()
    base = f"http://127.0.0.1:{port}"
    connection.close()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = logged_in_page(browser, base, session)
        page.goto(f"{base}/compliance/")
        assert page.inner_text('[data-compliance="RFS"]') == "Non Compliant"
        page.check('tr.cluster-row[data-name="RFS"] input[name=selected]')
        page.locator('[data-action="remediate"]').click()

        dialog = page.locator("#remediate-modal")
        dialog.wait_for()
        assert "no live migration or save state choice" in dialog.inner_text()
        assert dialog.locator("input[name=evacuation][value=save]").count() == 0
        plan = dialog.locator('.plan-cluster[data-cluster="RFS"]')
        assert "role RSOFS → RF-N" in plan.locator('tr[data-node="RF-N1"]').inner_text()
        dialog.locator('button[value="submit"]').click()

        page.wait_for_url(f"{base}/jobs/*/")
        page.wait_for_selector("#job-header[data-status=succeeded], #job-header[data-status=failed]",
                               timeout=120_000)
        assert page.locator("#job-header").get_attribute("data-status") == "succeeded", page.inner_text("body")[:3000]
        assert page.locator("text=Moved the volume Cluster Disk 1 from RF-N1").count() >= 1
        assert page.locator("text=Waiting for storage resync on RFS").count() >= 1

        page.goto(f"{base}/compliance/")
        for name in ("RFS", "RF-N1", "RF-N2", "RF-N3"):
            assert page.inner_text(f'[data-compliance="{name}"]') == "Compliant"
        browser.close()
    lab.assert_invariants_held()
