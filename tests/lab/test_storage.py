"""Scale-Out File Server storage in the lab, through pywinrm: SOFS roles and CSVs that move,
Storage Spaces Direct virtual disks and the repair that resyncs them after a node was away, and
the share-unavailable invariant (a node going down while it owns a role or volume)."""
import json

import pytest

from tests.lab.waiting import reachable, until

pytestmark = pytest.mark.lab
IDIOM = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; "
VDISKS = ("ConvertTo-Json -Compress -InputObject @(Get-VirtualDisk | Select-Object FriendlyName, HealthStatus, "
          "OperationalStatus)")
JOBS = ("ConvertTo-Json -Compress -InputObject @(Get-StorageJob | Select-Object Name, JobState, PercentComplete, "
        "IsBackgroundTask, BytesProcessed, BytesTotal)")


def ps(lab, host, script):
    return lab.run_json(host, IDIOM + script)


def error_of(lab, host, script) -> dict:
    code, out, err = lab.run_ps(host, IDIOM + "try { $null = & { " + script + " }; '{}' } catch { "
                                "@{ category = [string]$_.CategoryInfo.Category; "
                                "fqid = [string]$_.FullyQualifiedErrorId; "
                                "type = $_.Exception.GetType().FullName; message = $_.Exception.Message } | "
                                "ConvertTo-Json -Compress }")
    assert code == 0, err
    return json.loads(out)


def sofs(lab) -> dict:
    return next(c for c in lab.state()["clusters"] if c["name"] == "TFS19")


def share_violations(lab) -> list[dict]:
    return [v for v in lab.invariants()["violations"] if v["rule"] == "share-unavailable"]


# -- read only -------------------------------------------------------------------------------------------
def test_virtual_disks_of_a_healthy_s2d_cluster(lab):
    assert ps(lab, "TF19-N1", VDISKS) == [{"FriendlyName": "Cluster Disk 1", "HealthStatus": "Healthy",
                                           "OperationalStatus": "OK"}]
    assert ps(lab, "TF19-N2", JOBS) == []
    cluster = ps(lab, "TF19-N1", "Get-Cluster | Select-Object S2DEnabled | ConvertTo-Json -Compress")
    assert cluster == {"S2DEnabled": 1}


def test_a_hyperv_node_without_spaces_has_no_virtual_disks(lab):
    assert ps(lab, "T19-N1", VDISKS) == []
    assert ps(lab, "T19-N1", JOBS) == []


def test_a_missing_virtual_disk_is_a_cdxml_not_found(lab):
    error = error_of(lab, "TF19-N1", "Get-VirtualDisk -FriendlyName NoSuchDisk")
    assert error["category"] == "ObjectNotFound"
    assert error["fqid"] == "CmdletizationQuery_NotFound_FriendlyName,Get-VirtualDisk"
    assert ps(lab, "TF19-N1", "ConvertTo-Json -Compress -InputObject @(Get-VirtualDisk -FriendlyName 'Nothing*')") == []


def test_storage_job_state_filter_takes_names_and_refuses_others(lab):
    assert ps(lab, "TF19-N1", "ConvertTo-Json -Compress -InputObject @(Get-StorageJob -JobState Running)") == []
    error = error_of(lab, "TF19-N1", "Get-StorageJob -JobState Sideways")
    assert error["type"] == "System.Management.Automation.ParameterBindingException"


def test_move_cluster_group_refuses_unknown_groups_and_vm_roles(lab):
    missing = error_of(lab, "TF19-N1", "Move-ClusterGroup -Name NoSuchRole -Node TF19-N2")
    assert missing["category"] == "ObjectNotFound"
    assert missing["fqid"].startswith("ClusterObjectNotFound,")
    vm_role = error_of(lab, "T19-N1", "Move-ClusterGroup -Name t-vm1 -Node T19-N2")
    assert "Move-ClusterVirtualMachineRole" in vm_role["message"]


# -- changes -----------------------------------------------------------------------------------------------
def test_moving_role_and_volume_first_keeps_shares_available_and_the_return_resyncs(fresh_lab):
    lab = fresh_lab
    group = ps(lab, "TF19-N1", "Move-ClusterGroup -Name TSOFS -Node TF19-N2 | Select-Object Name, "
                               "@{n='Owner';e={$_.OwnerNode.Name}}, @{n='State';e={[string]$_.State}} | "
                               "ConvertTo-Json -Compress")
    assert group == {"Name": "TSOFS", "Owner": "TF19-N2", "State": "Online"}
    csv = ps(lab, "TF19-N1", "Move-ClusterSharedVolume -Name 'Cluster Disk 1' -Node TF19-N2 | Select-Object Name, "
                             "@{n='Owner';e={$_.OwnerNode.Name}}, State | ConvertTo-Json -Compress")
    assert csv == {"Name": "Cluster Disk 1", "Owner": "TF19-N2", "State": 2}
    ps(lab, "TF19-N1", "Suspend-ClusterNode -Name TF19-N1 -Drain -Wait | Select-Object Name | ConvertTo-Json")
    lab.run_ps("TF19-N1", "Restart-Computer -Force")
    until(lambda: not reachable(lab, "TF19-N1"), what="TF19-N1 going down")
    degraded = ps(lab, "TF19-N2", VDISKS)
    assert degraded == [{"FriendlyName": "Cluster Disk 1", "HealthStatus": "Warning", "OperationalStatus": "Degraded"}]
    until(lambda: reachable(lab, "TF19-N1"), timeout=30, what="TF19-N1 back")
    jobs = ps(lab, "TF19-N2", JOBS)
    assert [(j["Name"], j["JobState"], j["IsBackgroundTask"]) for j in jobs] == [("Repair", 4, True)]
    assert 0 <= jobs[0]["PercentComplete"] < 100 and jobs[0]["BytesTotal"] > 0
    assert ps(lab, "TF19-N2", VDISKS)[0]["OperationalStatus"] == "InService"
    until(lambda: ps(lab, "TF19-N2", VDISKS)[0]["HealthStatus"] == "Healthy", timeout=30, what="the resync")
    done = ps(lab, "TF19-N2", JOBS)
    assert [(j["JobState"], j["PercentComplete"]) for j in done] == [(7, 100)]    # Completed, still listed
    assert share_violations(lab) == []
    lab.assert_invariants_held()


def test_a_node_going_down_with_the_volume_is_a_share_outage(fresh_lab):
    lab = fresh_lab
    owner = sofs(lab)["csvs"][0]["owner"]
    lab.run_ps(owner, "Restart-Computer -Force")
    until(lambda: share_violations(lab), what="the share-unavailable violation")
    violation = share_violations(lab)[0]
    assert violation["subject"] == "Share1" and "no running owner node" in violation["detail"]
    until(lambda: sofs(lab)["csvs"][0]["owner"] != owner, what="the CSV failing over")
    until(lambda: share_violations(lab)[0]["cleared"], what="the failover ending the outage")


def test_a_csv_that_cannot_move_fails_the_move_and_the_drain(fresh_lab):
    lab = fresh_lab
    owner = sofs(lab)["csvs"][0]["owner"]
    other = next(n["name"] for n in sofs(lab)["nodes"] if n["name"] != owner)
    lab.fault("csv_move_fails", csv="Cluster Disk 1", cluster="TFS19", count=1, message="volume is busy")
    error = error_of(lab, owner, f"Move-ClusterSharedVolume -Name 'Cluster Disk 1' -Node {other}")
    assert error["message"] == "volume is busy" and error["fqid"].startswith("MoveClusterSharedVolumeFailed,")
    assert sofs(lab)["csvs"][0]["owner"] == owner
    moved = ps(lab, owner, f"Move-ClusterSharedVolume -Name 'Cluster Disk 1' -Node {other} | "
                           "Select-Object @{n='Owner';e={$_.OwnerNode.Name}} | ConvertTo-Json -Compress")
    assert moved == {"Owner": other}                                # the transient fault fired once
    lab.fault("csv_move_fails", csv="Cluster Disk 1", cluster="TFS19")
    assert error_of(lab, owner, f"Suspend-ClusterNode -Name {other} -Drain -Wait") == {}   # DrainStatus tells
    node = ps(lab, owner, f"Get-ClusterNode -Name {other} | Select-Object @{{n='Drain';e={{[string]$_.DrainStatus}}}} "
                          "| ConvertTo-Json -Compress")
    assert node == {"Drain": "Failed"}
    assert sofs(lab)["csvs"][0]["owner"] == other


def test_a_drain_moves_the_role_and_volume_before_the_node_goes(fresh_lab):
    lab = fresh_lab
    owner = sofs(lab)["sofs_roles"][0]["owner"]
    assert sofs(lab)["csvs"][0]["owner"] == owner
    node = ps(lab, owner, f"Suspend-ClusterNode -Name {owner} -Drain -Wait | "
                          "Select-Object @{n='Drain';e={[string]$_.DrainStatus}} | ConvertTo-Json -Compress")
    assert node == {"Drain": "Completed"}
    assert sofs(lab)["sofs_roles"][0]["owner"] != owner and sofs(lab)["csvs"][0]["owner"] != owner
    lab.run_ps(owner, "Restart-Computer -Force")
    until(lambda: not reachable(lab, owner), what=f"{owner} going down")
    until(lambda: reachable(lab, owner), timeout=30, what=f"{owner} back")
    assert share_violations(lab) == []


def test_an_in_place_upgrade_at_the_console_keeps_the_node_in_its_cluster(fresh_lab):
    from lab.testing import LabError

    lab = fresh_lab
    ps(lab, "TF19-N1", "Move-ClusterGroup -Name TSOFS -Node TF19-N2 | Out-Null; "
                       "Move-ClusterSharedVolume -Name 'Cluster Disk 1' -Node TF19-N2 | Out-Null; ConvertTo-Json 1")
    assert lab.os_upgrade("TF19-N1", "2022")["os"] == "Microsoft Windows Server 2022 Datacenter"
    until(lambda: not reachable(lab, "TF19-N1"), what="TF19-N1 restarting")
    until(lambda: reachable(lab, "TF19-N1"), timeout=30, what="TF19-N1 back")
    assert ps(lab, "TF19-N1", "[string](Get-CimInstance Win32_OperatingSystem).BuildNumber | ConvertTo-Json") == "20348"
    node = next(n for n in sofs(lab)["nodes"] if n["name"] == "TF19-N1")
    assert node["state"] == "Up" and sofs(lab)["functional_level"] == 10                # mixed mode
    with pytest.raises(LabError, match="409"):
        lab.os_upgrade("TF19-N1", "2019")                                             # not newer
    until(lambda: ps(lab, "TF19-N2", VDISKS)[0]["HealthStatus"] == "Healthy", timeout=30, what="the resync")
    lab.assert_invariants_held()
