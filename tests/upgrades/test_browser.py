"""A real browser: an operator opens Upgrade Cluster from the cluster page, walks the wizard (Select
All, the profile, the BMC account, the BMC IPs Ferry did not know typed into the rows that said
Missing Settings, a taken name refused by the directory), presses Finish and watches the rolling
upgrade live on the job page, one swimlane per node, each ending with the post-script chosen on the
Summary. Real daphne and qcluster processes, real Chromium, the lab."""

import pytest
from django.db import connection

from core.roles import OPERATOR
from tests.helpers import CHROMIUM_ARGS, logged_in_page, require_binary, session_cookie
from tests.upgrades.processes import job_processes, upgrade_lab
from tests.upgrades.rolling_lab import TOPOLOGY, bring_in

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 30_000
UPGRADE_TIMEOUT_MS = 600_000


@pytest.fixture
def lab(transactional_db, monkeypatch):
    with upgrade_lab(TOPOLOGY, monkeypatch) as running:
        yield running


@pytest.fixture
def procs(lab, tmp_path):
    with job_processes(tmp_path) as processes:
        yield processes


def test_walk_the_wizard_to_finish_and_watch_the_upgrade_live(lab, procs, make_user):
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    from jobs.models import JobLogEntry
    from nodescripts.models import NodeScript

    cluster, profile, bmc_run_as, _ = bring_in(lab)
    NodeScript.objects.create(name="health-checks", body="Write-Output \"healthy: $env:COMPUTERNAME\"")
    nodes = list(cluster.nodes.order_by("name").values_list("name", flat=True))
    assert not cluster.nodes.filter(bmc_address__isnull=False).exists()      # Ferry knows no BMC yet
    bmcs = {name: lab.entry(name)["bmc"] for name in nodes}
    bmc_port = bmcs[nodes[0]]["port"]
    session = session_cookie(make_user("otto", OPERATOR))
    _, port = procs.daphne()
    procs.qcluster()
    base = f"http://127.0.0.1:{port}"
    cluster_url, profile_pk, bmc_pk = f"{base}{cluster.get_absolute_url()}", profile.pk, bmc_run_as.pk
    connection.close()

    # Playwright's sync API runs an event loop in this thread: no ORM calls from here on.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = logged_in_page(browser, base, session, TIMEOUT_MS)
        page.goto(cluster_url)
        page.click("#upgrade-actions >> text=Upgrade Cluster")

        # Nodes: nothing chosen is refused; then Select All ticks every node.
        page.select_option("#id_nodes-profile", str(profile_pk))
        page.click("text=Next ›")
        page.wait_for_selector("#nodes-choice >> text=Select the nodes to upgrade, or Select All.")
        page.check("#id_nodes-select_all")
        assert page.locator("#nodes-choice input[name=nodes-nodes]:checked").count() == len(nodes)
        page.click("text=Next ›")

        # BMC Configuration.
        page.wait_for_selector("text=DCMI management goes through IPMI")
        page.select_option("#id_bmc-run_as", str(bmc_pk))
        page.fill("#id_bmc-port", str(bmc_port))
        page.click("text=Next ›")

        # Deployment Customization: every row misses its BMC IP, so Next is disabled until typed.
        page.wait_for_selector(".node-row")
        assert page.locator(".missing-settings").count() == len(nodes)
        assert page.locator("#wizard-next").is_disabled()
        for index, name in enumerate(nodes):
            row = f"#node-row-{index}"
            assert name in page.inner_text(f"{row} legend")
            page.fill(f"{row} input[name$=bmc_address]", bmcs[name]["address"])
            page.dispatch_event(f"{row} input[name$=bmc_address]", "change")
            page.wait_for_selector(f"{row} .missing-settings", state="detached")
            if index < len(nodes) - 1:
                assert page.locator("#wizard-next").is_disabled()
        page.wait_for_selector("#wizard-next:not([disabled])")

        # A new name the directory already holds (the cluster's own name), with the AD check on:
        # the deployment server asks Active Directory and the row says so; the name is put back.
        first = "#node-row-0"
        page.fill(f"{first} input[name$=new_name]", "RU19")
        page.uncheck(f"{first} input[name$=skip_ad_check]")
        # the row redraws on each change: the redraw for the name must not undo the click that followed it
        page.wait_for_function("!document.querySelector('.htmx-request')")
        page.wait_for_selector(f"{first} input[name$=skip_ad_check]:not(:checked)")
        page.click("#wizard-next")
        page.wait_for_selector(f"{first} >> text=RU19 already has a computer account in Active Directory")
        page.fill(f"{first} input[name$=new_name]", nodes[0])
        page.check(f"{first} input[name$=skip_ad_check]")
        page.wait_for_selector(f"{first} input[name$=skip_ad_check]:checked")
        page.click("#wizard-next")

        # Summary: the verdicts all hold, the functional level is the ticked point of no return.
        page.wait_for_selector("#point-of-no-return")
        summary = page.inner_text("#wizard-form")
        assert "Refused" not in summary, summary
        for name in nodes:
            assert f"The BMC of {name} answers" in summary
        assert "point of no return" in summary.lower()
        assert page.locator("#id_summary-functional_level").is_checked()
        page.select_option("#id_summary-post_script", "health-checks")
        with page.expect_navigation():
            page.click("#wizard-finish")

        # The job page: one swimlane per node, followed live to the end without a reload.
        page.wait_for_url(f"{base}/jobs/*/")
        page.evaluate("window.loadedOnce = true")
        lanes = page.locator("#job-steps .lane .lane-head")
        assert lanes.count() == len(nodes)
        for name in nodes:
            lane = page.locator(f'#job-steps details.lane[data-node="{name}"]')
            assert lane.locator("text=Evict from the cluster").count() == 1
            assert lane.locator("text=Run the post-script").count() == 1
        page.wait_for_selector("#job-header[data-status=succeeded], #job-header[data-status=failed]",
                               timeout=UPGRADE_TIMEOUT_MS)
        assert page.locator("#job-header").get_attribute("data-status") == "succeeded", \
            page.inner_text("body")[:4000]
        assert page.evaluate("window.loadedOnce") is True
        assert page.locator("#job-steps .lane-head[data-status=succeeded]").count() == len(nodes)
        browser.close()

    state = lab.state()
    assert {h["os"]["build"] for h in state["hosts"] if h["cluster"] == "RU19"} == {20348}
    assert lab.run_json(nodes[0], "(Get-Cluster).ClusterFunctionalLevel | ConvertTo-Json") == 11
    assert sorted(vm["name"] for vm in state["vms"] if vm["state"] == "Running") == \
        ["ru-vm1", "ru-vm2", "ru-vm3", "ru-vm4", "ru-vm5"]
    lab.assert_invariants_held()
    for name in nodes:
        assert JobLogEntry.objects.filter(message__contains=f"healthy: {name}").exists()
