"""Discovery against the simulated datacenter: the fabric it builds, re-adding, and failures that
must leave the inventory exactly as it was."""
import pytest

from fabric import agents
from fabric.choices import ClusterKind, HostStatus
from fabric.inventory import (
    NotACluster,
    add_deployment_server,
    add_update_server,
    discover_cluster,
    discover_host,
)
from fabric.models import Cluster, FileShare, Host, HostGroup, VirtualMachine
from tests.agents.conftest import https_target, inventory_snapshot

pytestmark = [pytest.mark.django_db, pytest.mark.lab]

HOSTILE_VM = "it's $(Stop-VM -Name 'a-vm1' -TurnOff); `whoami`"


def lab_truth(lab) -> dict:
    state = lab.state()
    return {
        "hosts": {h["name"]: h for h in state["hosts"]},
        "vms": {v["name"]: v for v in state["vms"]},
    }


def test_a_node_address_brings_the_whole_cluster_with_nodes_vms_and_os(lab, lab_run_as):
    group = HostGroup.objects.create(name="London", parent=HostGroup.root())
    cluster = discover_cluster(run_as=lab_run_as, host_group=group, **https_target(lab, "A19-N2"))
    truth = lab_truth(lab)

    assert cluster.name == "ACL19" and cluster.kind == ClusterKind.HYPERV and cluster.host_group == group
    assert cluster.functional_level == 10
    assert (cluster.witness_kind, cluster.witness_name, cluster.witness_votes) == ("none", "", False)
    nodes = {h.name: h for h in cluster.nodes.all()}
    assert set(nodes) == {"A19-N1", "A19-N2", "A19-N3"}
    for name, host in nodes.items():
        real = truth["hosts"][name]
        assert host.address == real["address"]  # the management address from Get-ClusterNetworkInterface
        assert host.os_build == real["os"]["build"] == 17763
        assert host.os_name == real["os"]["caption"]
        assert host.status == HostStatus.RESPONDING and host.node_state == "Up"
        assert host.host_group == group and host.run_as == lab_run_as
        assert host.management_mac == lab.entry(name)["mac"]
        assert {v.name for v in host.vms.all()} == set(real["vms"])
    assert VirtualMachine.objects.filter(cluster=cluster).count() == 6
    vm = VirtualMachine.objects.get(name="a-vm4")
    assert vm.state == "Off" and vm.highly_available and vm.memory_bytes == 4 * 2**30
    # A name full of PowerShell syntax arrives exactly as the machine has it.
    assert VirtualMachine.objects.get(name=HOSTILE_VM).host == nodes["A19-N2"]


def test_re_adding_by_the_cluster_address_updates_and_never_duplicates(lab, lab_run_as):
    first = discover_cluster(run_as=lab_run_as, **https_target(lab, "A19-N1"))
    counts = (Host.objects.count(), VirtualMachine.objects.count(), Cluster.objects.count())
    again = discover_cluster(run_as=lab_run_as, **https_target(lab, "ACL19"))
    assert again.pk == first.pk and again.address == lab.entry("ACL19")["address"]
    assert (Host.objects.count(), VirtualMachine.objects.count(), Cluster.objects.count()) == counts


def test_scale_out_file_server_with_its_shares(lab, lab_run_as):
    sofs = discover_cluster(run_as=lab_run_as, **https_target(lab, "AFS22"))
    assert sofs.kind == ClusterKind.SOFS
    # Get-ClusterQuorum, read with the cluster's other facts: a file share witness that votes
    assert (sofs.witness_kind, sofs.witness_name, sofs.witness_state) == ("file_share", "File Share Witness", "Online")
    assert sofs.witness_votes
    assert {h.name for h in sofs.nodes.all()} == {"AF22-N1", "AF22-N2"}
    assert all(h.os_build == 20348 for h in sofs.nodes.all())
    shares = {s.name: s for s in FileShare.objects.filter(cluster=sofs)}
    assert set(shares) == {"VMStore1", "VMStore2"}  # not ADMIN$, C$, IPC$
    assert shares["VMStore1"].scope_name == "ASOFS" and shares["VMStore1"].continuously_available
    assert not shares["VMStore2"].continuously_available
    assert shares["VMStore1"].path.endswith("VMStore1")


def test_standalone_host_update_server_and_deployment_server(lab, lab_run_as):
    host = discover_host(run_as=lab_run_as, transport="basic", allow_insecure=True, **https_target(lab, "A-SA1"))
    assert host.name == "A-SA1" and host.cluster is None and host.os_build == 20348
    assert [v.name for v in host.vms.all()] == ["sa-vm1"]
    assert host.winrm_transport == "basic" and host.allow_insecure
    wsus = add_update_server(run_as=lab_run_as, **https_target(lab, "AWSUS"))
    assert wsus.name == "AWSUS" and wsus.wsus_port == 8530
    wds = add_deployment_server(run_as=lab_run_as, **https_target(lab, "AWDS"))
    assert wds.name == "AWDS"
    assert add_update_server(run_as=lab_run_as, **https_target(lab, "AWSUS")).pk == wsus.pk


def test_wrong_password_changes_nothing(lab, lab_run_as):
    discover_cluster(run_as=lab_run_as, **https_target(lab, "A19-N1"))
    before = inventory_snapshot()
    lab_run_as.password = "not-the-password"
    lab_run_as.save()
    with pytest.raises(agents.AccessDenied) as info:
        discover_cluster(run_as=lab_run_as, **https_target(lab, "A19-N1"))
    assert "Lab WinRM" in str(info.value) and "not-the-password" not in str(info.value)
    assert inventory_snapshot() == before


def test_unreachable_address_changes_nothing(lab, lab_run_as):
    before = inventory_snapshot()
    target = dict(https_target(lab, "A19-N1"), address="127.0.10.200")
    with pytest.raises(agents.Unreachable) as info:
        discover_cluster(run_as=lab_run_as, **target)
    assert "127.0.10.200" in str(info.value) and "refused" in str(info.value)
    assert inventory_snapshot() == before


def test_garbage_output_is_a_clear_error_and_changes_nothing(lab, lab_run_as):
    before = inventory_snapshot()
    lab.fault("garbage_output", host="A19-N3", count=1)
    try:
        with pytest.raises(agents.BadOutput) as info:
            discover_host(run_as=lab_run_as, **https_target(lab, "A19-N3"))
    finally:
        lab.clear_faults()
    assert "127.0.10.3" in str(info.value) and "cannot read" in str(info.value)
    assert inventory_snapshot() == before


def test_insecure_connection_is_refused_without_allow_insecure(lab, lab_run_as):
    before = inventory_snapshot()
    with pytest.raises(agents.InsecureTransportRefused, match="Allow insecure"):
        discover_host(run_as=lab_run_as, transport="basic", **https_target(lab, "A-SA1"))
    http = dict(https_target(lab, "A19-N1"), https=False, port=lab.endpoints["lab"]["ports"]["winrm_http"])
    with pytest.raises(agents.InsecureTransportRefused, match="plain HTTP"):
        discover_cluster(run_as=lab_run_as, **http)
    assert inventory_snapshot() == before


def test_a_standalone_server_is_not_a_cluster(lab, lab_run_as):
    with pytest.raises(NotACluster, match="add_host"):
        discover_cluster(run_as=lab_run_as, **https_target(lab, "AWSUS"))
