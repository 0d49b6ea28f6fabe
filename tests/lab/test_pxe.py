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

ANSWER_FILE = answer_file("T22-N4", "00-15-5D-71-00-99", "127.0.10.201")


def answers(lab, url_host, address):
    """WinRM of the re-imaged machine answers at its new address."""
    try:
        session = lab.session(url_host, url=lab.entry(url_host)["winrm"]["url"].replace(
            lab.entry(url_host)["address"], address))
        result = session.run_ps("$env:COMPUTERNAME")
        return result.status_code == 0 and result.std_out.decode().strip()
    except (requests.exceptions.RequestException, WinRMError):
        return False


def test_pxe_reimage_with_a_staged_deployment_then_join_the_cluster(fresh_lab):
    lab = fresh_lab
    spare = lab.entry("T-SPARE")
    script = (IDIOM + f"Set-Content -Path 'D:\\RemoteInstall\\WdsClientUnattend\\T22-N4.xml' -Value @'\n"
              f"{ANSWER_FILE}\n'@ -Encoding UTF8\n"
              f"New-WdsClient -DeviceID '{spare['mac']}' -DeviceName T22-N4 "
              "-WdsClientUnattend 'WdsClientUnattend\\T22-N4.xml' -JoinDomain $true -Domain contoso.com | Out-Null\n"
              "(Get-WdsClient -DeviceName T22-N4).DeviceName")
    code, out, err = lab.run_ps("TWDS", script, transport="credssp")  # -JoinDomain writes to a DC
    assert (code, out.strip()) == (0, "T22-N4"), err

    assert ipmi(spare["bmc"], ("set_bootdev", "network"), ("set_power", "reset"))[0] == "network"
    deadline = time.monotonic() + 20
    while not answers(lab, "T-SPARE", "127.0.10.201"):
        assert time.monotonic() < deadline, "the re-imaged host never answered"
        time.sleep(0.1)

    host = next(h for h in lab.state()["hosts"] if h["key"] == "T-SPARE")
    assert (host["name"], host["os"]["build"], host["ip"], host["domain"]) == ("T22-N4", 20348, "127.0.10.201",
                                                                              "contoso.com")
    assert host["installed_updates"] == [] and host["cluster"] is None and host["boot_device"] == "default"
    assert [e for e in lab.events() if e["event"] == "host-reimaged"][0]["image"] == \
        "Windows Server 2022 SERVERDATACENTER"

    added = lab.run_json("T19-N1", IDIOM + "Add-ClusterNode -Name T22-N4 | Select-Object Name, BuildNumber, "
                                           "@{n='State';e={[string]$_.State}} | ConvertTo-Json -Compress",
                         transport="credssp")
    assert added == {"Name": "T22-N4", "BuildNumber": 20348, "State": "Up"}
    lab.run_ps("TWDS", IDIOM + "Remove-WdsClient -DeviceName T22-N4")
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
