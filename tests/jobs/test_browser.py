"""Two users in two real Chromium contexts watch jobs run by a real worker process: both see every
step change without reloading, and the job page's buttons work after live updates replaced them."""
from pathlib import Path

import pytest

from core.roles import OPERATOR, VIEWER
from jobs.engine import PlanStep, submit_job
from jobs.models import JobStep
from tests.helpers import CHROMIUM_ARGS, logged_in_page, require_binary, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.usefixtures("live_db")]

def open_live_page(browser, base, session, job_pk):
    page = logged_in_page(browser, base, session)
    page.goto(f"{base}/jobs/{job_pk}/")
    page.evaluate("window.loadedOnce = true")
    page.wait_for_function("window.ferryLive && window.ferryLive.open")
    return page


def press(page, button_name):
    """Press a job button; the page follows the answer's HX-Redirect back to the job page."""
    with page.expect_navigation():
        page.click(f"#job-header button[name={button_name}]")
    page.wait_for_function("window.ferryLive && window.ferryLive.open")


def test_two_users_see_every_step_change_live(procs, trace, make_user):
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    users = {"vera": make_user("vera", VIEWER), "otto": make_user("otto", OPERATOR)}
    sessions = {name: session_cookie(user) for name, user in users.items()}
    plan = [
        PlanStep("tests.jobs.sample_steps.gated", title=f"{verb} {node}", group=node, params={"key": f"{verb}-{node}"})
        for node in ("hv01", "hv02") for verb in ("drain", "patch")
    ]
    job, _ = submit_job(kind="remediation", title="Watched together", plan=plan, params=trace,
                        requested_by=users["otto"])
    steps = [(s.pk, s.params["key"]) for s in JobStep.objects.filter(job=job, is_group=False).order_by("order")]
    lanes = list(JobStep.objects.filter(job=job, is_group=True).values_list("pk", flat=True))
    _, port = procs.daphne()
    procs.qcluster()
    base = f"http://127.0.0.1:{port}"

    # Playwright's sync API runs an event loop in this thread: no ORM calls from here on.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        pages = {name: open_live_page(browser, base, session, job.pk) for name, session in sessions.items()}
        for page in pages.values():  # the first run of these steps anywhere
            page.wait_for_selector("#job-header .job-eta >> text=no history yet")

        for pk, key in steps:
            for page in pages.values():
                page.wait_for_selector(f"#step-{pk}[data-status=running] >> text=Waiting for gate {key}")
                # the header follows in the same frame or the next (a frame reads the job, then its steps)
                page.wait_for_selector(f"#job-header .waiting-for >> text=gate {key}")
            Path(trace["gates"], key).touch()
            for page in pages.values():
                page.wait_for_selector(f"#step-{pk}[data-status=succeeded]", state="attached")  # its lane may fold
                page.wait_for_selector(f"#job-log-entries >> text={key} passed its gate")
                if key != steps[-1][1]:  # once a step has run, the ones like it have an ETA, updated live
                    page.wait_for_selector("#job-header .job-eta >> text=/ETA .* \\(about \\d+ min left\\)/")

        for name, page in pages.items():
            page.wait_for_selector("#job-header[data-status=succeeded]")
            for lane in lanes:
                assert page.get_attribute(f"#step-{lane}", "data-status") == "succeeded"
            assert page.evaluate("window.loadedOnce") is True  # never reloaded
            assert page.evaluate("window.ferryLive.open") is True  # it was the socket, not polling
            assert "100%" in page.inner_text("#job-header")
            assert page.locator("#job-header .job-eta").count() == 0
            assert page.locator("#job-header .job-report a", has_text="Run report").count() == 1
            assert page.locator("#running-jobs").get_attribute("data-count") == "0"
        browser.close()


def test_cancel_and_restart_work_on_a_page_live_updates_replaced(procs, trace, make_user):
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    users = {"vera": make_user("vera", VIEWER), "otto": make_user("otto", OPERATOR)}
    sessions = {name: session_cookie(user) for name, user in users.items()}
    gated = "tests.jobs.sample_steps.gated"
    plan = [PlanStep(gated, title=f"Step {key}", group="hv01", params={"key": key}) for key in ("a1", "a2")]
    running, _ = submit_job(kind="remediation", title="To cancel", plan=plan, params=trace, requested_by=users["otto"])
    first = JobStep.objects.filter(job=running, is_group=False).order_by("order").first()
    plan = [PlanStep("tests.jobs.sample_steps.wait_forever", title="Never ready", group="hv02"),
            PlanStep("tests.jobs.sample_steps.record", title="Afterwards", group="hv02", params={"key": "b2"})]
    failing, _ = submit_job(kind="remediation", title="To restart", plan=plan, params=trace, requested_by=users["otto"])
    _, port = procs.daphne()
    procs.qcluster()
    base = f"http://127.0.0.1:{port}"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        otto, vera = (open_live_page(browser, base, sessions[name], running.pk) for name in ("otto", "vera"))
        otto.wait_for_selector(f"#step-{first.pk}[data-status=running]")
        Path(trace["gates"], "a1").touch()
        for page in (otto, vera):
            page.wait_for_selector(f"#step-{first.pk}[data-status=succeeded]")
            assert page.evaluate("window.loadedOnce") is True  # the header was replaced by the socket
        press(otto, "cancel")
        for page in (otto, vera):
            page.wait_for_selector("#job-header[data-status=cancelled]")
        assert "cancel requested" in otto.inner_text(".messages")
        press(otto, "retry")
        otto.wait_for_selector("#job-header >> text=Restarts")
        vera.wait_for_selector("#job-header[data-status=running]")
        Path(trace["gates"], "a2").touch()
        for page in (otto, vera):
            page.wait_for_selector("#job-header[data-status=succeeded]")

        otto.goto(f"{base}/jobs/{failing.pk}/")
        otto.wait_for_selector("#job-header[data-status=failed]")
        press(otto, "retry")
        otto.wait_for_selector("#job-header >> text=Restarts")
        otto.wait_for_selector("#job-header[data-status=failed]")
        press(otto, "restart_skip")
        otto.wait_for_selector("#job-header[data-status=succeeded]")
        assert "skipped" in otto.text_content("#job-steps").lower()  # in the lane, folded now that it is done
        browser.close()
    running.refresh_from_db()
    failing.refresh_from_db()
    assert running.restarts == 1 and running.status == "succeeded"
    assert failing.restarts == 2 and failing.status == "succeeded"


def test_job_times_show_in_the_browsers_zone_with_the_exact_time_on_hover_also_after_a_live_update(
    procs, trace, make_user
):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from tests import factories

    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    vera = make_user("vera", VIEWER)
    session = session_cookie(vera)
    plan = [PlanStep("tests.jobs.sample_steps.gated", title="Patch hv01", group="hv01", params={"key": "g1"})]
    job, _ = submit_job(kind="remediation", title="Seen from New York", plan=plan, params=trace)
    mixed = factories.cluster("HVC9", mixed_mode_since=timezone.now() - timedelta(minutes=8))
    _, port = procs.daphne()
    procs.qcluster()
    base = f"http://127.0.0.1:{port}"
    new_york = ZoneInfo("America/New_York")

    def local(iso: str):
        """What the page must show for an instant it carries: New York wall time and zone."""
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(new_york)
        return moment, moment.tzname()  # EST or EDT

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = logged_in_page(browser, base, session, timezone_id="America/New_York", locale="en-US")
        page.goto(f"{base}/jobs/?q=New+York")
        page.evaluate("window.loadedOnce = true")
        page.wait_for_function("window.ferryLive && window.ferryLive.open")
        started = page.locator(f"#job-row-{job.pk}[data-status=running] time[data-local]")
        started.wait_for()
        moment, zone = local(started.get_attribute("datetime"))
        assert started.inner_text() == f"{moment:%Y-%m-%d %H:%M:%S} {zone}"
        assert started.get_attribute("title") == f"{moment:%Y-%m-%d %H:%M:%S} {zone}"
        assert "UTC" not in started.inner_text()

        Path(trace["gates"], "g1").touch()  # the job finishes: the socket replaces its row
        finished = page.locator(f"#job-row-{job.pk}[data-status=succeeded] time[data-local]")
        finished.wait_for()
        assert page.evaluate("window.loadedOnce") is True  # a live update, not a reload
        moment, zone = local(finished.get_attribute("datetime"))
        assert finished.inner_text() == f"{moment:%Y-%m-%d %H:%M:%S} {zone}"
        assert finished.get_attribute("title") == f"{moment:%Y-%m-%d %H:%M:%S} {zone}"
        assert page.locator(f"#job-row-{job.pk} .percent").inner_text() == "100%"

        job_page = logged_in_page(browser, base, session, timezone_id="America/New_York", locale="en-US")
        job_page.goto(f"{base}/jobs/{job.pk}/")
        logged = job_page.locator("#job-log-entries time[data-local]").first
        logged.wait_for()
        moment, zone = local(logged.get_attribute("datetime"))
        assert logged.inner_text() == f"{moment:%H:%M:%S}"
        assert logged.get_attribute("title") == f"{moment:%Y-%m-%d %H:%M:%S} {zone}"

        job_page.goto(f"{base}{mixed.get_absolute_url()}")  # a relative time keeps its words
        relative = job_page.locator(".warning-box time[data-style=relative][data-local]")
        relative.wait_for()
        moment, zone = local(relative.get_attribute("datetime"))
        assert relative.inner_text() == "8\xa0minutes ago"
        assert relative.get_attribute("title") == f"{moment:%Y-%m-%d %H:%M:%S} {zone}"
        browser.close()
