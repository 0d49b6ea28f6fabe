"""Against the lab: remediating a Server 2016 Hyper-V cluster, whose hosts install through
MSFT_WUOperationsSession (a failure is only in HResult; a restart is known from the pending-reboot
check), as an operator would: it ends Compliant, and a failed install fails the node with its code."""
import pytest

from compliance.choices import ComplianceState
from compliance.models import HostCompliance, UpdateStatus
from compliance.orchestration import submit_cluster_remediation
from compliance.remediation import RemediationOptions
from fabric.models import Host
from jobs.models import JobStep

from .labenv import Watcher, bring_in, describe, finish, scan_all

pytestmark = [pytest.mark.lab, pytest.mark.slow]
NEEDY = {"R16-N1", "R16-N2"}  # R16-N3 has every update


def states(cluster):
    return dict(HostCompliance.objects.filter(host__cluster=cluster).values_list("host__name", "state"))


def running_vms(lab):
    return sorted(vm["name"] for vm in lab.state()["vms"] if vm["state"] == "Running")


@pytest.fixture
def cluster(lab2016):
    cluster, _, _ = bring_in(lab2016, cluster="RCL16", standalone=None)
    scan_all()
    assert states(cluster) == {"R16-N1": "non_compliant", "R16-N2": "non_compliant", "R16-N3": "compliant"}
    assert set(Host.objects.filter(cluster=cluster).values_list("os_build", flat=True)) == {14393}
    return cluster


def test_the_synced_catalog_stores_superseding_updates_by_id(lab2016, cluster):
    from compliance.models import Update

    november, december = Update.objects.get(kb="5046612"), Update.objects.get(kb="5048671")
    assert november.superseded and november.superseded_by == [december.update_id.lower()]
    assert december.superseded_by == []


def test_a_2016_cluster_is_remediated_and_ends_compliant(lab2016, cluster):
    running = running_vms(lab2016)
    booted = {h["name"]: h["last_boot"] for h in lab2016.state()["hosts"]}
    with Watcher(lab2016) as watch:
        job = finish(submit_cluster_remediation(cluster, RemediationOptions())[0])
    assert job.status == "succeeded", describe(job)
    assert set(states(cluster).values()) == {ComplianceState.COMPLIANT}
    assert watch.not_running(running) == {}  # live migration: every VM ran in every sample
    assert running_vms(lab2016) == running
    restarted = {h["name"] for h in lab2016.state()["hosts"] if h["last_boot"] != booted[h["name"]]}
    assert restarted == NEEDY  # the restart came from the pending-reboot check: the 2016 class says nothing
    assert all(not h["pending_reboot"] and not h["missing_updates"] for h in lab2016.state()["hosts"]
               if h["cluster"] == "RCL16")


def test_a_failed_install_on_2016_fails_the_node_with_its_code(lab2016, cluster):
    lab2016.fault("update_install_fails", host="R16-N2", hresult="0x80070643")
    running = running_vms(lab2016)
    job = finish(submit_cluster_remediation(cluster, RemediationOptions(max_retries_per_node=0,
                                                                        max_failed_nodes=1))[0])
    assert job.status == "failed" and "1 node(s) failed: R16-N2" in job.error, describe(job)
    failed = JobStep.objects.get(job=job, status="failed", is_group=False)
    assert failed.name == "compliance.install_updates" and failed.target == "R16-N2"
    assert "0x80070643" in failed.message and "ERROR_INSTALL_FAILURE" in failed.message
    status = UpdateStatus.objects.get(host__name="R16-N2", update__kb="5048671")
    assert status.state == "failed" and "0x80070643" in status.detail
    assert states(cluster) == {"R16-N1": "compliant", "R16-N2": "error", "R16-N3": "compliant"}
    assert running_vms(lab2016) == running
    node = next(h for h in lab2016.state()["hosts"] if h["name"] == "R16-N2")
    assert node["node_state"] == "Up" and node["pending_reboot"] is False
