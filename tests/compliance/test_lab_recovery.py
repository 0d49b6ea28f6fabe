"""After a node never comes back from its remediation restart: the job names the node's state and
refreshes the inventory before it ends; Resume node refuses while the machine is still down, and
once it is fixed resumes the node and brings its VMs back; Retry from the failed step then finishes
the remediation."""
import time

import pytest

from compliance.models import HostCompliance
from compliance.orchestration import submit_cluster_remediation
from compliance.remediation import RemediationOptions
from fabric.models import Host, VirtualMachine
from fabric.nodeops.recovery import submit_resume_node
from jobs.engine import restart_job
from jobs.models import JobStep
from tests.compliance.labenv import bring_in, describe, finish

pytestmark = [pytest.mark.lab]


def wait_for_node(lab, name: str, state: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if any(n["name"] == name and n["state"] == state for c in lab.state()["clusters"] for n in c["nodes"]):
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} did not become {state}")


def test_a_node_that_never_comes_back_is_named_and_resumed_once_fixed(lab):
    cluster, _, _ = bring_in(lab, standalone=None)
    lab.fault("host_stays_down", host="R-N4")  # permanent: the machine is broken
    options = RemediationOptions(max_retries_per_node=0, reboot_timeout_minutes=0.02, node_order=["R-N4", "R-N1", "R-N2", "R-N3"])
    job = finish(submit_cluster_remediation(cluster, options)[0])

    assert job.status == "failed", describe(job)
    lane = JobStep.objects.get(job=job, is_group=True, title="R-N4")
    assert lane.data["resumable"] and not lane.data["in_service"]
    state = lane.data["node_state"]
    assert state.startswith("Down in RCL, its VMs moved to R-N") and "did not come back after its restart" in state
    assert state in job.error and "Resume node" in job.error
    node = Host.objects.get(name="R-N4")
    assert node.failure_state == state and node.failure_job_id == job.pk
    assert node.node_state == "Down"  # the inventory was refreshed before the job ended
    assert VirtualMachine.objects.get(name="r-file1").host.name != "R-N4"
    assert JobStep.objects.get(job=job, is_group=True, title="R-N1").status == "pending"  # no second node out

    refused = finish(submit_resume_node(job, lane.pk)[0])  # the machine is still broken
    assert refused.status == "failed" and "R-N4 is Down in RCL: the machine is not back" in refused.error

    lab.clear_faults()
    lab.power("R-N4", "cycle")  # someone fixed the machine
    wait_for_node(lab, "R-N4", "Paused")
    resumed = finish(submit_resume_node(job, lane.pk)[0])
    assert resumed.status == "succeeded", describe(resumed)

    state = lab.state()
    assert {n["state"] for c in state["clusters"] for n in c["nodes"]} == {"Up"}
    assert {vm["host"] for vm in state["vms"] if vm["name"] == "r-file1"} == {"R-N4"}
    node.refresh_from_db()
    assert node.failure_state == "" and node.node_state == "Up"
    assert VirtualMachine.objects.get(name="r-file1").host.name == "R-N4"
    lane.refresh_from_db()
    assert lane.data["in_service"] and f"job #{resumed.pk}" in lane.message

    retried = finish(restart_job(job))  # Retry from the failed step: the remediation goes on
    assert retried.status == "succeeded", describe(retried)
    lane.refresh_from_db()
    assert lane.status == "succeeded" and "node_state" not in lane.data
    assert set(HostCompliance.objects.values_list("state", flat=True)) == {"compliant"}
    assert {n["state"] for c in lab.state()["clusters"] for n in c["nodes"]} == {"Up"}
