"""Every cmdlet the lab implements, run through pywinrm the way the agents run them, answering
with the property names, enum numbers and JSON shapes of Windows PowerShell 5.1.
These tests only read; tests that change the lab are in test_operations.py."""
import json
import re

import pytest

pytestmark = pytest.mark.lab
IDIOM = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; "


def ps(lab, host, script):
    return lab.run_json(host, IDIOM + script)


def test_get_cluster(lab):
    cluster = ps(lab, "T19-N1", "Get-Cluster | Select-Object Name, Id, Domain, ClusterFunctionalLevel, "
                                "ClusterUpgradeVersion | ConvertTo-Json -Compress")
    assert cluster["Name"] == "TCL19" and cluster["Domain"] == "contoso.com"
    assert cluster["ClusterFunctionalLevel"] == 10
    assert re.fullmatch(r"[0-9a-f-]{36}", cluster["Id"])


def test_get_cluster_quorum_names_the_witness_or_none(lab):
    witness = ps(lab, "TF19-N1", "Get-ClusterQuorum | Select-Object @{n='Cluster';e={$_.Cluster.Name}}, QuorumType, "
                                 "@{n='Type';e={[string]$_.QuorumType}}, @{n='Resource';e={$_.QuorumResource.Name}}, "
                                 "@{n='ResourceType';e={$_.QuorumResource.ResourceType.DisplayName}}, "
                                 "@{n='State';e={[string]$_.QuorumResource.State}} | ConvertTo-Json -Compress")
    assert witness == {"Cluster": "TFS19", "QuorumType": 1, "Type": "Majority", "Resource": "File Share Witness",
                       "ResourceType": "File Share Witness", "State": "Online"}
    # without a witness QuorumResource is null; -Cluster and the pipeline reach the same cluster
    for script in ("Get-ClusterQuorum", "Get-ClusterQuorum -Cluster TCL19", "Get-ClusterQuorum .",
                   "Get-Cluster | Get-ClusterQuorum"):
        none = ps(lab, "T19-N1", f"{script} | Select-Object @{{n='Cluster';e={{[string]$_.Cluster}}}}, "
                                 f"@{{n='Type';e={{[string]$_.QuorumType}}}}, QuorumResource | "
                                 "ConvertTo-Json -Compress")
        assert none == {"Cluster": "TCL19", "Type": "Majority", "QuorumResource": None}, script


def test_get_cluster_quorum_refuses_a_cluster_that_does_not_answer_and_an_empty_name(lab):
    code, _, err = lab.run_ps("T19-N1", "Get-ClusterQuorum -Cluster NOSUCH")
    assert code == 1 and "ClusterRpcConnection,Microsoft.FailoverClusters.PowerShell.GetClusterQuorumCommand" in err
    code, _, err = lab.run_ps("T19-N1", "Get-ClusterQuorum -Cluster ''")
    assert code == 1 and "ParameterArgumentValidationErrorEmptyStringNotAllowed" in err
    code, _, err = lab.run_ps("T-SA1", "Get-ClusterQuorum")   # a standalone host: no cluster service
    assert code == 1 and "ClusterEndpointNotRegistered,Microsoft.FailoverClusters.PowerShell.GetClusterQuorum" in err


def test_get_cluster_node_writes_enums_as_numbers_and_names_with_string_casts(lab):
    raw = ps(lab, "T19-N1", "Get-ClusterNode | Select-Object Name, Id, State, DrainStatus, StatusInformation, "
                            "NodeWeight, MajorVersion, MinorVersion, BuildNumber | ConvertTo-Json -Compress")
    assert [n["Name"] for n in raw] == ["T19-N1", "T19-N2", "T19-N3"]
    assert raw[0]["State"] == 0 and raw[0]["DrainStatus"] == 0 and raw[0]["StatusInformation"] == 0
    assert (raw[0]["MajorVersion"], raw[0]["MinorVersion"], raw[0]["BuildNumber"]) == (10, 0, 17763)
    named = ps(lab, "T19-N1", "ConvertTo-Json -Compress -InputObject @(Get-ClusterNode -Name T19-N2 | "
                              "Select-Object Name, @{n='State';e={[string]$_.State}})")
    assert named == [{"Name": "T19-N2", "State": "Up"}]


def test_get_cluster_network_interface_gives_addresses_the_product_can_connect_to(lab):
    interfaces = ps(lab, "T19-N1", "Get-ClusterNetworkInterface | Select-Object Name, Node, Address, Adapter, "
                                   "@{n='Network';e={$_.Network.Name}}, State | ConvertTo-Json -Compress")
    addresses = {i["Node"]: i["Address"] for i in interfaces}
    for node in ("T19-N1", "T19-N2", "T19-N3"):
        assert addresses[node] == lab.entry(node)["address"]
    assert {i["Network"] for i in interfaces} == {"Cluster Network 1"}
    assert all(i["State"] == 3 for i in interfaces)             # Up


def test_get_cluster_group_lists_core_groups_and_vm_roles_with_owners(lab):
    groups = ps(lab, "T19-N1", "Get-ClusterGroup | Select-Object Name, @{n='Owner';e={$_.OwnerNode.Name}}, State, "
                               "GroupType, IsCoreGroup | ConvertTo-Json -Compress")
    by_name = {g["Name"]: g for g in groups}
    assert by_name["Cluster Group"]["GroupType"] == 1 and by_name["Cluster Group"]["IsCoreGroup"] is True
    assert by_name["t-vm1"] == {"Name": "t-vm1", "Owner": "T19-N1", "State": 0, "GroupType": 111,
                                "IsCoreGroup": False}
    assert by_name["t-vm5"]["State"] == 1                          # Off → Offline
    sofs = ps(lab, "TF19-N1", "ConvertTo-Json -Compress -InputObject @(Get-ClusterGroup | "
                              "Where-Object { $_.GroupType -eq 114 } | Select-Object Name)")
    assert sofs == [{"Name": "TSOFS"}]


def test_get_cluster_group_for_a_missing_name_is_object_not_found(lab):
    code, out, err = lab.run_ps("T19-N1", "Get-ClusterGroup -Name nothing-here")
    assert code == 1
    assert "ObjectNotFound" in err and "ClusterObjectNotFound" in err


def test_get_vm_and_its_states(lab):
    vms = ps(lab, "T19-N3", "Get-VM | Select-Object Name, Id, State, MemoryAssigned, MemoryStartup, ProcessorCount, "
                            "IsClustered, ComputerName, Generation, @{n='Up';e={$_.Uptime.TotalSeconds}} | "
                            "ConvertTo-Json -Compress")
    by_name = {v["Name"]: v for v in vms}
    assert by_name["t-vm6"]["State"] == 2 and by_name["t-vm6"]["MemoryAssigned"] == 4 * 2**30
    assert by_name["t-vm5"]["State"] == 3 and by_name["t-vm5"]["MemoryAssigned"] == 0
    assert by_name["t-vm6"]["Up"] > 0 and by_name["t-vm5"]["Up"] == 0
    assert by_name["t-vm6"]["IsClustered"] is True and by_name["t-vm6"]["ComputerName"] == "T19-N3"


def test_get_vm_for_a_missing_vm_says_what_hyper_v_says(lab):
    code, _, err = lab.run_ps("T19-N1", "Get-VM -Name ghost")
    assert code == 1
    assert 'Hyper-V was unable to find a virtual machine with name "ghost".' in err
    assert "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM" in err


def test_get_vm_name_is_a_wildcard_pattern_like_on_windows(lab):
    assert ps(lab, "T19-N1", "(Get-VM -Name 't-vm[12]').Name | ConvertTo-Json -Compress") == ["t-vm1", "t-vm2"]
    assert ps(lab, "T19-N1", "(Get-VM -Name 'T-VM?', 'nothing*').Name | ConvertTo-Json -Compress") == ["t-vm1", "t-vm2"]
    code, out, err = lab.run_ps("T19-N1", IDIOM + "@(Get-VM -Name 't-vm[5-9]').Count")
    assert (code, out.strip(), err) == (0, "0", "")  # a pattern that matches nothing is no error
    code, _, err = lab.run_ps("T19-N1", IDIOM + "Get-VM -Name 't-vm`[1`]'")  # escaped: a plain name, not found
    assert code == 1 and "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM" in err


def test_get_vm_by_id_is_its_own_parameter_set(lab):
    vm_id = next(v["id"] for v in lab.state()["vms"] if v["name"] == "t-vm2")
    assert ps(lab, "T19-N1", f"(Get-VM -Id '{vm_id}').Name | ConvertTo-Json") == "t-vm2"
    assert ps(lab, "T19-N1", f"(Get-VM -Id '{{{vm_id.upper()}}}').Name | ConvertTo-Json") == "t-vm2"
    code, _, err = lab.run_ps("T19-N3", IDIOM + f"Get-VM -Id '{vm_id}'")  # t-vm2 runs on T19-N1
    assert code == 1 and f'with id "{vm_id}"' in err
    assert "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM" in err
    code, _, err = lab.run_ps("T19-N1", IDIOM + "Get-VM -Id t-vm2")
    assert code == 1 and "CannotConvertArgumentNoMessage" in err and "System.Guid" in err
    code, _, err = lab.run_ps("T19-N1", IDIOM + f"Get-VM -Name t-vm2 -Id '{vm_id}'")
    assert code == 1 and "AmbiguousParameterSet" in err
    code, _, err = lab.run_ps("T19-N1", IDIOM + f"Start-VM -Id '{vm_id}'")  # Start-VM has no -Id: pipe the VM
    assert code == 1 and "NamedParameterNotFound" in err


def test_cluster_roles_by_vm_id_and_by_exact_name(lab):
    vm_id = next(v["id"] for v in lab.state()["vms"] if v["name"] == "t-vm3")
    group = ps(lab, "T19-N1", f"Get-ClusterGroup -VMId '{vm_id}' | Select-Object Name, "
                              "@{n='Owner';e={$_.OwnerNode.Name}}, GroupType | ConvertTo-Json -Compress")
    assert group == {"Name": "t-vm3", "Owner": "T19-N2", "GroupType": 111}
    code, _, err = lab.run_ps("T19-N1", IDIOM + "Get-ClusterGroup -Name 't-vm*'")  # not a wildcard pattern
    assert code == 1 and "ClusterObjectNotFound" in err
    code, _, err = lab.run_ps("T19-N1", IDIOM + "Get-ClusterGroup -VMId 8d1c6a55-0000-4000-8000-000000000000")
    assert code == 1 and "ObjectNotFound" in err


def test_force_drain_without_drain_is_refused_before_anything_happens(lab):
    code, _, err = lab.run_ps("T19-N1", IDIOM + "Suspend-ClusterNode -Name T19-N2 -ForceDrain")
    assert code == 1 and "-Drain" in err and "InvalidArgument" in err
    state = ps(lab, "T19-N1", "[string](Get-ClusterNode -Name T19-N2).State | ConvertTo-Json")
    assert state == "Up"


def test_get_vmhost(lab):
    host = ps(lab, "T19-N1", "Get-VMHost | Select-Object Name, MemoryCapacity, LogicalProcessorCount, "
                             "MaximumVirtualMachineMigrations, VirtualMachineMigrationAuthenticationType | "
                             "ConvertTo-Json -Compress")
    assert host == {"Name": "T19-N1", "MemoryCapacity": 64 * 2**30, "LogicalProcessorCount": 16,
                    "MaximumVirtualMachineMigrations": 2, "VirtualMachineMigrationAuthenticationType": 1}


def test_win32_operating_system_and_computer_system(lab):
    os_info = ps(lab, "T-SA1", "Get-CimInstance -ClassName Win32_OperatingSystem | Select-Object Caption, Version, "
                               "BuildNumber, CSName, LastBootUpTime | ConvertTo-Json -Compress")
    assert os_info["Caption"] == "Microsoft Windows Server 2022 Datacenter"
    assert (os_info["Version"], os_info["BuildNumber"], os_info["CSName"]) == ("10.0.20348", "20348", "T-SA1")
    assert re.fullmatch(r"/Date\(\d+\)/", os_info["LastBootUpTime"])
    system = ps(lab, "T-SA1", "Get-CimInstance Win32_ComputerSystem | Select-Object Domain, PartOfDomain, "
                              "TotalPhysicalMemory | ConvertTo-Json -Compress")
    assert system == {"Domain": "contoso.com", "PartOfDomain": True, "TotalPhysicalMemory": 64 * 2**30}


def test_an_unselected_cim_instance_drags_its_cim_properties_along(lab):
    raw = ps(lab, "T-SA1", "Get-CimInstance Win32_OperatingSystem | ConvertTo-Json -Depth 1 -Compress")
    assert {"CimClass", "CimInstanceProperties", "CimSystemProperties"} <= set(raw)


def test_an_unknown_cim_class_is_invalid_class(lab):
    code, _, err = lab.run_ps("T-SA1", "Get-CimInstance -ClassName Win32_Nothing")
    assert code == 1 and "Invalid class" in err and "HRESULT 0x80041010" in err


def test_network_adapters_addresses_routes_and_dns(lab):
    adapters = ps(lab, "T19-N1", "ConvertTo-Json -Compress -InputObject @(Get-NetAdapter | Select-Object Name, "
                                 "InterfaceDescription, ifIndex, Status, MacAddress, LinkSpeed)")
    assert adapters[0]["MacAddress"] == "00-15-5D-71-00-01" and adapters[0]["Status"] == "Up"
    assert adapters[0]["LinkSpeed"] == "10 Gbps"
    addresses = ps(lab, "T19-N1", "ConvertTo-Json -Compress -InputObject @(Get-NetIPAddress -AddressFamily IPv4 | "
                                  "Select-Object IPAddress, PrefixLength, InterfaceAlias, AddressFamily, PrefixOrigin)")
    assert addresses == [{"IPAddress": "127.0.10.1", "PrefixLength": 24, "InterfaceAlias": "Ethernet",
                          "AddressFamily": 2, "PrefixOrigin": 1}]
    both = ps(lab, "T19-N1", "ConvertTo-Json -Compress -InputObject @(Get-NetIPAddress | Select-Object AddressFamily)")
    assert sorted(a["AddressFamily"] for a in both) == [2, 23]
    route = ps(lab, "T19-N1", "Get-NetRoute -DestinationPrefix '0.0.0.0/0' | Select-Object NextHop | "
                              "ConvertTo-Json -Compress")
    assert route == {"NextHop": "127.0.10.254"}
    dns = ps(lab, "T19-N1", "Get-DnsClientServerAddress -AddressFamily IPv4 | Select-Object ServerAddresses | "
                            "ConvertTo-Json -Compress")
    assert dns == {"ServerAddresses": ["127.0.10.253"]}


def test_get_disk(lab):
    disks = ps(lab, "T19-N1", "ConvertTo-Json -Compress -InputObject @(Get-Disk | Select-Object Number, FriendlyName, "
                              "SerialNumber, Size, IsBoot, IsSystem, IsClustered, BusType, PartitionStyle)")
    assert disks[0]["Number"] == 0 and disks[0]["IsBoot"] is True
    assert (disks[0]["BusType"], disks[0]["PartitionStyle"]) == ("SAS", "GPT")     # strings, as Windows gives them


def test_get_smb_share_on_a_sofs_node_shows_scale_out_shares(lab):
    shares = ps(lab, "TF19-N2", "ConvertTo-Json -Compress -InputObject @(Get-SmbShare | Select-Object Name, ScopeName, "
                                "Path, ContinuouslyAvailable, ShareState, AvailabilityType, Special)")
    share = next(s for s in shares if s["Name"] == "Share1")
    assert share == {"Name": "Share1", "ScopeName": "TSOFS", "Path": "C:\\ClusterStorage\\Volume1\\Shares\\Share1",
                     "ContinuouslyAvailable": True, "ShareState": 1, "AvailabilityType": 2, "Special": False}
    assert {s["Name"] for s in shares if s["Special"]} == {"ADMIN$", "C$", "IPC$"}


def test_get_cluster_shared_volume(lab):
    volume = ps(lab, "TF19-N1", "Get-ClusterSharedVolume | Select-Object Name, @{n='Owner';e={$_.OwnerNode.Name}}, "
                                "State, @{n='Path';e={$_.SharedVolumeInfo[0].FriendlyVolumeName}} | "
                                "ConvertTo-Json -Compress")
    assert volume == {"Name": "Cluster Disk 1", "Owner": "TF19-N1", "State": 2,
                      "Path": "C:\\ClusterStorage\\Volume1"}


def test_windows_update_scan_through_cim(lab):
    result = ps(lab, "T19-N2", "$r = Invoke-CimMethod -Namespace root/Microsoft/Windows/WindowsUpdate "
                               "-ClassName MSFT_WUOperations -MethodName ScanForUpdates "
                               "-Arguments @{SearchCriteria=\"IsInstalled=0 and Type='Software' and IsHidden=0\"}; "
                               "@{ReturnValue = $r.ReturnValue; Updates = @($r.Updates | Select-Object Title, "
                               "KBArticleID, UpdateID, RevisionNumber, MsrcSeverity, Description)} | "
                               "ConvertTo-Json -Depth 3 -Compress")
    assert result["ReturnValue"] == 0
    [update] = result["Updates"]
    assert update["KBArticleID"] == "5048661" and update["MsrcSeverity"] == "Critical"
    assert re.fullmatch(r"[0-9a-f-]{36}", update["UpdateID"]) and update["RevisionNumber"] == 200
    assert "KB5048661" in update["Title"]


def test_pending_reboot_checks(lab):
    script = ("$w = Invoke-CimMethod -Namespace root/Microsoft/Windows/WindowsUpdate -ClassName MSFT_WUSettings "
              "-MethodName IsPendingReboot; @{Cim = $w.PendingReboot; Registry = (Test-Path 'HKLM:\\SOFTWARE\\"
              "Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired'); "
              "Module = Get-WUIsPendingReboot} | ConvertTo-Json -Compress")
    assert ps(lab, "T19-N2", script) == {"Cim": False, "Registry": False, "Module": False}


def test_get_hotfix_lists_installed_updates(lab):
    fixes = ps(lab, "T19-N3", "ConvertTo-Json -Compress -InputObject @(Get-HotFix | "
                              "Select-Object HotFixID, Description)")
    assert {"HotFixID": "KB5048661", "Description": "Security Update"} in fixes


def test_wsus_catalog(lab):
    updates = ps(lab, "TWSUS", "ConvertTo-Json -Compress -InputObject @(Get-WsusServer -Name TWSUS -PortNumber 8530 | "
                               "Get-WsusUpdate -Classification All -Approval AnyExceptDeclined | "
                               "Select-Object @{n='Title';e={$_.Update.Title}}, "
                               "@{n='Id';e={$_.Update.Id.UpdateId}}, @{n='KB';e={$_.Update.KnowledgebaseArticles}}, "
                               "Classification, @{n='Severity';e={$_.Update.MsrcSeverity}}, "
                               "@{n='Created';e={$_.Update.CreationDate}}, "
                               "@{n='Superseded';e={$_.Update.IsSuperseded}}, "
                               "ComputersNeedingThisUpdate, UpdatesSupersedingThisUpdate)")
    by_kb = {u["KB"]: u for u in updates}          # one KB: the calculated property unrolls it
    assert set(by_kb) == {"5046615", "5048661", "5049983", "5048654", "890830", "5048671"}
    assert by_kb["5046615"]["Superseded"] is True
    assert by_kb["5046615"]["UpdatesSupersedingThisUpdate"] == [by_kb["5048661"]["Title"]]
    assert by_kb["5048661"]["ComputersNeedingThisUpdate"] == 2      # T19-N1 and T19-N2
    assert re.fullmatch(r"/Date\(\d+\)/", by_kb["5048661"]["Created"])
    critical = ps(lab, "TWSUS", "ConvertTo-Json -Compress -InputObject @(Get-WsusServer -Name TWSUS -PortNumber 8530 | "
                                "Get-WsusUpdate -Classification Critical | Select-Object Classification)")
    assert critical == [{"Classification": "Critical Updates"}]


def test_wsus_objects_carry_the_update_services_api_names(lab):
    server = ps(lab, "TWSUS", "Get-WsusServer -Name TWSUS -PortNumber 8530 | ConvertTo-Json -Compress")
    assert server["IsConnectionSecureForApiRemoting"] is False and "UseSecureConnection" not in server
    related = ps(lab, "TWSUS", "$all = @(Get-WsusServer -Name TWSUS -PortNumber 8530 | Get-WsusUpdate); "
                               "$all | ForEach-Object { @{ Id = $_.Update.Id.UpdateId; "
                               "By = @($_.Update.GetRelatedUpdates('UpdatesThatSupersedeThisUpdate') | "
                               "ForEach-Object { $_.Id.UpdateId }); "
                               "Texts = $_.UpdatesSupersedingThisUpdate; Severity = [string]$_.Update.MsrcSeverity; "
                               "KB = @($_.Update.KnowledgebaseArticles)[0] } } | ConvertTo-Json -Compress")
    by_kb = {u["KB"]: u for u in related}
    assert by_kb["5046615"]["By"] == [by_kb["5048661"]["Id"]]       # ids of the superseding updates
    assert by_kb["5048661"]["By"] == [] and by_kb["5048661"]["Texts"] == "None"  # the display text, not an id
    assert by_kb["5048661"]["Severity"] == "Critical" and by_kb["5049983"]["Severity"] == "Unspecified"
    code, _, err = lab.run_ps("TWSUS", IDIOM + "$u = @(Get-WsusServer -Name TWSUS -PortNumber 8530 | "
                                       "Get-WsusUpdate)[0]; "
                                       "$u.Update.GetRelatedUpdates('Newest')")
    assert code == 1 and "UpdateRelationship" in err and "MethodArgumentConversionInvalidCastArgument" in err


def test_approve_wsus_update_needs_an_action_and_an_existing_group(lab):
    pick = "Get-WsusServer -Name TWSUS -PortNumber 8530 | Get-WsusUpdate | Select-Object -First 1 | "
    code, _, err = lab.run_ps("TWSUS", IDIOM + pick + "Approve-WsusUpdate -TargetGroupName 'All Computers'")
    assert code == 1 and "missing mandatory parameters: Action." in err and "MissingMandatoryParameter" in err
    code, _, err = lab.run_ps("TWSUS", IDIOM + pick + "Approve-WsusUpdate -Action Install -TargetGroupName Nowhere")
    assert code == 1 and "WsusObjectNotFoundException" in err


def test_wsus_needs_the_port_with_a_name(lab):
    code, _, err = lab.run_ps("TWSUS", "Get-WsusServer -Name TWSUS")
    assert code == 1 and "AmbiguousParameterSet" in err


def test_deployment_server_images_and_empty_staging(lab):
    images = ps(lab, "TWDS", "ConvertTo-Json -Compress -InputObject @(Get-WdsInstallImage | "
                             "Select-Object ImageName, ImageGroup, Version)")
    assert images == [
        {"ImageName": "Windows Server 2022 SERVERDATACENTER", "ImageGroup": "WS2022", "Version": "10.0.20348"},
        {"ImageName": "Windows Server 2025 SERVERDATACENTER", "ImageGroup": "WS2025", "Version": "10.0.26100"}]
    code, out, _ = lab.run_ps("TWDS", "ConvertTo-Json -Compress -InputObject @(Get-WdsClient)")
    assert code == 0 and json.loads(out) == []


def test_directory_knows_taken_names(lab):
    # asking the directory reaches a domain controller: the logon must delegate (CredSSP here)
    assert lab.run_json("TWDS", IDIOM + "Get-ADComputer -Identity HV-OLD01 | Select-Object Name | "
                                        "ConvertTo-Json -Compress", transport="credssp") == {"Name": "HV-OLD01"}
    code, _, err = lab.run_ps("TWDS", "Get-ADComputer -Identity FREE-NAME", transport="credssp")
    assert code == 1 and "ADIdentityNotFoundException" in err


def test_the_cluster_access_point_runs_as_the_core_group_owner(lab):
    result = ps(lab, "TCL19", "@{Nodes = @(Get-ClusterNode | ForEach-Object { $_.Name }); "
                              "Computer = $env:COMPUTERNAME} | ConvertTo-Json -Compress")
    assert result == {"Nodes": ["T19-N1", "T19-N2", "T19-N3"], "Computer": "T19-N1"}


@pytest.mark.parametrize("host, script, expected", [
    ("T19-N1", "Get-Frobnicator", "The term 'Get-Frobnicator' is not recognized as the name of a cmdlet"),
    ("T19-N1", "Get-VM -Colour red", "A parameter cannot be found that matches parameter name 'Colour'."),
    ("TF19-N1", "Get-VM", "The term 'Get-VM' is not recognized"),           # no Hyper-V on a file server
    ("T-SA1", "Get-WsusUpdate", "The term 'Get-WsusUpdate' is not recognized"),
    ("T-SPARE", "Get-ClusterNode", "The cluster service is not running"),    # has the module, not clustered
])
def test_what_a_host_cannot_do_fails_like_powershell(lab, host, script, expected):
    code, _, err = lab.run_ps(host, IDIOM + script)
    assert code == 1
    assert expected in err


def test_every_host_answers_over_https_with_the_lab_ca(lab):
    for host in ("T19-N1", "T-SA1", "TWSUS"):
        code, out, _ = lab.run_ps(host, "$env:COMPUTERNAME", https=True)
        assert (code, out.strip()) == (0, host)
