"""The simulated datacenter's rules, exercised directly (no network): migration slots and time,
the cluster's own drain, restarts, updates, re-imaging, and the invariant checker."""
import threading
import time
from pathlib import Path

import pytest

from lab.datacenter import Datacenter, OperationError
from lab.topology import load_topology, loads_topology
from tests.lab.unattend import answer_file

TESTS = Path(__file__).resolve().parents[2] / "lab" / "topologies" / "tests.toml"


@pytest.fixture
def dc():
    center = Datacenter(load_topology(TESTS), speed=400)
    yield center
    center.stop()


def rules(dc):
    return [v["rule"] for v in dc.invariants.report()["violations"]]


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def owner(dc, vm):
    return dc.find_vm(vm)[0].name


def test_a_live_migration_moves_the_vm_and_keeps_it_running(dc):
    dc.move_vm("TCL19", "t-vm1", "T19-N3")
    assert owner(dc, "t-vm1") == "T19-N3"
    assert dc.find_vm("t-vm1")[1].state == "Running"
    started = [e for e in dc.events if e["event"] == "migration-started"]
    assert started[0]["seconds"] == pytest.approx(8 * 2**30 / (10e9 / 8), rel=1e-3)   # memory / bandwidth
    assert dc.invariants.report()["ok"]


def test_migrations_beyond_the_simultaneous_limit_wait_for_a_slot(dc):
    # Three VMs leave T19-N1/T19-N2 for T19-N3 at once; T19-N3 has 2 slots.
    threads = [threading.Thread(target=dc.move_vm, args=("TCL19", vm, "T19-N3")) for vm in ("t-vm1", "t-vm2", "t-vm3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    active, most = 0, 0
    for event in dc.events:
        if event["event"] == "migration-started":
            active += 1
        elif event["event"] == "migration-finished":
            active -= 1
        most = max(most, active)
    assert most == 2
    assert {owner(dc, v) for v in ("t-vm1", "t-vm2", "t-vm3")} == {"T19-N3"}


def test_a_migration_to_a_node_without_memory_or_paused_is_refused(dc):
    dc.pause_node("TCL19", "T19-N3", drain=False)
    with pytest.raises(OperationError, match="paused"):
        dc.move_vm("TCL19", "t-vm1", "T19-N3")
    dc.resume_node("TCL19", "T19-N3")
    dc.hosts["T19-N3"].memory = 6 * 2**30
    with pytest.raises(OperationError, match="Not enough memory"):
        dc.move_vm("TCL19", "t-vm1", "T19-N3")
    assert owner(dc, "t-vm1") == "T19-N1"


def most_at_once(dc) -> int:
    active, most = 0, 0
    for event in dc.events:
        active += {"migration-started": 1, "migration-finished": -1}.get(event["event"], 0)
        most = max(most, active)
    return most


def test_the_cluster_drain_moves_as_many_vms_at_once_as_the_node_allows(dc):
    dc.pause_node("TCL19", "T19-N2", drain=True, wait=True)
    node = dc.hosts["T19-N2"]
    assert node.paused and node.drain_status == 2          # Completed
    assert not [vm for vm in node.vms.values() if vm.in_memory]
    moves = [e for e in dc.events if e["event"] == "migration-started"]
    assert sorted(m["vm"] for m in moves) == ["t-vm3", "t-vm4"]
    assert most_at_once(dc) == 2                            # MaximumVirtualMachineMigrations = 2, not one by one
    assert dc.invariants.report()["ok"]


DRAIN_QUEUE = """
[lab]
name = "drainq"
domain = "contoso.com"
[defaults]
winrm_username = "CONTOSO\\\\svc"
winrm_password = "x-Passw0rd!"
memory_gb = 64.0
[[clusters]]
name = "QCL"
vms = [
  { name = "q1", owner = "Q-N1", memory_gb = 4.0 }, { name = "q2", owner = "Q-N1", memory_gb = 4.0 },
  { name = "q3", owner = "Q-N1", memory_gb = 4.0 }, { name = "q4", owner = "Q-N1", memory_gb = 4.0 },
  { name = "q5", owner = "Q-N1", memory_gb = 4.0 },
]
[[clusters.nodes]]
name = "Q-N1"
max_migrations = 3
[[clusters.nodes]]
name = "Q-N2"
max_migrations = 4
[[clusters.nodes]]
name = "Q-N3"
max_migrations = 4
"""


def test_the_cluster_drain_queues_what_is_beyond_the_limit_and_spreads_the_vms():
    center = Datacenter(loads_topology(DRAIN_QUEUE), speed=400)
    try:
        center.pause_node("QCL", "Q-N1", drain=True, wait=True)
        assert center.hosts["Q-N1"].drain_status == 2
        assert most_at_once(center) == 3                    # Q-N1's own limit; the other two waited
        targets = [owner(center, f"q{i}") for i in range(1, 6)]
        assert "Q-N1" not in targets and {"Q-N2", "Q-N3"} == set(targets)
        assert center.invariants.report()["ok"]
    finally:
        center.stop()


def test_a_failed_drain_returns_and_leaves_the_node_paused_with_drain_failed(dc):
    dc.add_fault({"kind": "migration_fails", "vm": "t-vm3"})
    dc.pause_node("TCL19", "T19-N2", drain=True, wait=True)   # no error: the caller reads DrainStatus
    assert dc.hosts["T19-N2"].paused and dc.hosts["T19-N2"].drain_status == 3      # Failed
    assert owner(dc, "t-vm3") == "T19-N2" and owner(dc, "t-vm4") != "T19-N2"
    finished = [e for e in dc.events if e["event"] == "drain-finished"]
    assert "t-vm3" in finished[-1]["failures"][0]


def test_a_force_drain_stops_what_cannot_move_and_pauses_anyway(dc):
    dc.add_fault({"kind": "migration_fails", "vm": "t-vm3"})
    dc.pause_node("TCL19", "T19-N2", drain=True, force=True, wait=True)
    assert dc.hosts["T19-N2"].paused and dc.hosts["T19-N2"].drain_status == 2      # Completed
    assert owner(dc, "t-vm3") != "T19-N2" and dc.find_vm("t-vm3")[1].state == "Off"   # a failed role elsewhere
    assert rules(dc) == ["vm-crashed"]


def test_resume_with_immediate_failback_brings_the_drained_vms_home(dc):
    dc.pause_node("TCL19", "T19-N2", drain=True, wait=True)
    dc.resume_node("TCL19", "T19-N2", "Immediate")
    assert owner(dc, "t-vm3") == owner(dc, "t-vm4") == "T19-N2"
    assert not dc.hosts["T19-N2"].paused


def test_restart_takes_the_host_down_then_back_and_clears_pending_reboot(dc):
    host = dc.hosts["T-SPARE"]
    host.pending_reboot = True
    before = host.last_boot
    dc.restart_host("T-SPARE")
    assert wait_for(lambda: not host.online)
    assert not host.pending_reboot
    assert wait_for(lambda: host.online)
    assert host.last_boot > before
    assert dc.invariants.report()["ok"]


def test_restarting_a_node_with_running_vms_crashes_them_and_is_recorded(dc):
    dc.restart_host("T19-N1")
    assert wait_for(lambda: not dc.hosts["T19-N1"].online)
    assert dc.find_vm("t-vm1")[1].state == "Off"
    assert "vm-running-on-down-host" in rules(dc)


def test_losing_two_of_three_nodes_loses_quorum(dc):
    dc.bmc_power("T19-N2", "off")
    assert dc.invariants.report()["ok"] is False     # VMs crashed with N2
    dc.invariants.violations.clear()
    dc.move_vm("TCL19", "t-vm6", "T19-N1")
    dc.bmc_power("T19-N3", "off")
    assert "quorum-lost" in rules(dc)


def test_a_vm_started_beyond_the_hosts_memory_is_an_overcommit(dc):
    dc.hosts["T19-N3"].memory = 6 * 2**30
    with pytest.raises(ValueError, match="Not enough memory"):
        dc.vm_action({"action": "start", "vm": "t-vm5"})
    dc.vm_action({"action": "start-overcommit", "vm": "t-vm5"})
    assert "memory-overcommitted" in rules(dc)


def test_running_vms_left_on_a_paused_node_are_reported_after_the_grace(dc):
    dc.pause_node("TCL19", "T19-N1", drain=False)
    assert dc.invariants.report()["ok"]              # evacuation may still be on its way
    assert wait_for(lambda: "vm-running-on-paused-node" in rules(dc), timeout=dc.invariants.grace_wall_seconds() + 3)


def test_installing_updates_marks_them_installed_and_sets_pending_reboot(dc):
    host = dc.hosts["T19-N1"]
    code, updates = dc.scan("T19-N1", "IsInstalled=0 and Type='Software' and IsHidden=0")
    assert code == 0 and sorted(u.kb for u in updates) == ["5048661", "890830"]
    code, reboot, done = dc.install("T19-N1", [u.id for u in updates])
    assert code == 0 and reboot and host.pending_reboot
    assert dc.scan("T19-N1", "IsInstalled=0")[1] == []
    assert {u.kb for u in dc.scan("T19-N1", "IsInstalled=1")[1]} >= {"5048661", "890830"}


def test_an_injected_install_failure_returns_its_hresult_and_installs_nothing(dc):
    dc.add_fault({"kind": "update_install_fails", "host": "T19-N2", "hresult": "0x80240022"})
    code, reboot, done = dc.install("T19-N2", ["KB5048661"])
    assert code == 0x80240022 and not done and not reboot
    assert "5048661" in [u.kb for u in dc.applicable_missing(dc.hosts["T19-N2"])]


def test_invalid_search_criteria_answer_wu_e_invalid_criteria(dc):
    assert dc.scan("T19-N1", "IsInstalled=0 and Frobnicate=1")[0] == 0x80240032


def test_pxe_boot_with_a_staged_deployment_reimages_the_host(dc):
    wds = dc.hosts["TWDS"]
    dc.write_file(wds, "D:\\RemoteInstall\\WdsClientUnattend\\new.xml", UNATTEND)
    dc.stage(wds, "00-15-5D-71-00-99", "HV22-NEW", "WdsClientUnattend\\new.xml", None, "NoPrompt", True,
             "contoso.com", None)
    dc.add_reservation("127.0.0.0", "127.0.10.200", "00-15-5D-71-00-99", "HV22-NEW", "", "Dhcp")
    dc.set_boot_device("T-SPARE", "network")
    dc.bmc_power("T-SPARE", "reset")
    host = dc.hosts["T-SPARE"]
    assert host.os_state == "deploying"
    assert wait_for(lambda: host.online)
    assert (host.name, host.os.build, host.address, host.domain) == ("HV22-NEW", 20348, "127.0.10.200", "contoso.com")
    # The client unattend file's TCP/IP and DNS settings (specialize pass) are not applied by WDS.
    assert host.management_nic().dhcp and host.management_nic().gateway is None and host.management_nic().dns == []
    assert host.installed == {} and host.cluster is None and host.boot_device == "default"
    assert host.features == set()


def test_reimaging_a_host_that_still_has_vms_loses_them(dc):
    wds = dc.hosts["TWDS"]
    dc.write_file(wds, "D:\\RemoteInstall\\n1.xml", answer_file("HV22-NEW", "00-15-5D-71-00-01", "127.0.10.200"))
    dc.stage(wds, "00-15-5D-71-00-01", "T19-N1", "n1.xml", None, "NoPrompt", True, "contoso.com", None)
    dc.set_boot_device("T19-N1", "network")
    dc.bmc_power("T19-N1", "cycle")
    assert wait_for(lambda: "vm-lost" in rules(dc))


def test_evicting_a_node_and_adding_it_back(dc):
    dc.pause_node("TCL19", "T19-N3", drain=True, wait=True)
    dc.evict_node("TCL19", "T19-N3")
    cluster = dc.clusters["TCL19"]
    assert [r.name for r in cluster.nodes] == ["T19-N1", "T19-N2"]
    assert dc.hosts["T19-N3"].cluster is None
    with pytest.raises(OperationError, match="already a member"):
        dc.add_node("TCL19", "T19-N1")
    dc.add_node("TCL19", "T19-N3")
    assert [r.name for r in cluster.nodes][-1] == "T19-N3"
    assert dc.invariants.report()["ok"]


def test_a_node_two_versions_newer_cannot_join(dc):
    dc.evict_node("TCL19", "T19-N3")
    from lab.topology import OS_RELEASES
    dc.hosts["T19-N3"].os = OS_RELEASES["2025"]
    with pytest.raises(OperationError, match="functional level 10 accepts nodes at level 10 or 11"):
        dc.add_node("TCL19", "T19-N3")


def test_the_functional_level_rises_only_when_every_node_runs_the_newer_os(dc):
    from lab.topology import OS_RELEASES
    with pytest.raises(OperationError, match="already 10"):
        dc.raise_functional_level("TCL19")
    for key in ("T19-N1", "T19-N2", "T19-N3"):
        dc.hosts[key].os = OS_RELEASES["2022"]
    assert dc.raise_functional_level("TCL19", what_if=True) == 11
    assert dc.clusters["TCL19"].functional_level == 10
    dc.raise_functional_level("TCL19")
    assert dc.clusters["TCL19"].functional_level == 11


def test_faults_from_the_topology_are_active_at_start():
    text = TESTS.read_text() + '\n[[faults]]\nkind = "migration_fails"\nvm = "t-vm1"\ncount = 1\n'
    center = Datacenter(loads_topology(text), speed=400)
    try:
        with pytest.raises(OperationError, match="t-vm1"):
            center.move_vm("TCL19", "t-vm1", "T19-N3")
        center.move_vm("TCL19", "t-vm1", "T19-N3")        # count = 1: the second try works
        assert owner(center, "t-vm1") == "T19-N3"
    finally:
        center.stop()


UNATTEND = answer_file("HV22-NEW", "00-15-5D-71-00-99", "127.0.10.200", gateway="127.0.10.254",
                       dns="127.0.10.253")


def test_an_evicted_s2d_node_takes_its_disks_and_resyncs_when_it_joins_again(dc):
    cluster = next(c for c in dc.clusters.values() if c.name == "TFS19")
    n1, n2 = dc.find_host("TF19-N1"), dc.find_host("TF19-N2")
    dc.move_group(cluster.key, "TSOFS", "TF19-N2")
    dc.move_csv(cluster.key, "Cluster Disk 1", "TF19-N2")
    dc.evict_node(cluster.key, "TF19-N1")
    disk = cluster.csvs[0]
    assert dc.virtual_disk_status(cluster, disk) == ("Warning", "Degraded")   # a copy is away with the node
    time.sleep(0.2)
    dc.add_node(cluster.key, "TF19-N1")
    jobs = dc.storage_jobs(cluster)
    assert [j.name for j in jobs] == ["Repair"] and jobs[0].duration > 0       # in proportion to its time away
    assert dc.virtual_disk_status(cluster, disk) == ("Warning", "InService")
    assert {r.owner for r in cluster.sofs_roles + cluster.csvs} == {n2.key}     # it owns nothing until moved
    assert n1.cluster == cluster.key
    assert wait_for(lambda: dc.virtual_disk_status(cluster, disk) == ("Healthy", "OK"))
    assert rules(dc) == []
