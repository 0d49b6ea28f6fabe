"""Transient transport faults clear, and the agents ride them out: a fault injected three times
costs a few retries, never the operation; a script that is running keeps running and is not sent
again; a fault that never clears still fails, with its message, once the retry window is over."""
import threading

import pytest

from fabric import agents
from fabric.agents import runner
from tests.agents.conftest import connection
from tests.lab.waiting import until

pytestmark = pytest.mark.lab


def fired(lab, since: int, fault_id: int) -> int:
    return sum(1 for e in lab.events(since) if e["event"] == "fault-fired" and e["id"] == fault_id)


def test_http_500_three_times_before_the_script_starts(lab):
    since = len(lab.events())
    fault = lab.fault("winrm_http500", host="A19-N1", count=3)
    assert agents.hostinfo.get_os(connection(lab, "A19-N1")).computer_name == "A19-N1"
    assert fired(lab, since, fault["id"]) == 3
    assert lab.control("GET", "/faults")["faults"] == []          # used up: it cleared


def test_unanswered_requests_three_times(lab):
    since = len(lab.events())
    fault = lab.fault("winrm_timeout", host="A19-N2", count=3)
    conn = connection(lab, "A19-N2", connect_timeout=1)
    value = agents.run_script(conn, "$result = $env:COMPUTERNAME", operation="probe", timeout=2)
    assert value == "A19-N2" and fired(lab, since, fault["id"]) == 3


def test_faults_while_a_migration_runs_interrupt_only_the_reading_of_its_output(lab, monkeypatch):
    """Not idempotent: the move must not be sent twice; its output is read on new connections."""
    monkeypatch.setattr(runner, "OPERATION_POLL", 1)     # a Receive every second, so the faults meet some
    conn = connection(lab, "ACL19")
    since = len(lab.events())
    outcome = {}

    def move():
        outcome["value"] = agents.run_script(
            conn, "$moved = Move-ClusterVirtualMachineRole -Name 'a-vm2' -Node 'A19-N2'\n"
                  "Start-Sleep -Seconds 300\n"         # 3 s at the lab's speed: the faults come meanwhile
                  "$result = $moved | Select-Object Name, @{ n = 'Owner'; e = { $_.OwnerNode.Name } }",
            operation="Move-ClusterVirtualMachineRole a-vm2", idempotent=False)

    worker = threading.Thread(target=move)
    worker.start()
    until(lambda: any(e["event"] == "migration-started" and e.get("vm") == "a-vm2" for e in lab.events(since)))
    fault = lab.fault("winrm_http500", host="ACL19", count=3)
    worker.join(120)
    lab.control("DELETE", "/faults")
    assert outcome.get("value") == {"Name": "a-vm2", "Owner": "A19-N2"}
    assert fired(lab, since, fault["id"]) == 3
    started = [e for e in lab.events(since) if e["event"] == "migration-started" and e.get("vm") == "a-vm2"]
    assert len(started) == 1
    assert {v["name"]: v["host"] for v in lab.state()["vms"]}["a-vm2"] == "A19-N2"


def test_a_fault_that_never_clears_fails_with_its_message(lab, monkeypatch):
    monkeypatch.setenv("FERRY_WINRM_RETRY_WINDOW_SECONDS", "3")
    fault = lab.fault("winrm_http500", host="A19-N3")
    since = len(lab.events())
    try:
        with pytest.raises(agents.ProtocolError) as info:
            agents.hostinfo.get_os(connection(lab, "A19-N3"))
    finally:
        lab.control("DELETE", f"/faults/{fault['id']}")
    assert "HTTP 500" in str(info.value) and "127.0.10.3" in str(info.value)
    assert fired(lab, since, fault["id"]) >= 3                  # it was retried within the window


def test_a_bad_retry_window_setting_is_named(lab, monkeypatch):
    monkeypatch.setenv("FERRY_WINRM_RETRY_WINDOW_SECONDS", "two minutes")
    with pytest.raises(agents.TransportUnavailable, match="FERRY_WINRM_RETRY_WINDOW_SECONDS"):
        agents.hostinfo.get_os(connection(lab, "A19-N1"))


@pytest.fixture
def answer_lost_after_the_script_is_sent(monkeypatch):
    """The last Send reaches the machine but its answer is lost (a reset): the script may have started."""
    from winrm.exceptions import WinRMTransportError
    from winrm.protocol import Protocol

    real = Protocol.send_command_input
    lost = []

    def send(self, shell_id, command_id, data, end=False):
        real(self, shell_id, command_id, data, end=end)
        if end and not lost:
            lost.append(command_id)
            raise WinRMTransportError("http", 502, "Bad Gateway")

    monkeypatch.setattr(Protocol, "send_command_input", send)
    return lost


def test_a_script_that_may_have_started_is_never_sent_again_unless_idempotent(
        lab, answer_lost_after_the_script_is_sent):
    conn = connection(lab, "ACL19")
    vm_host = {v["name"]: v["host"] for v in lab.state()["vms"]}["a-vm1"]
    target = "A19-N2" if vm_host != "A19-N2" else "A19-N3"
    since = len(lab.events())
    body = f"$null = Move-ClusterVirtualMachineRole -Name 'a-vm1' -Node '{target}'\n$result = 'moved'"
    with pytest.raises(agents.ProtocolError, match="HTTP 502"):
        agents.run_script(conn, body, operation="Move-ClusterVirtualMachineRole a-vm1", idempotent=False)
    until(lambda: {v["name"]: v["host"] for v in lab.state()["vms"]}["a-vm1"] == target)   # it did run, once
    started = [e for e in lab.events(since) if e["event"] == "migration-started" and e.get("vm") == "a-vm1"]
    assert len(started) == 1 and len(answer_lost_after_the_script_is_sent) == 1
    answer_lost_after_the_script_is_sent.clear()
    assert agents.run_script(conn, "$result = (Get-ClusterGroup -Name 'a-vm1').OwnerNode.Name",
                             operation="probe") == target          # idempotent: simply run again
    assert len(answer_lost_after_the_script_is_sent) == 1
