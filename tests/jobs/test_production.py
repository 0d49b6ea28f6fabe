"""Production shape: PostgreSQL + Redis, two daphne and two qcluster processes.

A viewer on each daphne watches a job a worker runs; the database watcher is off, so every update
travels worker → Redis → daphne. Killing the cluster that holds the job lets the other cluster
resume it once the lease expires. Uses its own throwaway database, whatever this run uses.
"""
import json
import os
import threading
import uuid
from pathlib import Path

import pytest

from tests.helpers import require, wait_for
from tests.jobs.procs import Processes, fast_env
from tests.jobs.sample_steps import lines

pytestmark = [pytest.mark.slow]

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
# its own Redis database, another one when the suite itself runs on Redis (CI runs both shapes at once)
REDIS_URL = f"redis://127.0.0.1:6379/{12 if os.environ.get('REDIS_URL') else 11}"

SETUP = ("""
import json
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from jobs.engine import PlanStep, submit_job
trace = json.loads({trace!r})
user = User.objects.create_user("vera", password="not-used-here")
user.groups.add(Group.objects.get(name="viewer"))
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.save()
plan = [PlanStep("tests.jobs.sample_steps.gated", title=f"Step {{n}}", group=f"hv0{{(n + 1) // 2}}", """
         """params={{"key": f"g{{n}}"}})
        for n in range(1, 5)]
job, _ = submit_job(kind="remediation", title="Production shape", plan=plan, params=trace)
steps = [s.pk for s in job.steps.filter(is_group=False).order_by("order")]
print(json.dumps({{"job": job.pk, "session": session.session_key, "steps": steps}}))
""")


def _services_up() -> bool:
    try:
        import psycopg
        import redis

        psycopg.connect(dbname="postgres", connect_timeout=2, **PG).close()
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return True
    except Exception:
        return False


@pytest.fixture
def throwaway_database():
    import psycopg

    require(_services_up(), "PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 are needed")
    name = f"ferry_jobs_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Viewer:
    """A browser's websocket, as htmx opens it: same origin, session cookie; frames kept in order."""

    def __init__(self, port: int, job_id: int, session: str):
        from websockets.sync.client import connect

        self.frames: list[str] = []
        self.socket = connect(
            f"ws://127.0.0.1:{port}/ws/jobs/{job_id}/",
            additional_headers={"Origin": f"http://127.0.0.1:{port}", "Cookie": f"sessionid={session}"},
            open_timeout=10,
        )
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for message in self.socket:
                self.frames.append(message)
        except Exception:
            pass

    def wait_for(self, text: str, timeout: float = 30) -> None:
        wait_for(lambda: any(text in frame for frame in self.frames), f"a frame with {text!r}", timeout,
                 detail=lambda: f"last frames: {self.frames[-2:]}")

    def close(self):
        self.socket.close()


def test_two_web_and_two_worker_processes_on_postgres_and_redis(throwaway_database, tmp_path):
    import psycopg

    gates = tmp_path / "gates"
    gates.mkdir()
    trace = {"runs": str(tmp_path / "runs.txt"), "effects": str(tmp_path / "effects.txt"), "gates": str(gates)}
    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env = {
        **base_env,
        **fast_env(FERRY_JOBS_WATCH_SECONDS=0, FERRY_JOBS_LEASE_SECONDS=3, FERRY_WORKERS=1),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{throwaway_database}",
        "REDIS_URL": REDIS_URL,
    }
    procs = Processes(tmp_path, env)
    viewers = []
    try:
        procs.manage("migrate", "--no-input", "-v", "0")
        web = [procs.daphne()[1] for _ in range(2)]
        clusters = [procs.qcluster() for _ in range(2)]
        setup = json.loads(procs.manage("shell", "-c", SETUP.format(trace=json.dumps(trace))).strip().splitlines()[-1])
        job_id, steps = setup["job"], setup["steps"]
        viewers = [Viewer(port, job_id, setup["session"]) for port in web]

        def lease_owner():
            with psycopg.connect(dbname=throwaway_database, **PG) as db:
                return db.execute("SELECT lease_owner FROM jobs_job WHERE id = %s", [job_id]).fetchone()[0]

        for viewer in viewers:
            viewer.wait_for(f'id="step-{steps[0]}" class="step running')
            viewer.wait_for("Waiting for gate g1")
        Path(gates, "g1").touch()
        for viewer in viewers:
            viewer.wait_for(f'id="step-{steps[0]}" class="step succeeded')
            viewer.wait_for(f'id="step-{steps[1]}" class="step running')

        holder_pid = int(lease_owner().split(":")[1])
        holder = procs.group_of(holder_pid)
        assert holder in clusters
        procs.kill9(holder)  # the worker dies in the middle of step 2
        for key in ("g2", "g3", "g4"):
            Path(gates, key).touch()
        for viewer in viewers:
            viewer.wait_for("stopped renewing its lease; resuming the job", timeout=60)
            viewer.wait_for('id="job-header" class="card job-header" data-status="succeeded"', timeout=60)
        assert lines(trace["effects"]) == ["g1", "g2", "g3", "g4"]
        survivor = next(c for c in clusters if c is not holder)
        pids = {int(line.split()[1]) for line in lines(trace["runs"])}
        assert holder_pid in pids and any(procs.group_of(pid) is survivor for pid in pids)
    finally:
        for viewer in viewers:
            viewer.close()
        procs.stop_all()
