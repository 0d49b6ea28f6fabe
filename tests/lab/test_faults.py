"""Every fault the lab can inject, seen from the client side."""
import json
import shutil
import subprocess

import pytest
import requests
import winrm
from winrm.exceptions import WinRMError

from lab.testing import LabError, ipmi
from tests.lab.waiting import reachable, until

pytestmark = pytest.mark.lab
IDIOM = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; "


def test_a_failing_migration_errors_and_leaves_the_vm_running_where_it_was(fresh_lab):
    fault = fresh_lab.fault("migration_fails", vm="t-vm1", count=1)
    assert fault["id"] in [f["id"] for f in fresh_lab.control("GET", "/faults")["faults"]]
    code, _, err = fresh_lab.run_ps("T19-N1", IDIOM + "Move-ClusterVirtualMachineRole -Name t-vm1 -Node T19-N3")
    assert code == 1 and "Virtual machine migration operation for 't-vm1' failed" in " ".join(err.split())
    vm = next(v for v in fresh_lab.state()["vms"] if v["name"] == "t-vm1")
    assert (vm["host"], vm["state"]) == ("T19-N1", "Running")
    code, _, _ = fresh_lab.run_ps("T19-N1", IDIOM + "Move-ClusterVirtualMachineRole -Name t-vm1 -Node T19-N3")
    assert code == 0                                           # count = 1: used up
    fresh_lab.assert_invariants_held()


def test_a_host_that_does_not_come_back_after_restart(fresh_lab):
    fresh_lab.fault("host_stays_down", host="T-SPARE")
    assert fresh_lab.run_ps("T-SPARE", "Restart-Computer -Force")[0] == 0
    until(lambda: any(e["event"] == "host-hung" for e in fresh_lab.events()))
    assert not reachable(fresh_lab, "T-SPARE")
    host = next(h for h in fresh_lab.state()["hosts"] if h["name"] == "T-SPARE")
    assert (host["power"], host["os_state"]) == ("on", "hung")
    fresh_lab.clear_faults()
    ipmi(fresh_lab.entry("T-SPARE")["bmc"], ("set_power", "reset"))      # someone power-cycles it
    until(lambda: reachable(fresh_lab, "T-SPARE"))


def test_winrm_timeout_then_recovery(fresh_lab):
    fault = fresh_lab.fault("winrm_timeout", host="T19-N2")
    entry = fresh_lab.entry("T19-N2")["winrm"]
    session = winrm.Session(entry["url"], auth=(entry["username"], entry["password"]), transport=entry["transport"],
                            read_timeout_sec=2, operation_timeout_sec=1, ca_trust_path=fresh_lab.endpoints["ca_path"])
    with pytest.raises(requests.exceptions.Timeout):
        session.run_ps("$env:COMPUTERNAME")
    fresh_lab.control("DELETE", f"/faults/{fault['id']}")
    assert reachable(fresh_lab, "T19-N2")


def test_winrm_answering_500_on_a_host_and_on_a_cluster_name(fresh_lab):
    fresh_lab.fault("winrm_http500", host="T19-N2")
    fresh_lab.fault("winrm_http500", host="TCL19")
    for name in ("T19-N2", "TCL19"):
        with pytest.raises(WinRMError, match="500"):
            fresh_lab.run_ps(name, "$env:COMPUTERNAME")
    assert reachable(fresh_lab, "T19-N1")
    fresh_lab.clear_faults()
    assert reachable(fresh_lab, "TCL19")


def test_winrm_faults_with_a_count_fire_that_many_times_then_clear(fresh_lab):
    since = len(fresh_lab.events())
    fault = fresh_lab.fault("winrm_http500", host="T19-N2", count=2)
    for _ in range(2):                      # each run_ps fails at its first request
        with pytest.raises(WinRMError, match="500"):
            fresh_lab.run_ps("T19-N2", "$env:COMPUTERNAME")
    assert fresh_lab.run_ps("T19-N2", "$env:COMPUTERNAME")[1].strip() == "T19-N2"
    fired = [e for e in fresh_lab.events(since) if e["event"] == "fault-fired"]
    assert [(e["id"], e["remaining"]) for e in fired] == [(fault["id"], 1), (fault["id"], 0)]
    assert fresh_lab.control("GET", "/faults")["faults"] == []
    fresh_lab.fault("winrm_timeout", host="TCL19", count=1)
    entry = fresh_lab.entry("TCL19")["winrm"]
    session = winrm.Session(entry["url"], auth=(entry["username"], entry["password"]), transport=entry["transport"],
                            read_timeout_sec=2, operation_timeout_sec=1, ca_trust_path=fresh_lab.endpoints["ca_path"])
    with pytest.raises(requests.exceptions.Timeout):
        session.run_ps("$env:COMPUTERNAME")
    assert session.run_ps("$env:COMPUTERNAME").status_code == 0       # no DELETE needed: it cleared


def test_a_bmc_that_stops_answering(fresh_lab):
    bmc = fresh_lab.entry("T19-N1")["bmc"]
    fresh_lab.fault("bmc_unresponsive", host="T19-N1")
    ipmitool = shutil.which("ipmitool")
    if ipmitool:       # one retry of one second: faster to give up than pyghmi's ~6 s of retries
        done = subprocess.run([ipmitool, "-I", "lanplus", "-H", bmc["address"], "-p", str(bmc["port"]), "-U",
                               bmc["username"], "-P", bmc["password"], "-R", "1", "-N", "1", "chassis", "power",
                               "status"], capture_output=True, text=True, timeout=30)
        assert done.returncode != 0 and "Unable to establish" in done.stderr
    else:
        with pytest.raises(LabError):
            ipmi(bmc, "power", timeout=60)
    fresh_lab.clear_faults()
    assert ipmi(bmc, "power") == ["on"]


def test_a_bmc_that_drops_two_packets_answers_the_retry(fresh_lab):
    from tests.helpers import require_binary

    ipmitool = require_binary("ipmitool")
    bmc = fresh_lab.entry("T19-N1")["bmc"]
    fresh_lab.fault("bmc_unresponsive", host="T19-N1", count=2)
    done = subprocess.run([ipmitool, "-I", "lanplus", "-H", bmc["address"], "-p", str(bmc["port"]), "-U",
                           bmc["username"], "-P", bmc["password"], "-R", "4", "-N", "1", "chassis", "power",
                           "status"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Chassis Power is on" in done.stdout, done.stderr
    assert fresh_lab.control("GET", "/faults")["faults"] == []


def test_an_update_install_failing_with_an_hresult(fresh_lab):
    fresh_lab.fault("update_install_fails", host="T19-N2", hresult="0x80240022")
    script = (IDIOM + "$ns = 'root/Microsoft/Windows/WindowsUpdate'\n"
              "$u = (Invoke-CimMethod -Namespace $ns -ClassName MSFT_WUOperations -MethodName ScanForUpdates "
              "-Arguments @{SearchCriteria='IsInstalled=0'}).Updates\n"
              "$r = Invoke-CimMethod -Namespace $ns -ClassName MSFT_WUOperations -MethodName InstallUpdates "
              "-Arguments @{Updates=$u}\n"
              "$r | Select-Object ReturnValue, RebootRequired | ConvertTo-Json -Compress")
    assert fresh_lab.run_json("T19-N2", script) == {"ReturnValue": 0x80240022, "RebootRequired": False}
    host = next(h for h in fresh_lab.state()["hosts"] if h["name"] == "T19-N2")
    assert host["missing_updates"] == ["5048661"] and host["pending_reboot"] is False


def test_garbage_output_for_one_cmdlet_once(fresh_lab):
    fresh_lab.fault("garbage_output", host="T19-N1", cmdlet="Get-VM", count=1)
    fine = fresh_lab.run_ps("T19-N1", "Get-ClusterNode | Select-Object Name | ConvertTo-Json -Compress")
    assert json.loads(fine[1])
    code, out, _ = fresh_lab.run_ps("T19-N1", "Get-VM | Select-Object Name | ConvertTo-Json -Compress")
    assert code == 0
    with pytest.raises(ValueError):
        json.loads(out)
    assert json.loads(fresh_lab.run_ps("T19-N1", "Get-VM | Select-Object Name | ConvertTo-Json -Compress")[1])


def test_bad_fault_requests_are_refused_with_a_reason(lab):
    with pytest.raises(LabError, match="kind must be one of"):
        lab.fault("meteor_strike", host="T19-N1")
    with pytest.raises(LabError, match="no host or cluster named 'NOPE'"):
        lab.fault("winrm_timeout", host="NOPE")
    with pytest.raises(LabError, match="hresult must be a number"):
        lab.fault("update_install_fails", host="T19-N1", hresult="bad")
    assert lab.control("GET", "/faults")["faults"] == []
