import pytest
from django.contrib.auth.models import Group

from core.roles import ROLES

FAST = {
    "LEASE_SECONDS": 2.0,
    "REAP_SECONDS": 0.5,
    "SLICE_SECONDS": 120.0,
    "PICKUP_SECONDS": 30.0,
    "WATCH_SECONDS": 0.05,
    "RETRY_DELAY_SECONDS": 0.05,
    "RETRY_DELAY_MAX_SECONDS": 0.2,
    "MAX_RESUMES_PER_STEP": 3,
}


@pytest.fixture
def live_db(transactional_db):
    """A database other threads and processes see (committed), with the role groups in it."""
    for role in ROLES:
        Group.objects.get_or_create(name=role)
    yield


@pytest.fixture
def fast_jobs(settings):
    settings.FERRY_JOBS = dict(FAST)
    return settings.FERRY_JOBS


@pytest.fixture
def sync_q(monkeypatch):
    """django-q2 in sync mode: async_task runs the task inline."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def trace(tmp_path):
    """Files the sample steps write: what ran (runs), what they did (effects), gates they wait for."""
    gates = tmp_path / "gates"
    gates.mkdir()
    return {"runs": str(tmp_path / "runs.txt"), "effects": str(tmp_path / "effects.txt"), "gates": str(gates)}


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Users are made in almost every test here; the real hasher's cost is not what is tested."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def procs(live_db, tmp_path):
    """Real qcluster / daphne processes sharing this test's database."""
    import os

    from django.db import connection

    from tests.jobs.procs import Processes, database_url, fast_env

    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict), **fast_env()}
    processes = Processes(tmp_path, env)
    yield processes
    processes.stop_all()
