"""A real browser after a failed remediation: a node never came back from its restart. The operator
sees the node's real state on the job, host, cluster and Compliance pages; once the machine is fixed
they press Resume node, a second operator watching the cluster page sees it being resumed live, and
the cluster is healthy again. Real daphne and qcluster processes, real Chromium, the lab."""
import os
import time

import pytest
from django.db import connection

from compliance.orchestration import submit_cluster_remediation
from compliance.remediation import RemediationOptions
from core.roles import OPERATOR
from fabric.models import Host
from tests.helpers import CHROMIUM_ARGS, logged_in_page, require_binary, session_cookie

from .labenv import bring_in, describe, finish, scan_all

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.slow]


def node_states(lab) -> dict:
    return {n["name"]: n["state"] for c in lab.state()["clusters"] for n in c["nodes"]}


def test_an_operator_sees_a_node_that_never_came_back_and_resumes_it(lab, tmp_path, make_user):
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    from tests.jobs.procs import Processes, database_url, fast_env

    cluster, _, _ = bring_in(lab, standalone=None)
    scan_all()
    lab.fault("host_stays_down", host="R-N4")  # the machine is broken until someone fixes it
    options = RemediationOptions(max_retries_per_node=0, reboot_timeout_minutes=0.02,
                                 node_order=["R-N4", "R-N1", "R-N2", "R-N3"])
    job = finish(submit_cluster_remediation(cluster, options)[0])
    assert job.status == "failed", describe(job)
    node = Host.objects.get(name="R-N4")
    otto = session_cookie(make_user("otto", OPERATOR))
    olga = session_cookie(make_user("olga", OPERATOR))

    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict), **fast_env()}
    procs = Processes(tmp_path, env)
    try:
        _, port = procs.daphne()
        procs.qcluster()
        base = f"http://127.0.0.1:{port}"
        connection.close()

        # Playwright's sync API runs an event loop in this thread: no ORM calls from here on.
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = logged_in_page(browser, base, otto)
            page.goto(f"{base}/jobs/{job.pk}/")
            state = page.inner_text('.node-states li[data-node="R-N4"] .node-state')
            assert state.startswith("Down in RCL, its VMs moved to R-N"), state
            assert "did not come back after its restart" in state
            assert "Resume node" in page.inner_text(".job-error")
            assert page.locator('details.lane[data-node="R-N1"]').get_attribute("open") is None  # pending: folded
            assert page.locator('details.lane[data-node="R-N4"]').get_attribute("open") is not None

            for url in (f"/fabric/servers/{node.pk}/", f"/fabric/clusters/{cluster.pk}/"):
                page.goto(base + url)
                assert state in page.inner_text('[data-failure-node="R-N4"]'), url
            page.goto(f"{base}/compliance/")
            assert state in page.inner_text('[data-failure-node="R-N4"]')

            watcher = logged_in_page(browser, base, olga)
            watcher.goto(f"{base}/fabric/clusters/{cluster.pk}/")
            watcher.evaluate("""() => {
                window.badges = [];
                const live = document.querySelector('.object-live');
                new MutationObserver(() => window.badges.push(live.innerText)).observe(live, {subtree: true, childList: true, characterData: true});
            }""")

            lab.clear_faults()
            lab.power("R-N4", "cycle")  # the machine is fixed and boots
            deadline = time.monotonic() + 30
            while node_states(lab)["R-N4"] != "Paused":
                assert time.monotonic() < deadline, node_states(lab)
                time.sleep(0.05)

            page.goto(f"{base}/jobs/{job.pk}/")
            page.click('button[name="resume_node"][data-node="R-N4"]')
            page.wait_for_url(lambda url: f"/jobs/{job.pk}/" not in url and "/jobs/" in url)
            page.wait_for_selector("#job-header[data-status=succeeded], #job-header[data-status=failed]",
                                   timeout=120_000)
            assert page.get_attribute("#job-header", "data-status") == "succeeded", page.inner_text("body")[:3000]
            # The watcher never reloaded: it saw the job come and go live.
            watcher.wait_for_function("""() => window.badges.some(t => t.startsWith('Resuming a node (job #'))
                                               && document.querySelector('.object-live').innerText.trim() === ''""")

            page.goto(f"{base}/fabric/clusters/{cluster.pk}/")
            assert page.locator("[data-failure-node]").count() == 0
            page.goto(f"{base}/compliance/")
            assert page.locator('[data-failure-node="R-N4"]').count() == 0
            page.goto(f"{base}/jobs/{job.pk}/")
            assert "back in service after Resume node" in page.inner_text('.node-states li[data-node="R-N4"]')
            assert page.locator('button[name="resume_node"]').count() == 0
            browser.close()
    finally:
        procs.stop_all()

    assert set(node_states(lab).values()) == {"Up"}
    assert {vm["host"] for vm in lab.state()["vms"] if vm["name"] == "r-file1"} == {"R-N4"}
