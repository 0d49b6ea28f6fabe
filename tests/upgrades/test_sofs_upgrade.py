"""The rolling upgrade of a Scale-Out File Server, 2019 → 2022, against the lab: through the wizard in
real Chromium from the file server's page while a second page watches the job, and from the command
line. No share goes unavailable (the lab's invariant), every node runs the 2022 build, storage is
healthy again before each next node leaves, and the functional level rises."""
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from core.roles import ADMINISTRATOR, OPERATOR
from tests.helpers import CHROMIUM_ARGS, logged_in_page, require_binary, session_cookie
from tests.upgrades.processes import job_processes, upgrade_lab
from tests.upgrades.sofs_lab import CLUSTER, TOPOLOGY, bring_in_file_server, storage_events

pytestmark = [pytest.mark.lab, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 30_000
UPGRADE_TIMEOUT_MS = 600_000
NODES = ["FSU-N1", "FSU-N2", "FSU-N3"]


@pytest.fixture
def lab(transactional_db, monkeypatch):
    with upgrade_lab(TOPOLOGY, monkeypatch) as running:
        yield running


@pytest.fixture
def procs(lab, tmp_path):
    with job_processes(tmp_path) as processes:
        yield processes


def _builds(lab) -> dict[str, int]:
    return {h["name"]: h["os"]["build"] for h in lab.state()["hosts"] if h["cluster"] == CLUSTER}


@pytest.mark.browser
@pytest.mark.slow
def test_upgrade_a_file_server_through_the_wizard_with_every_share_available(lab, procs, make_user):
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    cluster, profile, bmc_run_as, _ = bring_in_file_server(lab)
    # an administrator (the BMC page offers to create an account in place) starts it; an operator watches
    session = session_cookie(make_user("fiona", ADMINISTRATOR))
    watcher = session_cookie(make_user("walt", OPERATOR))
    _, port = procs.daphne()
    procs.qcluster()
    base = f"http://127.0.0.1:{port}"
    page_url, profile_pk, bmc_pk = f"{base}{cluster.get_absolute_url()}", profile.pk, bmc_run_as.pk
    connection.close()

    # Playwright's sync API runs an event loop in this thread: no ORM calls from here on.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = logged_in_page(browser, base, session, TIMEOUT_MS)
        page.goto(f"{base}/fabric/fileservers/")
        page.click(f"text={CLUSTER}")
        assert page.url == page_url
        page.click("#upgrade-actions >> text=Upgrade Cluster")

        page.wait_for_selector("text=their SOFS roles and cluster shared volumes moved to other nodes first")
        page.check("#id_nodes-select_all")
        page.select_option("#id_nodes-profile", str(profile_pk))
        page.click("text=Next ›")
        page.wait_for_selector("#id_bmc-run_as")
        assert page.locator("#id_bmc-run_as").input_value() == str(bmc_pk)   # the nodes' BMC account
        assert page.locator("summary >> text=Create a Run As account").count() == 1   # folded away: not in the way
        page.click("text=Next ›")
        page.wait_for_selector(".node-row")
        assert page.locator(".missing-settings").count() == 0               # BMCs, MACs, addresses known
        page.click("#wizard-next")

        # Summary: which role and volume goes where for each node, read from the cluster now.
        page.wait_for_selector("#point-of-no-return")
        summary = page.inner_text("#wizard-form")
        assert "Refused" not in summary, summary
        assert "every share stays available" in summary
        moves = page.locator(".node-plan ul.storage-moves").all_inner_texts()
        assert len(moves) == 3 and "role FSUSOFS → FSU-N" in "".join(moves) and "volume Cluster Disk" in "".join(moves)
        assert "install File Server and Failover Clustering" in summary
        assert page.locator("#id_summary-functional_level").is_checked()
        with page.expect_navigation():
            page.click("#wizard-finish")
        page.wait_for_url(f"{base}/jobs/*/")
        job_url = page.url

        # A second operator watches the same job page live.
        other = logged_in_page(browser, base, watcher, TIMEOUT_MS)
        other.goto(job_url)
        other.evaluate("window.loadedOnce = true")
        assert other.locator("#job-steps .lane .lane-head").count() == 3
        other.wait_for_selector("text=storage resync on FSU19", timeout=UPGRADE_TIMEOUT_MS)
        other.wait_for_selector("#job-header[data-status=succeeded], #job-header[data-status=failed]",
                                timeout=UPGRADE_TIMEOUT_MS)
        assert other.locator("#job-header").get_attribute("data-status") == "succeeded", \
            other.inner_text("body")[:4000]
        assert other.evaluate("window.loadedOnce") is True            # followed without a reload
        assert other.locator("text=Moved the role FSUSOFS from").count() >= 1
        assert other.locator("text=Moved the volume Cluster Disk").count() >= 1
        assert other.locator("text=Install-WindowsFeature FS-FileServer, Failover-Clustering").count() == 3
        assert other.locator("text=Waiting for storage resync on FSU19 before FSU-N2 leaves").count() >= 1
        assert other.locator("text=Waiting for storage resync on FSU19 before FSU-N3 leaves").count() >= 1

        page.goto(page_url)
        card = page.inner_text(".card")
        assert "Functional level\n11" in card and "Mixed mode\nno" in card, card
        browser.close()

    assert _builds(lab) == {name: 20348 for name in NODES}
    assert lab.run_json("FSU-N1", "(Get-Cluster).ClusterFunctionalLevel | ConvertTo-Json") == 11
    features = lab.run_json("FSU-N2", "@(Get-WindowsFeature -Name Hyper-V, FS-FileServer, Failover-Clustering | "
                                      "ForEach-Object { [string]$_.InstallState }) | ConvertTo-Json")
    assert features == ["Available", "Installed", "Installed"]                # no Hyper-V on a file server
    # each node but the first left only once the previous one's resync had finished
    resyncs, evictions = storage_events(lab)
    assert [e["node"] for e in resyncs] == NODES and [e["node"] for e in evictions] == NODES
    for resync, next_eviction in zip(resyncs, evictions[1:]):
        assert next_eviction["elapsed"] >= resync["elapsed"] + resync["resync_seconds"]
    lab.assert_invariants_held()                                              # no share ever unavailable


def test_upgrade_a_file_server_node_from_the_command_line(lab, monkeypatch):
    from django_q.conf import Conf

    from core.models import AuditEntry
    from fabric.models import Host

    monkeypatch.setattr(Conf, "SYNC", True)      # the job runs inline, as a worker would run it
    cluster, profile, bmc_run_as, _ = bring_in_file_server(lab)
    out = StringIO()
    call_command("upgrade_cluster", CLUSTER.lower(), "--profile", profile.name, "--bmc-run-as", bmc_run_as.name,
                 "--dry-run", stdout=out)
    plan = out.getvalue()
    assert "[REFUSED]" not in plan, plan
    assert "Wait for healthy storage, pause FSU-N1 and move its SOFS roles and CSVs to other nodes" in plan
    assert "role FSUSOFS → FSU-N" in plan and "volume Cluster Disk 1 → FSU-N" in plan
    assert "List the VMs" not in plan

    out = StringIO()
    call_command("upgrade_cluster", CLUSTER, "--profile", profile.name, "--bmc-run-as", bmc_run_as.name,
                 "--nodes", "FSU-N1", "--wait", stdout=out)
    assert "succeeded" in out.getvalue(), out.getvalue()
    assert _builds(lab) == {"FSU-N1": 20348, "FSU-N2": 17763, "FSU-N3": 17763}
    node = Host.objects.get(name="FSU-N1")
    assert node.cluster_id == cluster.pk and node.os_build == 20348 and node.node_state == "Up"
    cluster.refresh_from_db()
    assert cluster.functional_level == 10 and cluster.mixed_mode_since is not None   # FSU-N1 and N3 keep 2019
    state = lab.state()
    file_server = next(c for c in state["clusters"] if c["name"] == CLUSTER)
    owners = {r["name"]: r["owner"] for r in file_server["sofs_roles"] + file_server["csvs"]}
    assert len(owners) == 3 and "FSU-N1" not in owners.values()   # what it owned moved away and stays there
    assert AuditEntry.objects.filter(detail__startswith="rolling upgrade requested: FSU19").exists()
    lab.assert_invariants_held()
