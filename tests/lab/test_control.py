"""The control endpoint (state, invariants, timings, out-of-band changes) and the command line."""
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lab.testing import LabError, LabProcess

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]


def test_the_control_endpoint_needs_its_token(lab):
    url = lab.endpoints["control"]["url"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url + "/state", timeout=10)
    assert refused.value.code == 401
    request = urllib.request.Request(url + "/state", headers={"Authorization": "Bearer not-the-token"})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10)
    with urllib.request.urlopen(url + "/health", timeout=10) as health:
        assert json.loads(health.read()) == {"ok": True}


def test_state_describes_hosts_clusters_and_vms(lab):
    state = lab.state()
    host = next(h for h in state["hosts"] if h["name"] == "T19-N1")
    assert (host["cluster"], host["node_state"], host["power"], host["online"]) == ("TCL19", "Up", "on", True)
    assert host["os"]["build"] == 17763 and host["missing_updates"] == ["5048661", "890830"]
    assert host["pending_reboot"] is False and host["address"] == lab.entry("T19-N1")["address"]
    cluster = next(c for c in state["clusters"] if c["name"] == "TCL19")
    assert cluster["quorum"] and [n["state"] for n in cluster["nodes"]] == ["Up", "Up", "Up"]
    vm = next(v for v in state["vms"] if v["name"] == "t-vm4")
    assert (vm["host"], vm["state"], vm["memory_bytes"]) == ("T19-N2", "Running", 16 * 2**30)
    assert len(state["vms"]) == 8


def test_timings_give_what_lower_bounds_need(lab):
    timings = lab.timings()
    assert timings["speed"] == 100.0
    node = timings["hosts"]["T19-N1"]
    assert node["reboot_seconds"] == 60.0 and node["max_migrations"] == 2
    assert node["migration_bandwidth_bytes_per_second"] == 10e9 / 8
    assert node["vms"]["t-vm1"]["memory_bytes"] == 8 * 2**30


def test_a_vm_moved_behind_the_orchestrators_back(fresh_lab):
    moved = fresh_lab.vm_action("move", "t-vm1", host="T19-N3")
    assert moved["host"] == "T19-N3"
    on_n3 = fresh_lab.run_json("T19-N3", "(Get-VM).Name | ConvertTo-Json -Compress")
    assert "t-vm1" in on_n3
    owner = fresh_lab.run_json("T19-N1", "(Get-ClusterGroup -Name t-vm1).OwnerNode.Name | ConvertTo-Json")
    assert owner == "T19-N3"
    with pytest.raises(LabError, match="no VM named 'ghost'"):
        fresh_lab.vm_action("stop", "ghost")


def test_violations_can_be_provoked_read_and_cleared(fresh_lab):
    fresh_lab.power("T-SA1", "off")
    report = fresh_lab.invariants()
    assert not report["ok"]
    [violation] = report["violations"]
    assert violation["rule"] == "vm-running-on-down-host" and "sa-vm1" in violation["detail"]
    assert violation["time"] and violation["elapsed"] >= 0
    fresh_lab.control("DELETE", "/invariants")
    assert fresh_lab.invariants()["violations"] == []
    assert fresh_lab.power("T-SA1", "on")["power"] == "on"


def test_serve_refuses_a_bad_topology_with_the_place_of_the_problem(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[hosts]]\nname = "A"\nmemroy_gb = 4\n')
    done = subprocess.run([sys.executable, "-m", "lab", "serve", "--topology", str(bad), "--port-base", "29000"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "bad.toml: hosts[0] (A): unknown key(s) memroy_gb" in done.stderr


def test_a_second_lab_on_the_same_ports_says_which_port(lab):
    with pytest.raises(LabError, match="choose another --port-base"):
        LabProcess("tests", port_base=lab.port_base).start()


def test_the_demo_datacenter_starts_and_every_endpoint_answers():
    started = time.monotonic()
    with LabProcess("demo", speed=10) as demo:
        ready = time.monotonic() - started
        ep = demo.endpoints
        assert len(ep["hosts"]) == 18 and len(ep["clusters"]) == 4
        assert ep["update_server"]["name"] == "WSUS01" and ep["deployment_server"]["name"] == "WDS01"
        # every cluster node has a BMC in the lab (the demo leaves one of them unknown to Ferry, for the wizard)
        assert all(h["bmc"] is not None for h in ep["hosts"] if h["cluster"])
        for name in [h["name"] for h in ep["hosts"]] + ["WSUS01", "WDS01", "HVC16", "HVC19", "HVC22", "FSC19"]:
            code, out, _ = demo.run_ps(name, "$env:COMPUTERNAME")
            assert code == 0
        demo.assert_invariants_held()
    print(f"demo lab ready in {ready:.2f} s")
