"""The BMCs: pyghmi (in its own process per call, as the product must) and ipmitool drive every
host's IPMI 2.0 BMC; powering off takes the host's WinRM down and crashes what ran on it."""
import subprocess

import pytest
import requests

from lab.testing import LabError, ipmi
from tests.helpers import require_binary
from tests.lab.waiting import reachable, until

pytestmark = pytest.mark.lab


def test_power_off_through_the_bmc_takes_winrm_down_and_crashes_running_vms(fresh_lab):
    bmc = fresh_lab.entry("T19-N2")["bmc"]
    assert ipmi(bmc, "power") == ["on"]
    assert ipmi(bmc, ("set_power", "off"), "power")[1] == "off"
    with pytest.raises(requests.exceptions.ConnectionError):
        fresh_lab.run_ps("T19-N2", "$env:COMPUTERNAME")
    nodes = {n["name"]: n["state"] for n in fresh_lab.state()["clusters"][0]["nodes"]}
    assert nodes["T19-N2"] == "Down"
    crashed = [v for v in fresh_lab.invariants()["violations"] if v["rule"] == "vm-running-on-down-host"]
    assert sorted(v["subject"] for v in crashed) == ["t-vm3", "t-vm4"]
    ipmi(bmc, ("set_power", "on"))
    until(lambda: reachable(fresh_lab, "T19-N2"))
    states = {vm["name"]: vm["state"] for vm in fresh_lab.state()["vms"]}
    assert states["t-vm3"] == states["t-vm4"] == "Off"


def test_soft_off_saves_vms_and_reset_boots_again(fresh_lab):
    bmc = fresh_lab.entry("T-SA1")["bmc"]
    ipmi(bmc, ("set_power", "shutdown"))
    until(lambda: ipmi(bmc, "power") == ["off"])
    assert {vm["name"]: vm["state"] for vm in fresh_lab.state()["vms"]}["sa-vm1"] == "Saved"
    fresh_lab.assert_invariants_held()                    # a graceful shutdown saved them first
    ipmi(bmc, ("set_power", "reset"))
    until(lambda: reachable(fresh_lab, "T-SA1"))


def test_boot_device_is_set_and_read_back(fresh_lab):
    bmc = fresh_lab.entry("T19-N1")["bmc"]
    assert ipmi(bmc, ("set_bootdev", "network"), "bootdev") == ["network", "network"]
    assert next(h for h in fresh_lab.state()["hosts"] if h["name"] == "T19-N1")["boot_device"] == "network"


def test_wrong_credentials_fail_instead_of_hanging(lab):
    bmc = dict(lab.entry("T19-N1")["bmc"])
    with pytest.raises(LabError, match="Incorrect password"):
        ipmi(dict(bmc, password="wrong"), "power")
    with pytest.raises(LabError, match="Unauthorized name"):
        ipmi(dict(bmc, username="nobody"), "power")


def test_a_host_without_bmc_settings_has_none_in_the_endpoints_file(lab):
    assert lab.entry("T19-N3")["bmc"] is None
    assert lab.entry("T19-N1")["bmc"]["port"] == lab.port_base + 2


def test_ipmitool_lanplus_drives_a_bmc(fresh_lab):
    ipmitool = require_binary("ipmitool")
    bmc = fresh_lab.entry("T-SPARE")["bmc"]

    def run(*args):
        done = subprocess.run([ipmitool, "-I", "lanplus", "-H", bmc["address"], "-p", str(bmc["port"]),
                               "-U", bmc["username"], "-P", bmc["password"], *args],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "Chassis Power is on" in run("chassis", "power", "status")
    assert "IPMI Version              : 2.0" in run("mc", "info")
    assert "Set Boot Device to pxe" in run("chassis", "bootdev", "pxe")
    run("chassis", "power", "off")
    assert "Chassis Power is off" in run("chassis", "power", "status")
    run("chassis", "power", "on")
    until(lambda: reachable(fresh_lab, "T-SPARE"))
