"""Every page in real Chromium at a desktop (1440 px) and a phone (390 px) width: axe-core finds
no serious or critical accessibility violation; on the phone no page scrolls sideways, the header
stays short and its menu opens to the navigation and Sign out.

The data is a small inventory, a scanned cluster and a job, so each list, detail page and form
has real content. One daphne process, one browser, one context per width."""
import os

import pytest
from django.db import connection
from django.test import Client
from django.urls import NoReverseMatch, resolve, reverse

from core.roles import ADMINISTRATOR
from tests.helpers import CHROMIUM_ARGS, require_binary, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}
SEVERE = {"serious", "critical"}
PHONE_HEADER_MAX_PX = 64  # brand and Menu on one line


def build_data():
    from tests import factories as cf
    from tests import factories as ff
    from tests.jobs.test_views import make_job

    inv = ff.small_inventory()
    hvc = cf.scanned_cluster("HVC1", nodes=3, vms_per_node=1)
    job = make_job("Remediate HVC1")
    return inv, hvc, job


def url_arguments(inv, hvc, job, users):
    """name → the arguments of that page: the object it shows."""
    from compliance.models import Baseline
    from tests.fabric.routes import _object_for

    baseline = Baseline.objects.get(name="Security")
    fixed = {
        "compliance:host_compliance": hvc.nodes.order_by("name").first(), "compliance:baseline_detail": baseline,
        "compliance:baseline_edit": baseline, "jobs:job_detail": job,
        "upgrades:upgrade_cluster": hvc, "upgrades:update_version": hvc,
        "users:user_edit": users["vera"], "users:user_password": users["vera"],
        "fabric:subnet_add": inv.network, "fabric:pool_add": inv.subnet,
    }

    def argument(name):
        if name in fixed:
            return [fixed[name].pk]
        if name == "jobs:job_report":  # a finished job's
            from jobs.choices import JobStatus
            from jobs.models import Job

            Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
            return [job.pk]
        if name.startswith("nodescripts:script_"):
            from nodescripts.models import NodeScript

            script, _ = NodeScript.objects.get_or_create(name="drain-checks", defaults={"body": "Write-Output 1"})
            return [script.pk]
        if name == "compliance:maintenance_windows":
            return ["cluster", hvc.pk]
        if name.startswith("notifications:subscription_"):
            from notifications.models import Subscription

            mine = Subscription.objects.filter(user=users["ada"]).first() or Subscription.objects.create(
                user=users["ada"], channel="email", email="ada@example.com")
            return [mine.pk]
        namespace, short = name.split(":")
        if namespace == "fabric":
            return [_object_for(short, inv).pk]
        raise KeyError(name)

    return argument


def page_urls(argument) -> list[tuple[str, str]]:
    """Every page an administrator can open with a GET (POST-only actions are not pages), each
    kind once: pages that render the same template with the same form (an object's add and edit
    pages, every delete confirmation) are checked on the first of them."""
    from django.contrib.auth import get_user_model

    from tests.fabric.test_role_walk import concrete, every_pattern

    client = Client()
    client.force_login(get_user_model().objects.get(username="ada"))
    pages, kinds = [], set()
    for name, route in every_pattern():
        if not name or name in ("login", "logout") or name.endswith(("_live", "customize_row", "_csv")):
            continue
        if name.startswith("api:") and name != "api:token_list":
            continue  # the REST API answers JSON; its documentation pages are drf-spectacular's own
        view = getattr(resolve(concrete(route)).func, "view_class", None)
        if view is not None and not (hasattr(view, "get") and "get" in view.http_method_names):
            continue  # an action (POST only), not a page
        try:
            url = reverse(name, args=argument(name)) if "<" in route else reverse(name)
        except (KeyError, NoReverseMatch) as exc:
            pytest.fail(f"no object to show on {name} ({route}): {exc}; add one to url_arguments")
        response = client.get(url)
        assert response.status_code == 200, (name, url, response.status_code)
        form = response.context.get("form")
        kind = (response.templates[0].name, type(form)) if form is not None else (response.templates[0].name, view)
        if kind not in kinds:
            kinds.add(kind)
            pages.append((name, url))
    return pages


def severe_violations(page, where: str) -> list[str]:
    """axe-core (loaded into every page by the context's init script) on the whole page."""
    violations = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    found = []
    for violation in violations:
        if violation["impact"] not in SEVERE:
            continue
        for node in violation["nodes"]:
            found.append(f"{where}: {violation['id']} ({violation['impact']}) at {', '.join(map(str, node['target']))}"
                         f" — {violation['help']}")
    return found


def horizontal_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_every_page_is_accessible_and_fits_a_phone(live_db, tmp_path, make_user, settings):
    chromium = require_binary("chromium")
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    from tests.jobs.procs import Processes, database_url, fast_env

    inv, hvc, job = build_data()
    users = {"ada": make_user("ada", ADMINISTRATOR), "vera": make_user("vera")}
    pages = page_urls(url_arguments(inv, hvc, job, users))
    names = {name for name, _ in pages}
    expected = {"fabric:server_list", "fabric:cluster_detail", "fabric:fileserver_detail", "fabric:host_detail",
                "fabric:runas_add", "fabric:cluster_add", "compliance:compliance", "compliance:host_compliance",
                "jobs:job_detail", "upgrades:upgrade_cluster", "upgrades:upgrade_campaign", "users:user_list",
                "users:user_add"}
    assert expected <= names, expected - names
    session = session_cookie(users["ada"])
    remediate_row = f'tr.cluster-row[data-name="{hvc.name}"] input[name=selected]'

    processes = Processes(tmp_path, {**os.environ, "DATABASE_URL": database_url(connection.settings_dict),
                                     **fast_env()})
    try:
        _, port = processes.daphne()
        base = f"http://127.0.0.1:{port}"
        connection.close()
        problems, sizes = [], {}
        # Playwright's sync API runs an event loop in this thread: no ORM calls from here on.
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            axe_core = Axe().axe_script  # the axe-core the package bundles: nothing is fetched
            for label, (width, height) in WIDTHS.items():
                context = browser.new_context(viewport={"width": width, "height": height})
                context.add_init_script(script=axe_core)
                page = context.new_page()
                page.set_default_timeout(20_000)
                page.goto(f"{base}/login/")
                problems += severe_violations(page, f"login page at {width} px")
                context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
                for name, url in pages:
                    page.goto(base + url)
                    problems += severe_violations(page, f"{name} {url} at {width} px")
                    if label == "phone" and horizontal_overflow(page) > width:
                        problems.append(f"{name} {url} at {width} px: the page is {horizontal_overflow(page)} px wide")

                page.goto(f"{base}/compliance/")
                page.check(remediate_row)
                page.click('[data-action="remediate"]')
                page.locator("#remediate-modal").wait_for()
                problems += severe_violations(page, f"Remediate dialog at {width} px")
                if label == "phone":
                    if horizontal_overflow(page) > width:
                        problems.append(f"Remediate dialog at {width} px: the page is "
                                        f"{horizontal_overflow(page)} px wide")
                    page.goto(f"{base}/fabric/servers/")
                    sizes["header"] = page.locator("header.topbar").bounding_box()["height"]
                    menu = page.get_by_role("button", name="Menu")
                    sign_out = page.get_by_role("button", name="Sign out")
                    sizes["closed"] = (menu.is_visible(), sign_out.is_visible(),
                                       page.get_by_role("navigation", name="Main").is_visible())
                    menu.focus()
                    page.keyboard.press("Enter")
                    sizes["open"] = (menu.get_attribute("aria-expanded"), sign_out.is_visible(),
                                     page.get_by_role("link", name="Users and roles").is_visible())
                    sizes["open_width"] = horizontal_overflow(page)
                    page.keyboard.press("Tab")
                    page.keyboard.press("Escape")
                    sizes["escaped"] = (menu.get_attribute("aria-expanded"), sign_out.is_visible(),
                                        page.evaluate("document.activeElement.textContent"))
                    page.goto(f"{base}/fabric/servers/")
                    page.keyboard.press("Tab")
                    skip = page.get_by_role("link", name="Skip to content")
                    sizes["skip"] = skip.is_visible()
                    sizes["focus_outline"] = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
                    page.keyboard.press("Enter")
                    sizes["skipped_to"] = page.evaluate("document.activeElement.id")
                context.close()
            browser.close()
    finally:
        processes.stop_all()

    assert not problems, "\n" + "\n".join(problems)
    assert sizes["header"] <= PHONE_HEADER_MAX_PX, sizes
    assert sizes["closed"] == (True, False, False), sizes
    assert sizes["open"] == ("true", True, True) and sizes["open_width"] <= 390, sizes
    assert sizes["escaped"] == ("false", False, "Menu"), sizes
    assert sizes["skip"] and sizes["skipped_to"] == "content", sizes
    assert sizes["focus_outline"] == "solid", sizes  # keyboard focus is visible
