"""An upgrade campaign against the lab: a 3-node file server whose share holds the VMs of a 3-node
Hyper-V cluster, both upgraded 2019 → 2022 in one campaign with two clusters allowed at once. The
file server's job ends before the Hyper-V cluster's starts, every node runs the new build, the VMs
never stop and no share goes unavailable (the lab's invariants)."""
from datetime import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from compliance.campaigns import UpgradeChoice, plan_waves, submit_campaign
from core.models import AuditEntry
from fabric import clock
from fabric.models import Host, MaintenanceWindow
from jobs.models import Job
from tests.compliance.labenv import Watcher, describe, finish_with_workers
from tests.upgrades.campaign_lab import FILE_SERVER, HYPERV, TOPOLOGY, VMS, bring_in_both

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.lab, pytest.mark.slow]


@pytest.fixture
def lab(transactional_db, settings, monkeypatch):
    from django.contrib.auth.models import Group

    from lab.testing import LabProcess
    from tests.jobs.conftest import FAST

    for role in ("viewer", "operator", "administrator"):
        Group.objects.get_or_create(name=role)
    settings.FERRY_JOBS = dict(FAST)
    monkeypatch.setenv("FERRY_COMPLIANCE_POLL_SECONDS", "0.05")
    monkeypatch.setenv("FERRY_DEPLOY_TIMEOUT_SECONDS", "30")
    monkeypatch.setenv("FERRY_RESTART_TIMEOUT_SECONDS", "30")
    with LabProcess(topology_text=TOPOLOGY, speed=100.0) as running:
        yield running


def _builds(lab) -> dict[str, int]:
    return {h["name"]: h["os"]["build"] for h in lab.state()["hosts"] if h["cluster"] in (FILE_SERVER, HYPERV)}


def test_the_file_server_is_upgraded_before_the_hyperv_cluster_whose_vms_it_holds(lab):
    file_server, hyperv, profile, file_servers, bmc_run_as = bring_in_both(lab)
    assert [w.names for w in plan_waves([hyperv, file_server])] == [[FILE_SERVER], [HYPERV]]
    choice = UpgradeChoice(profile_id=profile.pk, bmc_run_as_id=bmc_run_as.pk,
                           file_server_profile_id=file_servers.pk)
    job, _ = submit_campaign([hyperv, file_server], upgrade=choice, parallel=2)
    with Watcher(lab) as watch:
        job = finish_with_workers(job, limit=900)
    assert job.status == "succeeded", describe(job)
    children = {j.target_label: j for j in Job.objects.filter(kind="rolling_upgrade")}
    assert sorted(children) == [FILE_SERVER, HYPERV]
    assert all(j.status == "succeeded" for j in children.values()), [describe(j) for j in children.values()]
    assert all(j.params["campaign_step"] for j in children.values())
    # the Hyper-V cluster's upgrade started only once the file server's had ended
    assert children[HYPERV].started >= children[FILE_SERVER].finished
    assert children[FILE_SERVER].params["request"]["profile_id"] == file_servers.pk
    assert children[HYPERV].params["request"]["profile_id"] == profile.pk
    assert set(_builds(lab).values()) == {20348}
    assert sorted(Host.objects.filter(cluster__in=[file_server, hyperv]).values_list("os_build", flat=True)) == \
        [20348] * 6
    assert watch.not_running(VMS) == {}
    running = sorted(vm["name"] for vm in lab.state()["vms"] if vm["state"] == "Running")
    assert running == VMS
    lab.assert_invariants_held()


def test_the_command_refuses_a_campaign_with_a_node_ferry_knows_too_little_of(lab):
    file_server, hyperv, profile, file_servers, bmc_run_as = bring_in_both(lab)
    base = [FILE_SERVER, HYPERV, "--profile", profile.name, "--file-server-profile", file_servers.name,
            "--bmc-run-as", bmc_run_as.name, "--parallel", "2"]
    out = StringIO()
    call_command("upgrade_cluster", *base, "--dry-run", stdout=out)
    text = out.getvalue()
    assert f"wave 1: {FILE_SERVER}" in text and f"wave 2: {HYPERV}" in text
    assert "[ok] BMC of UCH-N1" in text and "Evict UCF-N2 from the cluster" in text and "uc-vm1 →" in text
    assert "Dry run: nothing was started." in text

    Host.objects.filter(name="UCH-N2").update(bmc_address=None)
    with pytest.raises(CommandError, match=r"UCHV: .*UCH-N2: missing bmc_address.*Upgrade Cluster wizard"):
        call_command("upgrade_cluster", *base, stdout=StringIO())
    assert not Job.objects.exists()
    assert not AuditEntry.objects.filter(detail__startswith="campaign requested").exists()


def test_a_busy_cluster_is_refused_and_the_page_starts_the_campaign_once_it_is_free(lab, make_user):
    from django.test import Client

    from jobs.choices import JobStatus
    from tests.api.conftest import Api, token_for
    from tests.fabric.test_audit import ADDRESS, assert_one_row, post_and_count
    from tests.jobs.test_views import make_job

    file_server, hyperv, profile, file_servers, bmc_run_as = bring_in_both(lab)
    operator = make_user("ada", "operator")
    api = Api(token_for(operator))
    body = {"action": "upgrade", "clusters": [hyperv.pk, file_server.pk], "profile": profile.name,
            "file_server_profile": file_servers.name, "bmc_run_as": bmc_run_as.name, "parallel": 2}
    answer = api.post("/api/campaigns/", {**body, "dry_run": True}).json()
    assert answer["fits"] and answer["waves"] == [[FILE_SERVER], [HYPERV]], answer
    plans = {c["cluster"]: c["plan"] for c in answer["clusters"]}
    assert plans[FILE_SERVER]["kind"] == "sofs" and plans[HYPERV]["target"] == "Windows Server 2022"
    assert [n["name"] for n in plans[HYPERV]["nodes"]] == ["UCH-N1", "UCH-N2", "UCH-N3"]

    busy = make_job("Remediate cluster UCHV", target=hyperv, lock_key=f"cluster:{hyperv.pk}")
    response = api.post("/api/campaigns/", body)
    assert response.status_code == 409, response.content
    assert "UCHV: Job 'Remediate cluster UCHV' runs on UCHV." in response.json()["detail"]
    with pytest.raises(CommandError, match="Refused: .*UCHV: Job 'Remediate cluster UCHV' runs on UCHV"):
        call_command("upgrade_cluster", HYPERV, FILE_SERVER, "--profile", profile.name, "--bmc-run-as",
                     bmc_run_as.name, stdout=StringIO())
    page = Client(REMOTE_ADDR=ADDRESS)
    page.force_login(operator)
    form = {"clusters": [hyperv.pk, file_server.pk], "profile": profile.pk, "file_server_profile": file_servers.pk,
            "bmc_run_as": bmc_run_as.pk, "parallel": 2, "max_failed_clusters": 0, "functional_level": "on"}
    text = page.post("/upgrades/campaign/", {**form, "review": "1"}).content.decode()
    assert "<strong>no other job</strong>: Job &#x27;Remediate cluster UCHV&#x27; runs on UCHV." in text
    assert 'id="campaign-submit" disabled' in text
    assert Job.objects.filter(kind="campaign").count() == 0

    Job.objects.filter(pk=busy.pk).update(status=JobStatus.SUCCEEDED)
    # a window closed now does not refuse the campaign: the page says the cluster's job will wait for it
    MaintenanceWindow.objects.create(cluster=hyperv, weekday=(clock.now().weekday() + 3) % 7, start=time(2),
                                     end=time(4), time_zone="UTC")
    text = page.post("/upgrades/campaign/", {**form, "review": "1"}).content.decode()
    assert "Wave 1: UCFS" in text and "Wave 2: UCHV" in text and "Pause UCH-N1 and live-migrate its VMs" in text
    assert "The maintenance window of cluster UCHV is closed now; it next opens" in text
    assert 'id="campaign-submit" disabled' not in text
    response, rows = post_and_count(page, "/upgrades/campaign/", {**form, "submit": "1"})
    campaign = Job.objects.get(kind="campaign")
    assert response.status_code == 302 and response.url == campaign.get_absolute_url()
    row = assert_one_row(rows, "upgrades:upgrade_campaign")
    assert row.detail.startswith("upgrade campaign requested: Campaign: upgrade UCFS, UCHV (at most 2 at once")
    assert campaign.params["action"] == "upgrade" and campaign.requested_by == operator


def test_a_failed_file_server_upgrade_starts_no_further_cluster(lab):
    file_server, hyperv, profile, file_servers, bmc_run_as = bring_in_both(lab)
    lab.fault("pxe_boot_ignored", host="UCF-N1")
    choice = UpgradeChoice(profile_id=profile.pk, bmc_run_as_id=bmc_run_as.pk,
                           file_server_profile_id=file_servers.pk)
    job, _ = submit_campaign([hyperv, file_server], upgrade=choice, parallel=2, max_failed_clusters=0)
    job = finish_with_workers(job, limit=900)
    assert job.status == "failed", describe(job)
    assert "1 cluster(s) failed" in job.error, job.error  # a campaign's lanes are clusters, not nodes
    child = Job.objects.get(kind="rolling_upgrade")
    assert child.target_label == FILE_SERVER and child.status == "failed"
    assert "UCF-N1 is evicted and out of management; its re-imaging failed" in child.error, child.error
    # the Hyper-V cluster's upgrade never started: its nodes keep 2019, its VMs run
    assert not Job.objects.filter(kind="rolling_upgrade", target_label=HYPERV).exists()
    builds = _builds(lab)
    assert {builds[n] for n in ("UCH-N1", "UCH-N2", "UCH-N3")} == {17763}
    step = job.steps.get(is_group=False, target=HYPERV)
    assert step.status != "succeeded" and not step.data.get("child_job_id")
    assert sorted(vm["name"] for vm in lab.state()["vms"] if vm["state"] == "Running") == VMS
