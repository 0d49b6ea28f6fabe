"""Re-imaging through PXE the way the product will: write the answer file and stage the MAC on the
deployment server over WinRM, set the next boot to network and reset through the BMC, wait for
the new machine, add it to the cluster."""
import time

import pytest
import requests
from winrm.exceptions import WinRMError

from lab.testing import ipmi
from tests.lab.unattend import answer_file

pytestmark = pytest.mark.lab
IDIOM = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; "

# The client unattend file's later passes name another computer and address: WDS ignores them.
ANSWER_FILE = answer_file("IGNORED-NAME", "00-15-5D-71-00-99", "127.0.10.222")


def answers(lab, url_host, address):
    """WinRM of the re-imaged machine answers at its new address."""
    try:
        session = lab.session(url_host, url=lab.entry(url_host)["winrm"]["url"].replace(
            lab.entry(url_host)["address"], address))
        result = session.run_ps("$env:COMPUTERNAME")
        return result.status_code == 0 and result.std_out.decode().strip()
    except (requests.exceptions.RequestException, WinRMError):
        return False


def run_at(lab, url_host, address, script):
    session = lab.session(url_host, url=lab.entry(url_host)["winrm"]["url"].replace(
        lab.entry(url_host)["address"], address))
    result = session.run_ps(IDIOM + script)
    return result.status_code, result.std_out.decode().strip(), result.std_err.decode()


def wait_for(lab, address, what):
    deadline = time.monotonic() + 20
    while not answers(lab, "T-SPARE", address):
        assert time.monotonic() < deadline, f"{what} never answered at {address}"
        time.sleep(0.1)


def test_pxe_reimage_then_configure_and_join_the_cluster(fresh_lab):
    lab = fresh_lab
    spare = lab.entry("T-SPARE")
    script = (IDIOM + f"Set-Content -Path 'D:\\RemoteInstall\\WdsClientUnattend\\T22-N4.xml' -Value @'\n"
              f"{ANSWER_FILE}\n'@ -Encoding UTF8\n"
              f"New-WdsClient -DeviceID '{spare['mac']}' -DeviceName T22-N4 "
              "-WdsClientUnattend 'WdsClientUnattend\\T22-N4.xml' -JoinDomain $true -Domain contoso.com | Out-Null\n"
              f"Add-DhcpServerv4Reservation -ScopeId 127.0.0.0 -IPAddress 127.0.10.201 -ClientId '{spare['mac']}' "
              "-Name T22-N4\n"
              "(Get-WdsClient -DeviceName T22-N4).DeviceName")
    code, out, err = lab.run_ps("TWDS", script, transport="credssp")  # -JoinDomain writes to a DC
    assert (code, out.strip()) == (0, "T22-N4"), err

    assert ipmi(spare["bmc"], ("set_bootdev", "network"), ("set_power", "reset"))[0] == "network"
    wait_for(lab, "127.0.10.201", "the re-imaged host")

    host = next(h for h in lab.state()["hosts"] if h["key"] == "T-SPARE")
    # Identity from the prestaged device, the address from the DHCP reservation, not from the unattend file.
    assert (host["name"], host["os"]["build"], host["ip"], host["domain"]) == ("T22-N4", 20348, "127.0.10.201",
                                                                              "contoso.com")
    assert host["installed_updates"] == [] and host["cluster"] is None and host["boot_device"] == "default"
    events = lab.events()
    assert [e for e in events if e["event"] == "host-reimaged"][0]["image"] == "Windows Server 2022 SERVERDATACENTER"
    assert {e["component"] for e in events if e["event"] == "unattend-setting-ignored"} >= {
        "specialize/Microsoft-Windows-Shell-Setup", "specialize/Microsoft-Windows-TCPIP"}

    # A fresh image has neither Hyper-V nor Failover Clustering: it cannot join yet.
    code, out, err = lab.run_ps("T19-N1", IDIOM + "Add-ClusterNode -Name T22-N4", transport="credssp")
    assert code == 1 and "Failover-Clustering" in err and "not installed" in err
    code, out, err = run_at(lab, "T-SPARE", "127.0.10.201", "Get-VMSwitch")
    assert code == 1 and "is not recognized" in err

    code, out, err = run_at(lab, "T-SPARE", "127.0.10.201",
                            "$r = Install-WindowsFeature -Name Hyper-V, Failover-Clustering -IncludeManagementTools\n"
                            "[string]$r.RestartNeeded + ' ' + [string]$r.ExitCode + ' ' + "
                            "[string](Get-WindowsFeature -Name Hyper-V).InstallState")
    assert (code, out) == (0, "Yes SuccessRestartRequired InstallPending"), err
    code, out, err = lab.run_ps("T19-N1", IDIOM + "Add-ClusterNode -Name T22-N4", transport="credssp")
    assert code == 1 and "waits for a restart" in err
    run_at(lab, "T-SPARE", "127.0.10.201", "Restart-Computer -Force")
    time.sleep(0.5)
    wait_for(lab, "127.0.10.201", "the restarted host")

    code, out, err = run_at(lab, "T-SPARE", "127.0.10.201",
                            "$null = New-VMSwitch -Name Management -NetAdapterName Ethernet -AllowManagementOS $true\n"
                            "$v = Get-VMNetworkAdapter -ManagementOS\n"
                            "$v.SwitchName + ' ' + [string]$v.IsManagementOs + ' ' + "
                            "[string](Get-VMSwitch -Name Management).SwitchType")
    assert (code, out) == (0, "Management True External"), err
    code, out, err = run_at(lab, "T-SPARE", "127.0.10.201",
                            "New-NetIPAddress -InterfaceAlias 'vEthernet (Management)' -IPAddress 127.0.10.202 "
                            "-PrefixLength 24")
    assert code == 1 and "Dhcp Enabled" in err          # Windows refuses a static address while DHCP is on
    code, out, err = run_at(lab, "T-SPARE", "127.0.10.201",
                            "Set-NetIPInterface -InterfaceAlias Ethernet -Dhcp Disabled")
    assert code == 1 and "MSFT_NetIPInterface" in err   # the NIC bound to the switch has no IP settings of its own
    code, out, err = run_at(lab, "T-SPARE", "127.0.10.201",
                            "Set-NetIPInterface -InterfaceAlias 'vEthernet (Management)' -Dhcp Disabled\n"
                            "$a = New-NetIPAddress -InterfaceAlias 'vEthernet (Management)' -IPAddress 127.0.10.202 "
                            "-PrefixLength 24 -DefaultGateway 127.0.10.254\n"
                            "Set-DnsClientServerAddress -InterfaceAlias 'vEthernet (Management)' "
                            "-ServerAddresses 127.0.10.253\n"
                            "@($a).Count")
    assert (code, out) == (0, "2"), err
    wait_for(lab, "127.0.10.202", "the host at its static address")
    host = next(h for h in lab.state()["hosts"] if h["key"] == "T-SPARE")
    assert host["ip"] == "127.0.10.202"

    added = lab.run_json("T19-N1", IDIOM + "Add-ClusterNode -Name T22-N4 | Select-Object Name, BuildNumber, "
                                           "@{n='State';e={[string]$_.State}} | ConvertTo-Json -Compress",
                         transport="credssp")
    assert added == {"Name": "T22-N4", "BuildNumber": 20348, "State": "Up"}
    code, out, err = lab.run_ps("TWDS", IDIOM + "Remove-WdsClient -DeviceName T22-N4\n"
                                "Remove-DhcpServerv4Reservation -ScopeId 127.0.0.0 -ClientId 00-15-5D-71-00-99\n"
                                "@(Get-DhcpServerv4Reservation -ScopeId 127.0.0.0).Count")
    assert (code, out.strip()) == (0, "0"), err
    assert lab.state()["stagings"] == []
    lab.assert_invariants_held()


def test_a_network_boot_without_a_staged_deployment_boots_from_disk(fresh_lab):
    spare = fresh_lab.entry("T-SPARE")
    ipmi(spare["bmc"], ("set_bootdev", "network"), ("set_power", "reset"))
    deadline = time.monotonic() + 20
    while not answers(fresh_lab, "T-SPARE", spare["address"]):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    host = next(h for h in fresh_lab.state()["hosts"] if h["key"] == "T-SPARE")
    assert (host["name"], host["os"]["build"]) == ("T-SPARE", 17763)
    assert any(e["event"] == "pxe-no-deployment" for e in fresh_lab.events())
