"""Refresh tracks what changed behind Ferry's back: a VM moved, a node paused, a host powered
off through its BMC, updates waiting for a restart. A silent host is marked, never deleted."""

import pytest

from fabric import agents
from fabric.agents import bmc
from fabric.choices import HostStatus
from fabric.inventory import discover_cluster, refresh_cluster, refresh_host
from fabric.models import Cluster, Host, VirtualMachine
from tests.agents.conftest import connection, https_target
from tests.helpers import wait_for

pytestmark = [pytest.mark.django_db, pytest.mark.lab]


@pytest.fixture
def cluster(lab, lab_run_as):
    return discover_cluster(run_as=lab_run_as, **https_target(lab, "ACL19"))


def host(name) -> Host:
    return Host.objects.get(name=name)


def test_a_vm_moved_behind_ferrys_back(lab, cluster):
    assert VirtualMachine.objects.get(name="a-vm1").host == host("A19-N1")
    lab.vm_action("move", "a-vm1", host="A19-N3")
    assert refresh_cluster(cluster) == []
    assert VirtualMachine.objects.get(name="a-vm1").host == host("A19-N3")
    lab.vm_action("move", "a-vm1", host="A19-N1")
    assert refresh_host(host("A19-N1")) == []  # a node's own refresh uses the cluster's view of owners
    assert VirtualMachine.objects.get(name="a-vm1").host == host("A19-N1")


def test_a_refresh_reads_the_witness_again(lab, lab_run_as):
    sofs = discover_cluster(run_as=lab_run_as, **https_target(lab, "AFS22"))
    # as a cluster recorded before its witness was read: nothing counted
    Cluster.objects.filter(pk=sofs.pk).update(witness_kind="", witness_name="", witness_state="")
    sofs.refresh_from_db()
    assert not sofs.witness_votes
    assert refresh_cluster(sofs) == []
    sofs.refresh_from_db()
    assert (sofs.witness_kind, sofs.witness_name, sofs.witness_state) == ("file_share", "File Share Witness", "Online")
    assert sofs.witness_votes


def test_a_node_paused_and_resumed_behind_ferrys_back(lab, cluster):
    code, _, err = lab.run_ps("A19-N2", "Suspend-ClusterNode -Name A19-N2 -Drain -Wait | Out-Null")
    assert code == 0, err
    refresh_cluster(cluster)
    paused = host("A19-N2")
    assert paused.node_state == "Paused" and paused.status == HostStatus.IN_MAINTENANCE
    assert not paused.vms.filter(state="Running").exists()  # drained: its VMs are recorded elsewhere
    assert VirtualMachine.objects.filter(cluster=cluster).count() == 6
    lab.run_ps("A19-N2", "Resume-ClusterNode -Name A19-N2 | Out-Null")
    refresh_host(host("A19-N2"))
    assert host("A19-N2").node_state == "Up" and host("A19-N2").status == HostStatus.RESPONDING


INSTALL_BEHIND_THE_BACK = """
$found = (Invoke-CimMethod -Namespace root/Microsoft/Windows/WindowsUpdate -ClassName MSFT_WUOperations `
    -MethodName ScanForUpdates -Arguments @{SearchCriteria="IsInstalled=0 and Type='Software' and IsHidden=0"}).Updates
$null = Invoke-CimMethod -Namespace root/Microsoft/Windows/WindowsUpdate -ClassName MSFT_WUOperations `
    -MethodName InstallUpdates -Arguments @{Updates=$found}
"""


def test_pending_reboot_after_updates_installed_behind_ferrys_back(lab, cluster):
    code, _, err = lab.run_ps("A19-N1", INSTALL_BEHIND_THE_BACK)
    assert code == 0, err
    refresh_host(host("A19-N1"))
    assert host("A19-N1").status == HostStatus.PENDING_REBOOT


def test_a_host_powered_off_through_its_bmc_is_not_responding_not_deleted(lab, cluster):
    conn = connection(lab, "ACL19")
    agents.cluster.suspend_node(conn, "A19-N2", drain=True)  # evacuate first: nothing may crash
    entry = lab.entry("A19-N2")["bmc"]
    target = bmc.BMCTarget(entry["address"], entry["port"], entry["username"], entry["password"])
    bmc.power_off(target)
    assert bmc.power_state(target) == "off"
    problems = refresh_cluster(cluster)
    down = host("A19-N2")
    assert down.status == HostStatus.NOT_RESPONDING and "refused" in down.status_reason
    assert down.node_state == "Down"
    assert any("A19-N2" in p for p in problems)
    assert Host.objects.filter(cluster=cluster).count() == 3
    assert VirtualMachine.objects.filter(cluster=cluster).count() == 6

    bmc.power_on(target)
    wait_for(lambda: _answers(lab, "A19-N2"), "A19-N2 to boot")
    agents.cluster.resume_node(conn, "A19-N2")
    refresh_host(down)
    back = host("A19-N2")
    assert back.status == HostStatus.RESPONDING and back.status_reason == "" and back.node_state == "Up"


def _answers(lab, name) -> bool:
    try:
        agents.hostinfo.get_os(connection(lab, name))
        return True
    except agents.AgentError:
        return False


def test_a_cluster_that_does_not_answer_at_all_marks_its_nodes(lab, cluster):
    for node in cluster.nodes.all():
        node.address = "127.0.10.201"
        node.save()
    cluster.address = "127.0.10.200"
    cluster.save()
    problems = refresh_cluster(cluster)
    assert problems and "refused" in problems[0]
    assert set(cluster.nodes.values_list("status", flat=True)) == {HostStatus.NOT_RESPONDING}
    assert VirtualMachine.objects.filter(cluster=cluster).count() == 6
