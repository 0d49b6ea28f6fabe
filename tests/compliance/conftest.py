import pytest


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Users are made in most tests here; the real hasher's cost is not what is tested."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def lab_topology():
    """The topology the `lab` fixture starts (a test module may override it)."""
    from tests.compliance.labenv import TOPOLOGY

    return TOPOLOGY


@pytest.fixture
def lab(transactional_db, settings, monkeypatch, lab_topology):
    """The compliance lab (a fresh one per test: remediation changes it) and fast job timings."""
    from django.contrib.auth.models import Group

    from lab.testing import LabProcess
    from tests.compliance.labenv import SPEED
    from tests.jobs.conftest import FAST

    for role in ("viewer", "operator", "administrator"):
        Group.objects.get_or_create(name=role)
    settings.FERRY_JOBS = dict(FAST)
    monkeypatch.setenv("FERRY_COMPLIANCE_POLL_SECONDS", "0.05")
    with LabProcess(lab_topology, speed=SPEED) as running:
        yield running
        running.assert_invariants_held()
