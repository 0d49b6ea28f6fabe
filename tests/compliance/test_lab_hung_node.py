"""A node that hangs after its restart (powered on, OS silent) and whose BMC Ferry knows gets one
power cycle through the BMC, logged, before the restart step gives up; without the option (or
without a BMC) the step gives up as before."""
import pytest

from compliance.orchestration import submit_cluster_remediation
from compliance.remediation import RemediationOptions
from fabric.models import Host, RunAsAccount
from jobs.models import JobStep
from tests.compliance.labenv import bring_in, finish

pytestmark = [pytest.mark.lab]


@pytest.fixture
def fabric(lab):
    cluster, _, _ = bring_in(lab, standalone=None)
    bmc = lab.entry("R-N4")["bmc"]
    account = RunAsAccount.objects.create(name="BMC", username=bmc["username"], password=bmc["password"])
    Host.objects.filter(name="R-N4").update(bmc_address=bmc["address"], bmc_port=bmc["port"], bmc_run_as=account)
    return cluster


def _cycles(lab, host):
    return [e for e in lab.events() if e["event"] == "bmc-cycle" and e["host"] == host]


def test_a_hung_node_gets_one_power_cycle_through_its_bmc(lab, fabric):
    lab.fault("host_stays_down", host="R-N4", count=1)
    options = RemediationOptions(max_retries_per_node=0, reboot_timeout_minutes=0.05)
    job = finish(submit_cluster_remediation(fabric, options)[0])
    assert job.status == "succeeded", job.error
    assert len(_cycles(lab, "R-N4")) == 1
    assert job.log.filter(level="warning", message__contains="R-N4 is powered on but its OS does not answer").exists()
    assert {h["node_state"] for h in lab.state()["hosts"] if h["cluster"]} == {"Up"}


def test_the_power_cycle_is_sent_once(lab, fabric):
    lab.fault("host_stays_down", host="R-N4", count=2)        # it hangs again after the cycle
    options = RemediationOptions(max_retries_per_node=0, reboot_timeout_minutes=0.05)
    job = finish(submit_cluster_remediation(fabric, options)[0])
    failed = JobStep.objects.get(job=job, status="failed", is_group=False)
    assert (failed.name == "compliance.restart_node"
            and "power-cycled through its BMC once and still does not answer" in failed.message)
    assert len(_cycles(lab, "R-N4")) == 1


def test_without_the_option_a_hung_node_is_not_power_cycled(lab, fabric):
    lab.fault("host_stays_down", host="R-N4", count=1)
    options = RemediationOptions(max_retries_per_node=0, reboot_timeout_minutes=0.05, power_cycle_hung=False)
    job = finish(submit_cluster_remediation(fabric, options)[0])
    failed = JobStep.objects.get(job=job, status="failed", is_group=False)
    assert failed.name == "compliance.restart_node" and "R-N4 to restart and rejoin RCL" in failed.message
    assert _cycles(lab, "R-N4") == []
