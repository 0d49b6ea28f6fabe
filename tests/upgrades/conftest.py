"""A small datacenter for the upgrade features: a cluster whose nodes were upgraded to 2022 outside
Ferry (functional level still 10), a cluster in mixed mode (2019 + 2022), and a WDS server with two
VHDX install images and a third VHDX waiting on its disk."""
import pytest

TOPOLOGY = ("""
[lab]
name = "upgrades"
domain = "contoso.com"
speed = 100.0

[defaults]
memory_gb = 64.0

[[clusters]]
name = "UPC22"
kind = "hyperv"
functional_level = 10
witness = true
vms = [{ name = "up-vm1", owner = "U22-N1", memory_gb = 4.0 }]

[[clusters.nodes]]
name = "U22-N1"
os = "2022"

[[clusters.nodes]]
name = "U22-N2"
os = "2022"

[[clusters]]
name = "MIX"
kind = "hyperv"
functional_level = 10
witness = true

[[clusters.nodes]]
name = "M-N1"
os = "2019"

[[clusters.nodes]]
name = "M-N2"
os = "2022"

[deployment_server]
name = "UWDS"
os = "2022"
bmc = false
images = [
  { name = "Windows Server 2022 SERVERDATACENTER", os = "2022", group = "WS2022", file = "WS2022.vhdx" },
  { name = "Windows Server 2025 SERVERDATACENTER", os = "2025", group = "WS2025", file = "WS2025.vhdx" },
  { name = "Windows Server 2025 SERVERSTANDARD", os = "2025", file = "E:\\\\Media\\\\WS2025-Std.vhdx", """
            """imported = false },
]
""")


@pytest.fixture
def lab(db):
    from django.contrib.auth.models import Group

    from core.roles import ADMINISTRATOR, OPERATOR, VIEWER
    from lab.testing import LabProcess

    for role in (VIEWER, OPERATOR, ADMINISTRATOR):     # a transactional test before this one flushed them
        Group.objects.get_or_create(name=role)
    with LabProcess(topology_text=TOPOLOGY, speed=100.0) as running:
        yield running
        running.assert_invariants_held()


@pytest.fixture
def lab_run_as(lab, db):
    from fabric.models import RunAsAccount

    entry = lab.entry("UPC22")["winrm"]
    return RunAsAccount.objects.create(name="Lab WinRM", username=entry["username"], password=entry["password"])
