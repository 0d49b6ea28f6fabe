"""Cmdlets that change the lab, through pywinrm: drain and resume, VM moves and power, evict and
add, restart, Windows Update installs, deployment staging. Each test gets a fresh lab."""

import pytest

from tests.lab.waiting import reachable, until

pytestmark = pytest.mark.lab
IDIOM = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; "
IDS = "ConvertTo-Json -Compress -InputObject @(({scan}).Updates | Select-Object -ExpandProperty UpdateID)"
SCAN = ("Invoke-CimMethod -Namespace root/Microsoft/Windows/WindowsUpdate -ClassName MSFT_WUOperations "
        "-MethodName ScanForUpdates -Arguments @{SearchCriteria=\"IsInstalled=0 and Type='Software' and IsHidden=0\"}")


def ps(lab, host, script):
    return lab.run_json(host, IDIOM + script)


def owners(lab):
    return {vm["name"]: vm["host"] for vm in lab.state()["vms"]}


def test_drain_then_resume_with_failback(fresh_lab):
    node = ps(fresh_lab, "T19-N1", "Suspend-ClusterNode -Name T19-N2 -Drain -Wait | Select-Object Name, "
                                   "@{n='State';e={[string]$_.State}}, @{n='Drain';e={[string]$_.DrainStatus}} | "
                                   "ConvertTo-Json -Compress")
    assert node == {"Name": "T19-N2", "State": "Paused", "Drain": "Completed"}
    placed = owners(fresh_lab)
    assert placed["t-vm3"] != "T19-N2" and placed["t-vm4"] != "T19-N2"
    ps(fresh_lab, "T19-N1", "Resume-ClusterNode -Name T19-N2 -Failback Immediate | ConvertTo-Json -Compress")
    placed = owners(fresh_lab)
    assert placed["t-vm3"] == placed["t-vm4"] == "T19-N2"
    fresh_lab.assert_invariants_held()


def test_move_a_vm_role_and_power_vms(fresh_lab):
    group = ps(fresh_lab, "T19-N1", "Move-ClusterVirtualMachineRole -Name t-vm1 -Node T19-N3 -MigrationType Live | "
                                    "Select-Object Name, @{n='Owner';e={$_.OwnerNode.Name}}, State | "
                                    "ConvertTo-Json -Compress")
    assert group == {"Name": "t-vm1", "Owner": "T19-N3", "State": 0}
    saved = ps(fresh_lab, "T19-N3", "Save-VM -Name t-vm1 -Passthru | Select-Object Name, State | "
                                    "ConvertTo-Json -Compress")
    assert saved == {"Name": "t-vm1", "State": 6}
    started = ps(fresh_lab, "T19-N3", "Get-VM -Name t-vm1 | Start-VM -Passthru | Select-Object State | "
                                      "ConvertTo-Json -Compress")
    assert started == {"State": 2}
    code, _, _ = fresh_lab.run_ps("T19-N3", IDIOM + "Stop-VM -Name t-vm1 -TurnOff")
    assert code == 0
    assert {vm["name"]: vm["state"] for vm in fresh_lab.state()["vms"]}["t-vm1"] == "Off"
    fresh_lab.assert_invariants_held()


def test_a_vm_name_pattern_acts_on_every_vm_it_matches(fresh_lab):
    ps(fresh_lab, "T19-N1", "Save-VM -Name 't-vm?'; ConvertTo-Json -InputObject 1")  # as Start-VM -Name Test* does
    states = {vm["name"]: vm["state"] for vm in fresh_lab.state()["vms"]}
    assert states["t-vm1"] == states["t-vm2"] == "Saved"
    vm_id = next(v["id"] for v in fresh_lab.state()["vms"] if v["name"] == "t-vm2")
    ps(fresh_lab, "T19-N1", f"Get-VM -Id '{vm_id}' | Start-VM; ConvertTo-Json -InputObject 1")
    states = {vm["name"]: vm["state"] for vm in fresh_lab.state()["vms"]}
    assert (states["t-vm1"], states["t-vm2"]) == ("Saved", "Running")  # by id: only that one


def test_a_paused_vm_is_continued_with_resume_vm(fresh_lab):
    ps(fresh_lab, "T19-N1", "Suspend-VM -Name t-vm1; ConvertTo-Json -InputObject 1")
    code, _, err = fresh_lab.run_ps("T19-N1", IDIOM + "Start-VM -Name t-vm1")
    assert code == 1 and "InvalidState,Microsoft.HyperV.PowerShell.Commands.StartVM" in err
    resumed = ps(fresh_lab, "T19-N1", "Resume-VM -Name t-vm1 -Passthru | Select-Object Name, State | "
                                      "ConvertTo-Json -Compress")
    assert resumed == {"Name": "t-vm1", "State": 2}
    code, _, err = fresh_lab.run_ps("T19-N1", IDIOM + "Resume-VM -Name t-vm1")  # running: nothing to resume
    assert code == 1 and "InvalidState" in err
    fresh_lab.assert_invariants_held()


def test_a_failed_drain_returns_with_drain_status_failed(fresh_lab):
    fresh_lab.fault("migration_fails", vm="t-vm4", count=1)
    node = ps(fresh_lab, "T19-N1", "Suspend-ClusterNode -Name T19-N2 -Drain -Wait | Select-Object "
                                   "@{n='State';e={[string]$_.State}}, @{n='Drain';e={[string]$_.DrainStatus}}, "
                                   "@{n='Info';e={[int]$_.StatusInformation}} | ConvertTo-Json -Compress")
    assert node == {"State": "Paused", "Drain": "Failed", "Info": 16}  # DrainFailed flag
    placed = owners(fresh_lab)
    assert placed["t-vm4"] == "T19-N2" and placed["t-vm3"] != "T19-N2"


def test_evict_needs_force_then_the_node_can_be_added_back(fresh_lab):
    code, _, err = fresh_lab.run_ps("T19-N1", IDIOM + "Suspend-ClusterNode -Name T19-N3 -Drain -Wait | Out-Null; "
                                                      "Remove-ClusterNode -Name T19-N3")
    assert code == 1 and "does not support user interaction" in " ".join(err.split())
    # evicting and adding reach the other node: the logon must delegate (CredSSP here)
    code, _, _ = fresh_lab.run_ps("T19-N1", IDIOM + "Remove-ClusterNode -Name T19-N3 -Force", transport="credssp")
    assert code == 0
    names = ps(fresh_lab, "T19-N1", "(Get-ClusterNode).Name | ConvertTo-Json -Compress")
    assert names == ["T19-N1", "T19-N2"]
    added = fresh_lab.run_json("T19-N1", IDIOM + "Add-ClusterNode -Name T19-N3 | Select-Object Name, "
                               "@{n='State';e={[string]$_.State}} | ConvertTo-Json -Compress", transport="credssp")
    assert added == {"Name": "T19-N3", "State": "Up"}
    fresh_lab.assert_invariants_held()


def test_functional_level_refuses_while_every_node_runs_the_same_os(fresh_lab):
    code, _, err = fresh_lab.run_ps("T19-N1", IDIOM + "Update-ClusterFunctionalLevel -Force")
    assert code == 1 and "already 10" in err


def test_restart_computer_drops_winrm_until_the_host_is_back(slow_lab):
    before = ps(slow_lab, "T-SPARE", "(Get-CimInstance Win32_OperatingSystem).LastBootUpTime | "
                                     "ConvertTo-Json -Compress")
    code, _, _ = slow_lab.run_ps("T-SPARE", "Restart-Computer -Force")
    assert code == 0
    until(lambda: not reachable(slow_lab, "T-SPARE"))
    until(lambda: reachable(slow_lab, "T-SPARE"))
    after = ps(slow_lab, "T-SPARE", "(Get-CimInstance Win32_OperatingSystem).LastBootUpTime | ConvertTo-Json -Compress")
    assert after > before          # "/Date(ms)/" strings of equal length compare like the numbers
    slow_lab.assert_invariants_held()


def test_install_updates_with_the_scan_then_filter_idiom_and_restart(slow_lab):
    wanted = ps(slow_lab, "T19-N3", "Suspend-ClusterNode -Drain -Wait | Out-Null; " + IDS.format(scan=SCAN))
    assert wanted == []                                   # T19-N3 misses nothing
    ids = ps(slow_lab, "T19-N1", IDS.format(scan=SCAN))
    assert len(ids) == 2
    script = (f"$u = ({SCAN}).Updates | Where-Object {{ $_.UpdateID -in @('{ids[0]}') }}\n"
              "$r = Invoke-CimMethod -Namespace root/Microsoft/Windows/WindowsUpdate -ClassName MSFT_WUOperations "
              "-MethodName InstallUpdates -Arguments @{Updates=[ciminstance[]]$u; DownloadOnly=$false}\n"
              "$r | Select-Object ReturnValue, RebootRequired | ConvertTo-Json -Compress")
    assert ps(slow_lab, "T19-N1", script) == {"ReturnValue": 0, "RebootRequired": True}
    left = ps(slow_lab, "T19-N1", IDS.format(scan=SCAN))
    assert left == ids[1:]
    assert slow_lab.state()["hosts"][0]["pending_reboot"] is True
    # the node is emptied first, as an orchestrator would, then restarted
    ps(slow_lab, "T19-N1", "Suspend-ClusterNode -Drain -Wait | Out-Null; Restart-Computer -Force; 1")
    until(lambda: not reachable(slow_lab, "T19-N1"))
    until(lambda: reachable(slow_lab, "T19-N1"))
    assert slow_lab.state()["hosts"][0]["pending_reboot"] is False
    slow_lab.assert_invariants_held()


def test_stage_and_unstage_a_deployment_with_an_answer_file(fresh_lab):
    path = "D:\\RemoteInstall\\WdsClientUnattend\\node9.xml"
    staged = ps(fresh_lab, "TWDS", f"Set-Content -Path '{path}' -Value '<unattend/>' -Encoding UTF8; "
                                   "New-WdsClient -DeviceID '00-15-5D-71-00-99' -DeviceName NODE9 "
                                   "-WdsClientUnattend 'WdsClientUnattend\\node9.xml' | Select-Object DeviceID, "
                                   "DeviceName, WdsClientUnattend | ConvertTo-Json -Compress")
    assert staged == {"DeviceID": "[00000000-0000-0000-0000-00155D710099]", "DeviceName": "NODE9",
                      "WdsClientUnattend": "WdsClientUnattend\\node9.xml"}
    assert ps(fresh_lab, "TWDS", f"Get-Content -Path '{path}' -Raw | ConvertTo-Json") == "<unattend/>\r\n"
    code, _, err = fresh_lab.run_ps("TWDS", IDIOM + "New-WdsClient -DeviceID 00155D710099 -DeviceName OTHER")
    assert code == 1 and "already in use" in err
    ps(fresh_lab, "TWDS", f"Remove-WdsClient -DeviceID '00-15-5D-71-00-99'; Remove-Item -Path '{path}'; "
                          f"@{{Left = @(Get-WdsClient).Count; File = Test-Path '{path}'}} | ConvertTo-Json -Compress")
    assert fresh_lab.state()["stagings"] == []
