"""Against the lab: remediate a 4-node cluster with running VMs with each option, as an operator would.

The lab's invariants (no VM lost or duplicated, no running VM on a paused or down node, quorum
kept, no memory over-commit) are checked after every test; a sampler also watches that every
VM that ran before, runs in every sample (live migration) or only goes through Saved (save state).
"""
import itertools

import pytest

from compliance.choices import ComplianceState
from compliance.models import HostCompliance
from compliance.orchestration import submit_cluster_remediation
from compliance.remediation import RemediationOptions, cluster_dry_run
from jobs.models import JobStep

from .labenv import Watcher, bring_in, describe, finish, scan_all

pytestmark = [pytest.mark.lab, pytest.mark.slow]
NEEDY = {"R-N1", "R-N2", "R-N4"}  # R-N3 has every baseline update


def states(cluster):
    return dict(HostCompliance.objects.filter(host__cluster=cluster).values_list("host__name", "state"))


def lab_hosts(lab):
    return {h["name"]: h for h in lab.state()["hosts"]}


def running_vms(lab):
    return sorted(vm["name"] for vm in lab.state()["vms"] if vm["state"] == "Running")


def placement(lab):
    return {vm["name"]: vm["host"] for vm in lab.state()["vms"]}


@pytest.fixture
def fabric(lab):
    cluster, lone, server = bring_in(lab)
    scan_all()
    assert states(cluster) == {"R-N1": "non_compliant", "R-N2": "non_compliant", "R-N3": "compliant",
                               "R-N4": "non_compliant"}
    return cluster


@pytest.mark.parametrize("save_state", [False, True], ids=["live-migration", "save-state"])
@pytest.mark.parametrize("no_restart", [False, True], ids=["restart", "no-restart"])
def test_each_option_combination(lab, fabric, save_state, no_restart):
    cluster = fabric
    running, where = running_vms(lab), placement(lab)
    booted = {n: h["last_boot"] for n, h in lab_hosts(lab).items()}
    job, created = submit_cluster_remediation(cluster, RemediationOptions(save_state=save_state, no_restart=no_restart))
    with Watcher(lab) as watch:
        job = finish(job)
    assert job.status == "succeeded", describe(job)
    expected = ComplianceState.PENDING_REBOOT if no_restart else ComplianceState.COMPLIANT
    assert states(cluster) == {n: expected if n in NEEDY else ComplianceState.COMPLIANT for n in states(cluster)}
    assert running_vms(lab) == running and placement(lab) == where  # all back where they were
    interrupted = watch.not_running(running)
    if save_state:
        assert interrupted and all(seen <= {"Saved", "Saving"} for seen in interrupted.values()), interrupted
        assert {where[vm] for vm in interrupted} <= NEEDY
    else:
        assert interrupted == {}  # live migration: every VM ran in every sample
    assert "R-N3" not in watch.paused_nodes() and NEEDY <= watch.paused_nodes()
    restarted = {n for n, h in lab_hosts(lab).items() if h["last_boot"] != booted[n]}
    assert restarted == (set() if no_restart else NEEDY)
    assert JobStep.objects.get(job=job, name="compliance.evacuate_node", target="R-N3").status == "skipped"
    if not no_restart:
        downloads_ahead_of_drains(lab, job)
    lab.assert_invariants_held()


def downloads_ahead_of_drains(lab, job):
    """Each node's updates are downloaded while its VMs still run; the next node's while the node
    before it is out for its install and restart (seen in the lab's own event order)."""
    seq = {}
    for event in lab.events():
        who = event.get("host") or event.get("node")
        seq.setdefault((event["event"], who), event["seq"])
    order = [s.target for s in JobStep.objects.filter(job=job, name="compliance.check_node").order_by("order")]
    needy = [n for n in order if n in NEEDY]
    assert needy and all(seq[("wu-download", n)] < seq[("node-paused", n)] for n in needy), seq
    for before, node in itertools.pairwise(order):
        if before in NEEDY and node in NEEDY:
            assert (seq[("wu-install-finished", before)] < seq[("wu-download", node)]
                    < seq[("node-resumed", before)]), (before, node, seq)
    prepared = JobStep.objects.filter(job=job, name="compliance.prepare_node")
    assert {s.target: s.status for s in prepared} == {n: "skipped" if n not in NEEDY else "succeeded" for n in order}


def test_nodes_already_in_maintenance_refuse_unless_allowed(lab, fabric):
    from fabric.inventory.refresh import refresh_cluster

    cluster = fabric
    lab.run_json("R-N1", "Suspend-ClusterNode -Name R-N2 -Drain -Wait | Out-Null; ConvertTo-Json -InputObject 1")
    refresh_cluster(cluster)
    dry = cluster_dry_run(cluster, RemediationOptions())
    assert any("R-N2 is Paused" in p for p in dry.problems)
    # the job checks again itself before anything moves
    job = finish(submit_cluster_remediation(cluster, RemediationOptions())[0])
    assert job.status == "failed" and "Refused before anything moved" in job.error, describe(job)
    assert "R-N2 is Paused" in job.error
    assert {n["name"]: n["node_state"] for n in lab.state()["hosts"] if n["cluster"]}["R-N1"] == "Up"
    job = finish(submit_cluster_remediation(cluster, RemediationOptions(allow_maintenance=True))[0])
    assert job.status == "succeeded", describe(job)
    assert set(states(cluster).values()) == {ComplianceState.COMPLIANT}
    nodes = {h["name"]: h["node_state"] for h in lab.state()["hosts"] if h["cluster"]}
    assert nodes == {"R-N1": "Up", "R-N2": "Paused", "R-N3": "Up", "R-N4": "Up"}  # left as it was found


def test_a_standalone_host_saves_its_vms_and_starts_them_again(lab, fabric):
    from compliance.orchestration import submit_host_remediation
    from fabric.models import Host

    lone = Host.objects.get(name="R-SA1")
    with Watcher(lab) as watch:
        job = finish(submit_host_remediation([lone], RemediationOptions())[0])
    assert job.status == "succeeded", describe(job)
    assert HostCompliance.objects.get(host=lone).state == ComplianceState.COMPLIANT
    assert "Saved" in watch.not_running(["r-lone1"]).get("r-lone1", set())
    assert "r-lone1" in running_vms(lab)
    # a cluster node chosen on its own: its VMs are saved on it (not moved), it is paused meanwhile
    node = Host.objects.get(name="R-N1")
    where = placement(lab)
    with Watcher(lab) as watch:
        job = finish(submit_host_remediation([node], RemediationOptions())[0])
    assert job.status == "succeeded", describe(job)
    assert HostCompliance.objects.get(host=node).state == ComplianceState.COMPLIANT
    assert set(watch.not_running(["r-app1", "r-app2", "r-app3"])) == {"r-app1", "r-app2", "r-app3"}
    assert placement(lab) == where and {"r-app1", "r-app2", "r-app3"} <= set(running_vms(lab))
    assert watch.paused_nodes() == {"R-N1"}
    assert {h["name"]: h["node_state"] for h in lab.state()["hosts"] if h["cluster"]}["R-N1"] == "Up"


def test_a_vm_that_cannot_be_live_migrated_fails_its_node_with_its_name(lab, fabric):
    cluster = fabric
    lab.fault("migration_fails", vm="r-db1", message="The virtual machine 'r-db1' is using processor-specific "
                                                    "features not supported on the destination.")
    running = running_vms(lab)
    with Watcher(lab) as watch:
        job = finish(submit_cluster_remediation(cluster, RemediationOptions(max_retries_per_node=1))[0])
    assert job.status == "failed"
    failed = JobStep.objects.get(job=job, status="failed", is_group=False)
    assert failed.target == "R-N2" and "r-db1" in failed.message and "processor-specific" in failed.message
    assert "R-N2 (" not in job.error and "R-N2" in job.error
    assert watch.not_running(running) == {}
    nodes = {h["name"]: h["node_state"] for h in lab.state()["hosts"] if h["cluster"]}
    assert nodes["R-N2"] == "Up"  # resumed after the failed evacuation
    assert "R-N1" not in watch.paused_nodes()  # max failed nodes 0: nothing after R-N2 was touched
    assert states(cluster)["R-N4"] == ComplianceState.COMPLIANT


def test_a_migration_that_fails_once_is_retried(lab, fabric):
    cluster = fabric
    lab.fault("migration_fails", vm="r-db2", count=1)
    job = finish(submit_cluster_remediation(cluster, RemediationOptions())[0])
    assert job.status == "succeeded", describe(job)
    assert job.log.filter(level="warning", message__contains="r-db2").exists()


def test_a_node_that_does_not_come_back_stops_the_job_with_the_reason(lab, fabric):
    cluster = fabric
    lab.fault("host_stays_down", host="R-N4")
    options = RemediationOptions(max_retries_per_node=0, reboot_timeout_minutes=0.05)
    running = set(running_vms(lab))
    job = finish(submit_cluster_remediation(cluster, options)[0])
    assert job.status == "failed"
    failed = JobStep.objects.get(job=job, status="failed", is_group=False)
    assert failed.name == "compliance.restart_node" and "R-N4 to restart and rejoin RCL" in failed.message
    assert running <= set(running_vms(lab))  # its VMs run on the other nodes
    assert {h["name"] for h in lab.state()["hosts"] if h["node_state"] == "Paused"} == set()


def test_an_install_failure_with_one_failed_node_allowed_goes_on_and_reports_it(lab, fabric):
    cluster = fabric
    lab.fault("update_install_fails", host="R-N4", hresult="0x80070643")
    running, where = running_vms(lab), placement(lab)
    options = RemediationOptions(max_retries_per_node=0, max_failed_nodes=1)
    job = finish(submit_cluster_remediation(cluster, options)[0])
    assert job.status == "failed" and "1 node(s) failed: R-N4" in job.error
    failed = JobStep.objects.get(job=job, status="failed", is_group=False)
    assert "0x80070643" in failed.message and "R-N4 was resumed" in failed.message
    from compliance.models import UpdateStatus

    status = UpdateStatus.objects.get(host__name="R-N4", update__kb="5048661")
    assert status.state == "failed" and "0x80070643" in status.detail
    assert states(cluster) == {"R-N1": "compliant", "R-N2": "compliant", "R-N3": "compliant", "R-N4": "error"}
    assert running_vms(lab) == running and placement(lab) == where
