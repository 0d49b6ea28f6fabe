"""An upgrade campaign against the lab: a 3-node file server whose share holds the VMs of a 3-node
Hyper-V cluster, both upgraded 2019 → 2022 in one campaign with two clusters allowed at once. The
file server's job ends before the Hyper-V cluster's starts, every node runs the new build, the VMs
never stop and no share goes unavailable (the lab's invariants)."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from compliance.campaigns import UpgradeChoice, plan_waves, submit_campaign
from core.models import AuditEntry
from fabric.models import Host
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
