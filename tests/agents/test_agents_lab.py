"""The agents against the simulated datacenter: hostile names stay data, faults become typed
errors with operator-readable messages, and a stuck BMC never hangs the caller."""

import pytest

from fabric import agents
from fabric.agents import bmc
from tests.agents.conftest import connection
from tests.helpers import wait_for

pytestmark = pytest.mark.lab

HOSTILE_VM = "it's $(Stop-VM -Name 'a-vm1' -TurnOff); `whoami`"
INJECTIONS = [
    "x'; Stop-VM -Name 'a-vm1' -TurnOff; '",
    "a-vm1`\"; Stop-VM -Name a-vm1 -TurnOff; \"",
    "$(Stop-VM -Name 'a-vm1' -TurnOff)",
    "a-vm1' -TurnOff; Stop-VM -Name 'a-vm2",
    "a-vm1\u2019; Stop-VM -Name \u2018a-vm1\u2019 -TurnOff; \u2018",
]


def vm_states(lab) -> dict:
    return {v["name"]: v["state"] for v in lab.state()["vms"]}


def vm_id(lab, name: str) -> str:
    return next(v["id"] for v in lab.state()["vms"] if v["name"] == name)


@pytest.mark.parametrize("name", INJECTIONS)
def test_a_vm_is_selected_only_by_its_guid_so_an_injection_never_reaches_the_host(lab, name):
    before = vm_states(lab)
    with pytest.raises(agents.UnsafeArgument, match="not a GUID"):
        agents.hyperv.get_vm(connection(lab, "A19-N1"), name)
    assert vm_states(lab) == before  # nothing was stopped


def test_a_vm_id_that_does_not_exist_is_not_found(lab):
    with pytest.raises(agents.NotFound) as info:
        agents.hyperv.get_vm(connection(lab, "A19-N1"), "8d1c6a55-0000-4000-8000-000000000000")
    assert "unable to find a virtual machine" in str(info.value)


def test_a_name_full_of_syntax_is_found_saved_and_started_as_itself(lab):
    conn = connection(lab, "A19-N2")
    hostile = vm_id(lab, HOSTILE_VM)
    vm = agents.hyperv.get_vm(conn, hostile)
    assert vm.name == HOSTILE_VM and vm.state == "Running"
    saved = agents.hyperv.save_vm(conn, hostile, name=HOSTILE_VM)
    assert saved.state == "Saved"
    states = vm_states(lab)
    assert states[HOSTILE_VM] == "Saved" and states["a-vm1"] == "Running"  # only that VM
    assert agents.hyperv.start_vm(conn, hostile).state == "Running"


def test_a_paused_vm_is_resumed_not_started(lab):
    conn = connection(lab, "A19-N2")
    lab.run_json("A19-N2", "Suspend-VM -Name a-vm3; ConvertTo-Json -InputObject 1")
    assert vm_states(lab)["a-vm3"] == "Paused"
    code, _, err = lab.run_ps("A19-N2", "$ErrorActionPreference = 'Stop'; Start-VM -Name a-vm3")
    assert code == 1 and "current state" in err  # the lab refuses Start-VM on a paused VM
    assert agents.hyperv.start_vm(conn, vm_id(lab, "a-vm3"), name="a-vm3").state == "Running"
    assert vm_states(lab)["a-vm3"] == "Running"


def test_the_nodes_and_the_witness_are_read_in_one_round_trip(lab):
    nodes, quorum, error = agents.cluster.get_cluster_state(connection(lab, "AFS22"))
    assert [n.name for n in nodes] == ["AF22-N1", "AF22-N2"] and error == ""
    assert quorum == agents.cluster.ClusterQuorum("Majority", "File Share Witness", "File Share Witness", "Online")
    assert quorum.witness_votes
    _, quorum, _ = agents.cluster.get_cluster_state(connection(lab, "ACL19"))
    assert quorum == agents.cluster.ClusterQuorum("Majority") and not quorum.witness_votes


def test_cluster_operations_look_before_they_act(lab):
    conn = connection(lab, "ACL19")
    paused = agents.cluster.suspend_node(conn, "A19-N3", drain=True)
    assert paused.state == "Paused" and paused.drain_status == "Completed"
    assert agents.cluster.suspend_node(conn, "A19-N3").state == "Paused"  # again: nothing to do
    assert {v for v, s in vm_states(lab).items() if s == "Running"} >= {"db;01 | Restart-Computer"}
    assert agents.cluster.resume_node(conn, "A19-N3").state == "Up"
    assert agents.cluster.resume_node(conn, "A19-N3").state == "Up"
    with pytest.raises(agents.CmdletError):
        agents.cluster.suspend_node(conn, "A19-N9'; Remove-ClusterNode A19-N1 -Force; '")
    assert {n.name for n in agents.cluster.get_cluster_nodes(conn)} == {"A19-N1", "A19-N2", "A19-N3"}


def test_a_drain_that_ends_failed_is_an_error_naming_what_stayed(lab):
    conn = connection(lab, "ACL19")
    lab.fault("migration_fails", vm="a-vm3", count=1)
    with pytest.raises(agents.AgentError) as info:
        agents.cluster.suspend_node(conn, "A19-N2", drain=True)
    assert "DrainStatus Failed" in str(info.value) and "a-vm3" in str(info.value)
    assert agents.cluster.get_cluster_node(conn, "A19-N2").drain_status == "Failed"
    placed = {v["name"]: (v["host"], v["state"]) for v in lab.state()["vms"]}
    assert placed["a-vm3"] == ("A19-N2", "Running") and placed[HOSTILE_VM][0] != "A19-N2"
    forced = agents.cluster.suspend_node(conn, "A19-N2", drain=True, force_drain=True)  # -Drain -ForceDrain
    assert forced.state == "Paused" and forced.drain_status == "Completed"
    assert agents.cluster.resume_node(conn, "A19-N2").state == "Up"


def test_host_facts_and_catalogue_reads(lab):
    facts = agents.hostinfo.get_host_facts(connection(lab, "A19-N1"))
    assert facts.os.computer_name == "A19-N1" and facts.os.build == 17763
    assert facts.vmhost.max_vm_migrations == 2
    assert any(a.address == "127.0.10.1" for a in facts.addresses)
    missing = agents.updates.scan_updates(connection(lab, "A19-N1"))
    assert [u.kb for u in missing] == ["5048661"]
    catalog = agents.wsus.get_wsus_updates(connection(lab, "AWSUS"))
    assert {u.kb for u in catalog} >= {"5048661", "5048654"}
    shares = agents.storage.get_smb_shares(connection(lab, "AFS22"))
    assert {s.name for s in shares if s.is_scale_out} == {"VMStore1", "VMStore2"}


def test_garbage_output_is_bad_output(lab):
    lab.fault("garbage_output", host="A19-N1", count=1)
    with pytest.raises(agents.BadOutput) as info:
        agents.hostinfo.get_os(connection(lab, "A19-N1"))
    assert "127.0.10.1" in str(info.value) and "JSON" in str(info.value)


def test_http_500_that_never_clears_is_a_protocol_error_once_the_retry_window_is_over(lab, monkeypatch):
    monkeypatch.setenv("FERRY_WINRM_RETRY_WINDOW_SECONDS", "2")
    fault = lab.fault("winrm_http500", host="A19-N1")
    try:
        with pytest.raises(agents.ProtocolError) as info:
            agents.hostinfo.get_os(connection(lab, "A19-N1"))
    finally:
        lab.control("DELETE", f"/faults/{fault['id']}")
    assert "HTTP 500" in str(info.value)
    assert agents.hostinfo.get_os(connection(lab, "A19-N1")).computer_name == "A19-N1"


def test_a_host_that_stops_answering_times_out(lab):
    fault = lab.fault("winrm_timeout", host="A19-N2")
    conn = connection(lab, "A19-N2", connect_timeout=2)
    try:
        with pytest.raises((agents.OperationTimeout, agents.Unreachable)) as info:
            agents.run_script(conn, "$result = 1", operation="probe", timeout=3, retry_window=0)
    finally:
        lab.control("DELETE", f"/faults/{fault['id']}")
    assert "127.0.10.2" in str(info.value)


def bmc_target(lab, name, **overrides) -> bmc.BMCTarget:
    entry = lab.entry(name)["bmc"]
    values = dict(address=entry["address"], port=entry["port"], username=entry["username"],
                  password=entry["password"], account="Lab BMC")
    values.update(overrides)
    return bmc.BMCTarget(**values)


def test_bmc_power_and_next_boot(lab):
    target = bmc_target(lab, "A19-N1")
    assert bmc.power_state(target) == "on"
    assert bmc.set_next_boot_network(target) == "network"
    assert bmc.boot_device(target) == "network"
    with pytest.raises(bmc.BMCAccessDenied, match="Lab BMC"):
        bmc.power_state(bmc_target(lab, "A19-N1", password="wrong"))
    file_server = bmc_target(lab, "AF22-N2")  # no VMs on it: restarting it endangers nothing
    since = len(lab.events())
    assert bmc.power_reset(file_server) == "reset"
    assert bmc.power_cycle(file_server) == "cycle"
    seen = [(e["event"], e.get("host")) for e in lab.events(since)]
    assert ("bmc-reset", "AF22-N2") in seen and ("bmc-cycle", "AF22-N2") in seen
    assert bmc.power_state(file_server) == "on"


def test_an_unresponsive_bmc_gives_a_typed_error_instead_of_hanging(lab):
    fault = lab.fault("bmc_unresponsive", host="A19-N2")
    try:
        with pytest.raises((agents.BMCUnreachable, agents.BMCTimeout)) as info:
            bmc.power_state(bmc_target(lab, "A19-N2", timeout=3))
    finally:
        lab.control("DELETE", f"/faults/{fault['id']}")
    assert "127.0.10.2" in str(info.value)
    assert bmc.power_state(bmc_target(lab, "A19-N2")) == "on"


def test_every_catalogue_operation_runs_against_the_lab(lab):
    """One call of each remaining operation, as the orchestrations will make them."""
    node = connection(lab, "A19-N1")
    cluster = connection(lab, "ACL19")
    assert agents.cluster.get_cluster(cluster).name == "ACL19"
    assert agents.cluster.get_cluster_node(cluster, "A19-N2").state == "Up"
    assert {i.node for i in agents.cluster.get_cluster_network_interfaces(cluster)} == {"A19-N1", "A19-N2", "A19-N3"}
    assert any(g.group_type == "VirtualMachine" for g in agents.cluster.get_cluster_groups(cluster))
    vm2 = vm_id(lab, "a-vm2")
    moved = agents.cluster.move_vm_role(cluster, vm2, "A19-N2", name="a-vm2")
    assert moved.owner_node == "A19-N2" and moved.state == "Online" and moved.name == "a-vm2"
    assert agents.cluster.move_vm_role(cluster, vm2, "A19-N1").owner_node == "A19-N1"
    roles = agents.cluster.get_vm_roles(cluster, [vm2, vm_id(lab, "a-vm1"), "8d1c6a55-0000-4000-8000-000000000000"])
    assert {r.name for r in roles.values()} == {"a-vm1", "a-vm2"} and roles[vm2].owner_node == "A19-N1"
    with pytest.raises(agents.CmdletError, match="functional level"):
        agents.cluster.update_functional_level(cluster, what_if=True)  # every node still runs 2019
    assert {v.name for v in agents.hyperv.get_vms(node)} >= {"a-vm1", "a-vm2"}
    assert agents.hyperv.get_vm_host(node).logical_processors == 16
    stopped = agents.hyperv.stop_vm(node, vm2, mode="Save")
    assert stopped.state == "Saved" and agents.hyperv.start_vm(node, vm2).state == "Running"
    assert agents.hostinfo.get_computer_system(node).domain == "contoso.com"
    assert agents.hostinfo.get_net_adapters(node)[0].mac_address == "00-15-5D-A1-00-01"
    assert agents.hostinfo.get_ip_addresses(node)
    assert any(d.is_boot for d in agents.hostinfo.get_disks(node))
    assert agents.hostinfo.is_pending_reboot(node) is False
    volumes = agents.storage.get_cluster_shared_volumes(cluster)
    assert [v.name for v in volumes] == ["Cluster Disk 1"]
    other = "A19-N2" if volumes[0].owner_node != "A19-N2" else "A19-N3"
    assert agents.storage.move_cluster_shared_volume(cluster, "Cluster Disk 1", other).owner_node == other
    wsus = connection(lab, "AWSUS")
    assert agents.wsus.get_wsus_server(wsus).port == 8530
    kb = next(u for u in agents.wsus.get_wsus_updates(wsus) if u.kb == "5048654")
    assert agents.wsus.approve_updates(wsus, [kb.update_id], "All Computers") == 1
    wds = connection(lab, "AWDS")
    staged = agents.deployment.stage_deployment(
        wds, mac="00-15-5D-A1-00-77", device_name="HV-NEW77", remote_install="D:\\RemoteInstall",
        answer_file="<unattend xmlns=\"urn:schemas-microsoft-com:unattend\">\n<!-- it's $(secret) -->\n</unattend>")
    assert staged.device_name == "HV-NEW77" and staged.unattend.endswith("ferry-00155da10077.xml")
    assert agents.deployment.stage_deployment(  # again: replaced, not refused
        wds, mac="00-15-5D-A1-00-77", device_name="HV-NEW77", remote_install="D:\\RemoteInstall",
        answer_file="<unattend/>").device_name == "HV-NEW77"
    assert [d.device_name for d in agents.deployment.get_staged_devices(wds)] == ["HV-NEW77"]
    assert agents.deployment.unstage_deployment(wds, mac="00-15-5D-A1-00-77", remote_install="D:\\RemoteInstall")
    assert agents.deployment.unstage_deployment(
        wds, mac="00-15-5D-A1-00-77", remote_install="D:\\RemoteInstall"
    ) is False


def test_compliance_reads_in_one_round_trip(lab):
    scan = agents.updates.scan_compliance(connection(lab, "A19-N2"))
    assert scan.missing == [] and scan.pending_reboot is False
    installed = agents.updates.get_installed_updates(connection(lab, "A19-N2"))
    assert "5048661" in installed.kbs and installed.kbs == scan.installed_kbs
    assert [u.kb for u in agents.updates.scan_compliance(connection(lab, "A19-N1")).missing] == ["5048661"]


def test_windows_update_install_through_the_cim_provider(lab):
    conn = connection(lab, "A19-N3")
    missing = agents.updates.scan_updates(conn)
    assert [u.kb for u in missing] == []  # A19-N3 misses nothing in this topology
    conn = connection(lab, "A19-N1")
    lab.fault("update_install_fails", host="A19-N1", hresult="0x80240022", count=1)
    with pytest.raises(agents.updates.UpdateInstallFailed) as info:
        agents.updates.install_updates(conn, ["KB5048661"])
    assert info.value.hresult == 0x80240022 and "WU_E_ALL_UPDATES_FAILED" in str(info.value)
    assert lab.control("GET", "/faults")["faults"] == []  # a one-shot fault is used up
    result = agents.updates.install_updates(conn, ["KB5048661"])
    assert result.installed and result.reboot_required
    assert agents.updates.install_updates(conn, ["KB5048661"]).installed == []  # already there: nothing to do
    assert agents.hostinfo.is_pending_reboot(conn) is True
    pending, os_info = agents.hostinfo.pending_reboot_and_boot(conn)  # what a restart step reads first
    assert pending is True and os_info.last_boot == agents.hostinfo.get_os(conn).last_boot


def test_restart_computer_drops_the_connection_and_the_host_comes_back(lab):
    # a file server node that runs no VM and owns no SOFS role or volume (restarting the owner would
    # make the cluster fail them over: a share outage)
    conn = connection(lab, "AF22-N2")
    booted = agents.hostinfo.get_os(conn).last_boot
    assert agents.hostinfo.restart_computer(conn) is None
    # restarting: WinRM refuses meanwhile
    wait_for(lambda: agents.hostinfo.get_os(conn).last_boot > booted, "AF22-N2 to come back with a new boot time",
             ignore=(agents.Unreachable, agents.ProtocolError), interval=0.1)
