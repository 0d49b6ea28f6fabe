"""What a cluster OS rolling upgrade needs from the lab, as Windows behaves: mixed mode (nodes of the
functional level's release and the next one), Update-ClusterFunctionalLevel refusing while an older
node remains, VHDX install images imported into WDS, DHCP reservations, and the new invariants."""
import pytest

from lab.testing import LabProcess, ipmi
from tests.lab.waiting import until

pytestmark = pytest.mark.lab
IDIOM = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; "

TOPOLOGY = """
[lab]
name = "upgrade"
domain = "contoso.com"
speed = 100.0

[defaults]
credssp = true              # the tests log on with CredSSP where a cmdlet takes the second hop
memory_gb = 64.0
reboot_seconds = 20.0
boot_seconds = 20.0
deploy_seconds = 60.0
shutdown_seconds = 2.0

# A 2019 cluster with one node already on 2022 (mixed mode, functional level 10).
[[clusters]]
name = "UCL"
kind = "hyperv"
functional_level = 10
witness = true
vms = [{ name = "u-vm1", owner = "U-N1", memory_gb = 4.0 },
       { name = "u-vm10", owner = "U-N1", memory_gb = 4.0, version = "10.0" }]

[[clusters.nodes]]
name = "U-N1"
os = "2022"

[[clusters.nodes]]
name = "U-N2"
os = "2019"

[[hosts]]
name = "U-25"
os = "2025"

[deployment_server]
name = "UWDS"
os = "2022"
bmc = false
images = [
  { name = "Windows Server 2022 SERVERDATACENTER", os = "2022", group = "WS2022", file = "WS2022.vhdx" },
  { name = "Windows Server 2025 SERVERDATACENTER", os = "2025", file = "E:\\\\Media\\\\WS2025.vhdx", imported = false },
]
"""


@pytest.fixture
def lab():
    with LabProcess(topology_text=TOPOLOGY, speed=100.0) as running:
        yield running


def test_mixed_mode_then_the_functional_level_rises_once_no_older_node_remains(lab):
    versions = lab.run_json("U-N1", IDIOM + "Get-ClusterNodeSupportedVersion -Cluster UCL | ConvertTo-Json -Compress")
    assert sorted(v["ClusterFunctionalLevel"] for v in versions) == [10, 11]
    assert lab.run_json("U-N1", "(Get-Cluster).ClusterFunctionalLevel | ConvertTo-Json") == 10

    code, _, err = lab.run_ps("U-N1", IDIOM + "Update-ClusterFunctionalLevel -WhatIf")
    assert code == 1 and "U-N2" in err               # an older node remains
    code, _, err = lab.run_ps("U-N1", IDIOM + "Add-ClusterNode -Name U-25", transport="credssp")
    assert code == 1 and "level 10 or 11" in err     # 2025 is two releases ahead of level 10

    lab.run_json("U-N1", IDIOM + "Remove-ClusterNode -Name U-N2 -Force; @{ok=1} | ConvertTo-Json", transport="credssp")
    code, _, err = lab.run_ps("U-N1", IDIOM + "Update-ClusterFunctionalLevel -WhatIf")
    assert code == 0, err
    # -WhatIf changed nothing
    assert lab.run_json("U-N1", "(Get-Cluster).ClusterFunctionalLevel | ConvertTo-Json") == 10
    level = lab.run_json("U-N1", IDIOM + "(Update-ClusterFunctionalLevel -Force).ClusterFunctionalLevel "
                                         "| ConvertTo-Json")
    assert level == 11
    added = lab.run_json("U-N1", IDIOM + "(Add-ClusterNode -Name U-25).BuildNumber | ConvertTo-Json",
                         transport="credssp")
    assert added == 26100                            # level 11 takes 2025 nodes (mixed mode again)
    code, _, err = lab.run_ps("U-N2", IDIOM + "Add-ClusterNode -Name U-N2 -Cluster UCL", transport="credssp")
    assert code == 1 and "level 11 or 12" in err     # no way back for a 2019 node
    lab.assert_invariants_held()


def test_in_mixed_mode_vms_move_between_releases_only_at_a_version_both_run(lab):
    versions = lab.run_json("U-N1", "Get-VM | Select-Object Name, Version | ConvertTo-Json -Compress")
    assert {v["Name"]: v["Version"] for v in versions} == {"u-vm1": "9.0", "u-vm10": "10.0"}
    moved = lab.run_json("U-N1", IDIOM + "(Move-ClusterVirtualMachineRole -Name u-vm1 -Node U-N2).OwnerNode.Name "
                                         "| ConvertTo-Json")
    assert moved == "U-N2"                       # a 9.0 VM runs on the 2019 node and the 2022 node alike
    assert lab.run_json("U-N2", "(Get-VM -Name u-vm1).Version | ConvertTo-Json") == "9.0"
    code, _, err = lab.run_ps("U-N1", IDIOM + "Move-ClusterVirtualMachineRole -Name u-vm10 -Node U-N2")
    assert code == 1 and "configuration version 10.0 is not supported" in err
    lab.assert_invariants_held()


def test_a_vhdx_on_the_deployment_server_is_imported_as_an_install_image(lab):
    names = lab.run_json("UWDS", "(Get-WdsInstallImage).FileName | ConvertTo-Json")
    assert names == "WS2022.vhdx"
    code, _, err = lab.run_ps("UWDS", IDIOM + "Import-WdsInstallImage -Path 'E:\\Media\\Missing.vhdx'")
    assert code == 1 and "cannot find the file" in err
    code, _, err = lab.run_ps("UWDS", IDIOM + "Import-WdsInstallImage -Path 'E:\\Media\\WS2025.vhdx' -ImageGroup Nope")
    assert code == 1 and "does not exist" in err
    image = lab.run_json("UWDS", IDIOM + "Import-WdsInstallImage -Path 'E:\\Media\\WS2025.vhdx' | "
                                         "Select-Object ImageName, ImageGroup, FileName, Version "
                                         "| ConvertTo-Json -Compress")
    assert image == {"ImageName": "Windows Server 2025 SERVERDATACENTER", "ImageGroup": "WS2022",
                     "FileName": "WS2025.vhdx", "Version": "10.0.26100"}
    code, _, err = lab.run_ps("UWDS", IDIOM + "Import-WdsInstallImage -Path 'E:\\Media\\WS2025.vhdx'")
    assert code == 1 and "already exists" in err
    assert len(lab.run_json("UWDS", "@(Get-WdsInstallImage) | ConvertTo-Json -Depth 1")) == 2


def test_dhcp_reservations_refuse_what_windows_refuses(lab):
    mac = "00-15-5D-AA-00-01"
    ok = lab.run_json("UWDS", IDIOM + f"Add-DhcpServerv4Reservation -ScopeId 127.0.0.0 -IPAddress 127.0.10.77 "
                                      f"-ClientId {mac} -Name U-NEW -PassThru | Select-Object IPAddress, ClientId, "
                                      "Name | ConvertTo-Json -Compress")
    assert ok == {"IPAddress": "127.0.10.77", "ClientId": mac.lower(), "Name": "U-NEW"}
    for script, message in [
        ("Add-DhcpServerv4Reservation 127.0.0.0 127.0.10.77 00-15-5D-AA-00-02", "being used by"),
        (f"Add-DhcpServerv4Reservation 127.0.0.0 127.0.10.78 {mac}", "being used by"),
        ("Add-DhcpServerv4Reservation 10.0.0.0 10.0.0.5 00-15-5D-AA-00-03", "IPv4 subnet"),
        ("Add-DhcpServerv4Reservation 127.0.0.0 10.0.0.5 00-15-5D-AA-00-03", "not in the scope"),
        ("Add-DhcpServerv4Reservation -ScopeId 127.0.0.0 -IPAddress 127.0.10.79", "ClientId"),
        ("Remove-DhcpServerv4Reservation -ScopeId 127.0.0.0 -ClientId 00-15-5D-AA-00-09", "does not"),
    ]:
        code, _, err = lab.run_ps("UWDS", IDIOM + script)
        assert code == 1 and message in err, (script, err)
    code, _, err = lab.run_ps("U-N1", IDIOM + "Get-DhcpServerv4Reservation -ScopeId 127.0.0.0")
    assert code == 1 and "is not recognized" in err   # only the deployment server runs DHCP
    found = lab.run_json("UWDS", f"(Get-DhcpServerv4Reservation -ScopeId 127.0.0.0 -ClientId {mac}).IPAddress "
                                 "| ConvertTo-Json")
    assert found == "127.0.10.77"


def test_powering_off_a_node_that_runs_vms_breaks_an_invariant(lab):
    ipmi(lab.entry("U-N1")["bmc"], ("set_power", "off"))
    assert {v["rule"] for v in lab.invariants()["violations"]} == {"vm-running-on-down-host"}


def test_re_imaging_a_node_that_holds_vms_breaks_an_invariant(lab):
    node = lab.entry("U-N1")
    code, _, err = lab.run_ps("UWDS", IDIOM + f"New-WdsClient -DeviceID '{node['mac']}' -DeviceName U-N1 "
                                              "-JoinDomain $true", transport="credssp")
    assert code == 0, err
    ipmi(node["bmc"], ("set_bootdev", "network"), ("set_power", "reset"))
    until(lambda: any(e["event"] == "host-reimaged" for e in lab.events()), what="the re-image")
    rules = {v["rule"] for v in lab.invariants()["violations"]}
    assert "host-reimaged-with-vms" in rules
    # Without a DHCP reservation the host comes back on an address nobody chose.
    host = next(h for h in lab.state()["hosts"] if h["key"] == "U-N1")
    assert host["ip"].startswith("127.0.250.")


def test_a_default_route_is_added_once_and_only_inside_the_subnet(lab):
    for script, message in [
        ("New-NetRoute -DestinationPrefix '0.0.0.0/0' -InterfaceAlias Ethernet", "NextHop"),
        ("New-NetRoute -DestinationPrefix '0.0.0.0/0' -InterfaceAlias Ethernet -NextHop 10.9.9.9", "not in the subnet"),
        ("New-NetRoute -DestinationPrefix '10.0.0.0/8' -InterfaceAlias Ethernet -NextHop 127.0.10.254", "only adds"),
    ]:
        code, _, err = lab.run_ps("U-N1", IDIOM + script)
        assert code == 1 and message in err, (script, err)
    hop = lab.run_json("U-N1", IDIOM + "(New-NetRoute -DestinationPrefix '0.0.0.0/0' -InterfaceAlias Ethernet "
                                       "-NextHop 127.0.10.254)[0].NextHop | ConvertTo-Json")
    assert hop == "127.0.10.254"
    code, _, err = lab.run_ps("U-N1", IDIOM + "New-NetRoute -DestinationPrefix '0.0.0.0/0' -InterfaceAlias Ethernet "
                                              "-NextHop 127.0.10.254")
    assert code == 1 and "already exists" in err
    assert lab.run_json("U-N1", "(Get-NetRoute -DestinationPrefix '0.0.0.0/0').NextHop | ConvertTo-Json") == \
        "127.0.10.254"
