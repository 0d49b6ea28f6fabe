"""A real browser: an operator ticks a Hyper-V cluster on Fabric › Clusters, presses Upgrade clusters,
adds the file server that holds its VMs, chooses the profiles and the BMC account, reads the waves
and every cluster's prerequisites, submits, and watches the campaign to its end on its job page.
Real daphne and qcluster processes, real Chromium, the lab."""

import pytest
from django.db import connection

from core.roles import OPERATOR
from tests.helpers import CHROMIUM_ARGS, logged_in_page, require_binary, session_cookie
from tests.upgrades.campaign_lab import FILE_SERVER, HYPERV, TOPOLOGY, VMS, bring_in_both
from tests.upgrades.processes import job_processes, upgrade_lab

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 30_000
CAMPAIGN_TIMEOUT_MS = 900_000


@pytest.fixture
def lab(transactional_db, monkeypatch):
    with upgrade_lab(TOPOLOGY, monkeypatch) as running:
        yield running


@pytest.fixture
def procs(lab, tmp_path):
    with job_processes(tmp_path) as processes:
        yield processes


def test_tick_clusters_read_the_waves_submit_and_watch_the_campaign(lab, procs, make_user):
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    _, _, profile, file_servers, bmc_run_as = bring_in_both(lab)
    session = session_cookie(make_user("otto", OPERATOR))
    _, port = procs.daphne()
    procs.qcluster()
    base = f"http://127.0.0.1:{port}"
    profile_pk, file_servers_pk, bmc_pk = profile.pk, file_servers.pk, bmc_run_as.pk
    connection.close()

    # Playwright's sync API runs an event loop in this thread: no ORM calls from here on.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = logged_in_page(browser, base, session, TIMEOUT_MS)
        page.goto(f"{base}/fabric/clusters/")
        page.check(f'input[name=clusters][aria-label="Choose {HYPERV}"]')
        with page.expect_navigation():
            page.click("#upgrade-clusters >> text=Upgrade clusters")
        assert page.get_by_label(HYPERV, exact=True).is_checked()
        assert not page.get_by_label(FILE_SERVER, exact=True).is_checked()
        page.get_by_label(FILE_SERVER, exact=True).check()
        page.select_option("#id_profile", str(profile_pk))
        page.select_option("#id_file_server_profile", str(file_servers_pk))
        page.select_option("#id_bmc_run_as", str(bmc_pk))
        with page.expect_navigation():
            page.click("text=Show the plan")

        waves = page.inner_text("#campaign-waves")
        assert f"Wave 1: {FILE_SERVER}" in waves and f"Wave 2: {HYPERV}" in waves, waves
        preview = page.inner_text("#campaign-preview")
        assert "Refused" not in preview, preview
        assert "The BMC of UCF-N1 answers" in preview and "The BMC of UCH-N3 answers" in preview
        with page.expect_navigation():
            page.click("#campaign-submit")

        page.wait_for_url(f"{base}/jobs/*/")
        assert "Campaign: upgrade UCFS, UCHV" in page.inner_text("h1")
        page.wait_for_selector("#job-header[data-status=succeeded], #job-header[data-status=failed]",
                               timeout=CAMPAIGN_TIMEOUT_MS)
        assert page.locator("#job-header").get_attribute("data-status") == "succeeded", \
            page.inner_text("body")[:4000]
        assert page.locator("#job-steps .lane-head[data-status=succeeded]").count() == 2
        assert page.locator("#job-steps .child-job a").count() == 2
        browser.close()

    state = lab.state()
    assert {h["os"]["build"] for h in state["hosts"] if h["cluster"] in (FILE_SERVER, HYPERV)} == {20348}
    assert sorted(vm["name"] for vm in state["vms"] if vm["state"] == "Running") == VMS
    lab.assert_invariants_held()
