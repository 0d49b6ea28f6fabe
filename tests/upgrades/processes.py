"""What the upgrade tests that run real daphne and qcluster processes share: a lab on a topology of
their own, with the roles made and the deploy and restart deadlines short, and the processes
pointed at the test's database with the same deadlines."""
import os
from contextlib import contextmanager

DEADLINES = {"FERRY_DEPLOY_TIMEOUT_SECONDS": "30", "FERRY_RESTART_TIMEOUT_SECONDS": "30"}


@contextmanager
def upgrade_lab(topology: str, monkeypatch):
    from django.contrib.auth.models import Group

    from lab.testing import LabProcess

    for role in ("viewer", "operator", "administrator"):
        Group.objects.get_or_create(name=role)
    for name, value in DEADLINES.items():
        monkeypatch.setenv(name, value)
    with LabProcess(topology_text=topology, speed=100.0) as running:
        yield running


@contextmanager
def job_processes(tmp_path):
    from django.db import connection

    from tests.jobs.procs import Processes, database_url, fast_env

    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict),
           **fast_env(FERRY_COMPLIANCE_POLL_SECONDS="0.05", **DEADLINES)}
    processes = Processes(tmp_path, env)
    try:
        yield processes
    finally:
        processes.stop_all()
