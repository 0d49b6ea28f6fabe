"""A real browser: an operator ticks two clusters on the Compliance view, presses Remediate and the
dialog shows one campaign in waves (the file server first), following the number chosen for N."""
import os

import pytest
from django.db import connection

from core.roles import OPERATOR
from tests import factories as f
from tests.helpers import CHROMIUM_ARGS, logged_in_page, require_binary, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def procs(transactional_db, tmp_path):
    from django.contrib.auth.models import Group

    from tests.jobs.procs import Processes, database_url, fast_env

    for role in ("viewer", "operator", "administrator"):
        Group.objects.get_or_create(name=role)
    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict), **fast_env()}
    processes = Processes(tmp_path, env)
    yield processes
    processes.stop_all()


def test_the_dialog_shows_the_campaign_waves_and_follows_n(procs, make_user):
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    from fabric.choices import ClusterKind
    from fabric.models import Cluster, FileShare

    hv = f.scanned_cluster("HVA", nodes=3)
    sofs = f.scanned_cluster("FSA", nodes=3, vms_per_node=0)
    Cluster.objects.filter(pk=sofs.pk).update(kind=ClusterKind.SOFS)
    FileShare.objects.create(cluster=sofs, name="VMs", scope_name="SOFSA", path="C:\\ClusterStorage\\Volume1\\VMs")
    hv.vms.update(storage_path="\\\\SOFSA\\VMs\\vm")
    f.scanned_cluster("HVB", nodes=3)
    session = session_cookie(make_user("otto", OPERATOR))
    _, port = procs.daphne()
    base = f"http://127.0.0.1:{port}"
    connection.close()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = logged_in_page(browser, base, session)
        page.goto(f"{base}/compliance/")
        for name in ("HVA", "FSA", "HVB"):
            page.check(f'tr.cluster-row[data-name="{name}"] input[name=selected]')
        page.locator('[data-action="remediate"]').click()
        dialog = page.locator("#remediate-modal")
        dialog.wait_for()
        waves = dialog.locator("#campaign-waves")
        assert waves.locator('li[data-wave="1"]').inner_text() == "Wave 1: FSA, HVB"
        assert waves.locator('li[data-wave="2"]').inner_text() == "Wave 2: HVA"
        assert "at most 2 clusters at once" in waves.inner_text()
        dialog.locator("#id_parallel").fill("1")
        dialog.locator("#id_parallel").dispatch_event("change")
        page.wait_for_selector("#campaign-waves >> text=at most 1 cluster at once")
        browser.close()
