"""Worker commit → websocket frame latency, with 1, 10 and 100 viewers of one job.

Shapes: `embedded` (SQLite file, in-memory channel layer: a worker process reaches the browsers
only through the database watcher of the web process) and `redis` (PostgreSQL + Redis doorbells,
watcher as a slow safety net). Each shape gets a throwaway database, one daphne, and a separate
"worker" process that commits job log lines through the engine's own write path and notes the
time each commit returned; viewers note when the frame carrying that line arrived.
Keys: event_latency_p50_ms / event_latency_p99_ms → {shape: {viewers: ms}}.
"""
import asyncio
import json
import os
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path

VIEWER_COUNTS = (1, 10, 100)
EVENTS = 60
SPACING_S = 0.15
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}

SETUP = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
user = User.objects.create_user("bench-viewer", password="unused")
user.groups.add(Group.objects.get(name="viewer"))
session = SessionStore()
session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                HASH_SESSION_KEY: user.get_session_auth_hash()})
session.save()
print(json.dumps({"session": session.session_key}))
"""

EMIT = """
import json, sys, time
from jobs.engine import PlanStep, submit_job
from jobs.models import Job
job, _ = submit_job(kind="bench", title="Latency", plan=[PlanStep("tests.jobs.sample_steps.noop")])
print(json.dumps({"job": job.pk}), flush=True)
sys.stdin.readline()  # viewers connected
committed = {}
for i in range(%(events)d):
    job.write_log(f"bench-{i}-marker")   # commits; the doorbell rings after commit
    committed[i] = time.time()
    time.sleep(%(spacing)f)
time.sleep(1.0)
print(json.dumps(committed), flush=True)
"""


def _percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


async def _watch(port, job_id, session, count, arrivals, ready):
    from websockets.asyncio.client import connect

    marker = re.compile(r"bench-(\d+)-marker")
    headers = {"Origin": f"http://127.0.0.1:{port}", "Cookie": f"sessionid={session}"}

    async def one(index):
        async with connect(f"ws://127.0.0.1:{port}/ws/jobs/{job_id}/", additional_headers=headers, max_size=None) as ws:
            seen = arrivals[index]
            await ws.recv()  # snapshot
            ready.append(index)
            try:
                while True:
                    frame = await asyncio.wait_for(ws.recv(), timeout=5)
                    now = time.time()
                    for found in marker.findall(frame):
                        seen.setdefault(int(found), now)
            except (asyncio.TimeoutError, Exception):
                return

    await asyncio.gather(*(one(i) for i in range(count)))


def _measure(procs, port, session, count) -> dict:
    import subprocess
    import threading

    emitter = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", EMIT % {"events": EVENTS, "spacing": SPACING_S}],
        cwd=procs.env.get("PWD_BASE"), env=procs.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    job_id = json.loads(emitter.stdout.readline())["job"]
    arrivals = [dict() for _ in range(count)]
    ready: list[int] = []
    thread = threading.Thread(target=lambda: asyncio.run(_watch(port, job_id, session, count, arrivals, ready)))
    thread.start()
    deadline = time.monotonic() + 60
    while len(ready) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    emitter.stdin.write("go\n")
    emitter.stdin.flush()
    committed = {int(k): v for k, v in json.loads(emitter.stdout.readline()).items()}
    emitter.wait(30)
    thread.join(30)
    latencies = [(seen[i] - committed[i]) * 1000 for seen in arrivals for i in committed if i in seen]
    delivered = sum(len(seen) for seen in arrivals)
    return {
        "p50": round(_percentile(latencies, 50), 1) if latencies else None,
        "p99": round(_percentile(latencies, 99), 1) if latencies else None,
        "delivered": delivered,
        "expected": EVENTS * count,
        "connected": len(ready),
    }


def _shape(name, database_url, redis_url, var_dir):
    from tests.jobs.procs import BASE_DIR, Processes

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PYTEST_VERSION")}
    env.update({"FERRY_DEMO": "1", "FERRY_VAR_DIR": var_dir, "DJANGO_SETTINGS_MODULE": "config.settings",
                "PWD_BASE": str(BASE_DIR)})
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    procs = Processes(Path(var_dir), env)
    try:
        procs.manage("migrate", "--no-input", "-v", "0")
        session = json.loads(procs.manage("shell", "-c", SETUP).strip().splitlines()[-1])["session"]
        _, port = procs.daphne()
        return {count: _measure(procs, port, session, count) for count in VIEWER_COUNTS}
    finally:
        procs.stop_all()


def run(results: dict) -> None:
    p50, p99, raw = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="ferry-bench-events-") as tmp:
        shapes = [("embedded", None, None, f"{tmp}/embedded")]
        pg_name = None
        try:
            import psycopg
            import redis

            redis.Redis.from_url("redis://127.0.0.1:6379/12", socket_connect_timeout=2).ping()
            pg_name = f"ferry_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=2, **PG) as admin:
                admin.execute(f'CREATE DATABASE "{pg_name}"')
            shapes.append(("redis", f"postgres://postgres@127.0.0.1:5432/{pg_name}", "redis://127.0.0.1:6379/12", f"{tmp}/redis"))
        except Exception as exc:
            pg_name = None
            raw["redis_skipped"] = f"PostgreSQL/Redis not reachable: {exc}"
        try:
            for name, database_url, redis_url, var_dir in shapes:
                Path(var_dir).mkdir()
                measured = _shape(name, database_url, redis_url, var_dir)
                p50[name] = {str(k): v["p50"] for k, v in measured.items()}
                p99[name] = {str(k): v["p99"] for k, v in measured.items()}
                raw[name] = {str(k): v for k, v in measured.items()}
                for count, value in measured.items():
                    print(f"   {name:8s} {count:3d} viewers: p50 {value['p50']} ms, p99 {value['p99']} ms "
                          f"({value['delivered']}/{value['expected']} delivered)")
        finally:
            if pg_name:
                import psycopg

                with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    results["event_latency_p50_ms"] = p50
    results["event_latency_p99_ms"] = p99
    results["event_latency_raw"] = {**raw, "events_per_run": EVENTS, "spacing_s": SPACING_S,
                                    "watch_seconds": {"embedded": 0.05, "redis": 3.0}}
