"""One simulated datacenter per test module (tests/agents/agents.toml, fast clock), and helpers
to reach it the way an operator configures Ferry: HTTPS validated against the lab's CA."""
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fabric import agents

TOPOLOGY = Path(__file__).with_name("agents.toml")


@pytest.fixture(scope="module")
def lab():
    from lab.testing import LabProcess

    with LabProcess(TOPOLOGY, speed=100) as running:
        yield running
        running.assert_invariants_held()


def https_target(lab, name: str) -> dict:
    """address/port/ca for a host or cluster of the lab, over HTTPS."""
    winrm = lab.entry(name)["winrm"]
    url = urlsplit(winrm["https_url"])
    return {"address": url.hostname, "port": url.port, "https": True, "ca_path": lab.endpoints["ca_path"]}


def connection(lab, name: str, **overrides) -> agents.Connection:
    entry = lab.entry(name)["winrm"]
    target = https_target(lab, name)
    values = dict(address=target["address"], port=target["port"], https=True, ca_path=target["ca_path"],
                  transport=entry["transport"], allow_insecure=entry["transport"] == "basic",
                  username=entry["username"], password=entry["password"], account="lab")
    values.update(overrides)
    return agents.Connection(**values)


@pytest.fixture
def lab_run_as(lab, db):
    from fabric.models import RunAsAccount

    entry = lab.entry("ACL19")["winrm"]
    return RunAsAccount.objects.create(name="Lab WinRM", username=entry["username"], password=entry["password"])


def inventory_snapshot() -> dict:
    """Everything discovery may write, to prove a failed attempt changed nothing."""
    from compliance.models import UpdateServer
    from core.models import AuditEntry
    from fabric.models import Cluster, DeploymentServer, FileShare, Host, VirtualMachine

    return {model.__name__: sorted(map(str, model.objects.values_list()))
            for model in (Cluster, Host, VirtualMachine, FileShare, UpdateServer, DeploymentServer, AuditEntry)}
