import pytest


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Users are made in most tests here; the real hasher's cost is not what is tested."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _compliance_lab(topology, settings, monkeypatch):
    from django.contrib.auth.models import Group

    from lab.testing import LabProcess
    from tests.compliance.labenv import SPEED
    from tests.jobs.conftest import FAST

    for role in ("viewer", "operator", "administrator"):
        Group.objects.get_or_create(name=role)
    settings.FERRY_JOBS = dict(FAST)
    monkeypatch.setenv("FERRY_COMPLIANCE_POLL_SECONDS", "0.05")
    with LabProcess(topology, speed=SPEED) as running:
        yield running
        running.assert_invariants_held()


@pytest.fixture
def lab_topology():
    """The topology the `lab` fixture starts (a test module may override it)."""
    from tests.compliance.labenv import TOPOLOGY

    return TOPOLOGY


@pytest.fixture
def lab(transactional_db, settings, monkeypatch, lab_topology):
    """The compliance lab (a fresh one per test: remediation changes it) and fast job timings."""
    yield from _compliance_lab(lab_topology, settings, monkeypatch)


@pytest.fixture
def lab2016(transactional_db, settings, monkeypatch):
    """A Server 2016 Hyper-V cluster (Windows Update through MSFT_WUOperationsSession) and a WSUS."""
    from tests.compliance.labenv import TOPOLOGY_2016

    yield from _compliance_lab(TOPOLOGY_2016, settings, monkeypatch)
