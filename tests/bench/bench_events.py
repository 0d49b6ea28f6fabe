"""Worker commit → websocket frame latency, with 1 to 1,000 viewers of one job of 500 steps.

Shapes: `embedded` (SQLite file, in-memory channel layer, one daphne: a worker process reaches the
browsers only through the database watcher of the web process; 1, 10, 100 viewers) and `redis`
(PostgreSQL + Redis doorbells, watcher as a slow safety net, two daphne processes with the viewers
spread over both; 1, 10, 100, 1,000 viewers). Each shape gets a throwaway database and a separate
"worker" process that commits job log lines through the engine's own write path and notes the
time each commit returned; viewers note when the frame carrying that line arrived. All viewers of
a count connect at once, as browsers do after a restart of the web tier.

A viewer that never connects or a frame that never arrives is counted (event_frames_lost), not left
out: a lost frame counts as an infinitely late one in the percentiles, and the benchmark fails.
Keys: event_latency_p50_ms / event_latency_p99_ms / event_frames_lost → {shape: {viewers: value}}.
FERRY_BENCH_VIEWERS=1000 (comma-separated) measures only those counts.
"""
import asyncio
import json
import math
import os
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path

VIEWER_COUNTS = {"embedded": (1, 10, 100), "redis": (1, 10, 100, 1000)}
WEB_PROCESSES = {"embedded": 1, "redis": 2}
STEPS = 500
EVENTS = 60
SPACING_S = 0.15
CONNECT_WAIT_S = 90
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

EMIT = ("""
import json, sys, time
from jobs.engine import PlanStep, submit_job
from jobs.models import Job
plan = [PlanStep("tests.jobs.sample_steps.noop", title=f"No-op {n}", group=f"node{n // 50:02d}") """
        """for n in range(%(steps)d)]
job, _ = submit_job(kind="bench", title="Latency", plan=plan)
print(json.dumps({"job": job.pk}), flush=True)
sys.stdin.readline()  # viewers connected
committed = {}
for i in range(%(events)d):
    job.write_log(f"bench-{i}-marker")   # commits; the doorbell rings after commit
    committed[i] = time.time()
    time.sleep(%(spacing)f)
time.sleep(1.0)
print(json.dumps(committed), flush=True)
""")


def _percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def _rounded(value):
    return None if value == math.inf else round(value, 1)


async def _watch(ports, job_id, session, count, arrivals, ready, failures, go, snapshot_sizes):
    from websockets.asyncio.client import connect

    marker = re.compile(r"bench-(\d+)-marker")

    async def one(index):
        port = ports[index % len(ports)]
        headers = {"Origin": f"http://127.0.0.1:{port}", "Cookie": f"sessionid={session}"}
        try:
            async with connect(f"ws://127.0.0.1:{port}/ws/jobs/{job_id}/", additional_headers=headers,
                               max_size=None, open_timeout=CONNECT_WAIT_S) as ws:
                seen = arrivals[index]
                snapshot_sizes.append(len(await ws.recv()))
                ready.append(index)
                await go.wait()
                while True:
                    frame = await asyncio.wait_for(ws.recv(), timeout=5)
                    now = time.time()
                    for found in marker.findall(frame):
                        seen.setdefault(int(found), now)
        except asyncio.TimeoutError:
            return
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")

    await asyncio.gather(*(one(i) for i in range(count)))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(procs, web, session, count) -> dict:
    ports = [port for _, port in web]
    import subprocess
    import threading

    emitter = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c",
         EMIT % {"events": EVENTS, "spacing": SPACING_S, "steps": STEPS}],
        cwd=procs.env.get("PWD_BASE"), env=procs.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    job_id = json.loads(emitter.stdout.readline())["job"]
    arrivals = [dict() for _ in range(count)]
    ready: list[int] = []
    failures: list[str] = []
    snapshot_sizes: list[int] = []
    loop = asyncio.new_event_loop()
    go = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(
        _watch(ports, job_id, session, count, arrivals, ready, failures, go, snapshot_sizes)))
    connect_started = time.monotonic()
    thread.start()
    deadline = connect_started + CONNECT_WAIT_S
    while len(ready) + len(failures) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    connect_seconds = time.monotonic() - connect_started
    loop.call_soon_threadsafe(go.set)
    cpu_before = [_cpu_seconds(proc.pid) for proc, _ in web], time.process_time()
    emitter.stdin.write("go\n")
    emitter.stdin.flush()
    committed = {int(k): v for k, v in json.loads(emitter.stdout.readline()).items()}
    emitter.wait(30)
    thread.join(30)
    web_cpu = [_cpu_seconds(proc.pid) - before for (proc, _), before in zip(web, cpu_before[0])]
    client_cpu = time.process_time() - cpu_before[1]
    # every expected frame counts: one that never came is infinitely late
    latencies = [(seen[i] - committed[i]) * 1000 if i in seen else math.inf for seen in arrivals for i in committed]
    delivered = sum(len(seen) for seen in arrivals)
    expected = EVENTS * count
    return {
        "p50": _rounded(_percentile(latencies, 50)),
        "p99": _rounded(_percentile(latencies, 99)),
        "delivered": delivered,
        "expected": expected,
        "lost": expected - delivered,
        "connected": len(ready),
        "connect_all_seconds": round(connect_seconds, 2),
        "connect_failures": sorted(set(failures))[:5],
        "web_processes": len(ports),
        "snapshot_bytes": max(snapshot_sizes, default=None),
        "cpu_ms_per_frame": {"web": round(sum(web_cpu) * 1000 / max(delivered, 1), 3),
                             "viewers": round(client_cpu * 1000 / max(delivered, 1), 3)},
    }


def _counts(name: str) -> tuple[int, ...]:
    wanted = os.environ.get("FERRY_BENCH_VIEWERS")
    if not wanted:
        return VIEWER_COUNTS[name]
    return tuple(int(c) for c in wanted.split(",") if int(c) in VIEWER_COUNTS[name] or name == "redis")


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
        web = [procs.daphne() for _ in range(WEB_PROCESSES[name])]
        return {count: _measure(procs, web, session, count) for count in _counts(name)}
    finally:
        procs.stop_all()


def run(results: dict) -> None:
    p50, p99, lost, raw = {}, {}, {}, {}
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
            shapes.append(("redis", f"postgres://postgres@127.0.0.1:5432/{pg_name}", "redis://127.0.0.1:6379/12",
                           f"{tmp}/redis"))
        except Exception as exc:
            pg_name = None
            raw["redis_skipped"] = f"PostgreSQL/Redis not reachable: {exc}"
        try:
            for name, database_url, redis_url, var_dir in shapes:
                if not _counts(name):
                    continue
                Path(var_dir).mkdir()
                measured = _shape(name, database_url, redis_url, var_dir)
                p50[name] = {str(k): v["p50"] for k, v in measured.items()}
                p99[name] = {str(k): v["p99"] for k, v in measured.items()}
                lost[name] = {str(k): v["lost"] for k, v in measured.items()}
                raw[name] = {str(k): v for k, v in measured.items()}
                for count, value in measured.items():
                    print(f"   {name:8s} {count:4d} viewers on {value['web_processes']} daphne: p50 {value['p50']} ms, "
                          f"p99 {value['p99']} ms; {value['connected']}/{count} connected "
                          f"in {value['connect_all_seconds']} s, {value['delivered']}/{value['expected']} frames "
                          f"delivered = {value['delivered'] / value['expected']:.4f}")
        finally:
            if pg_name:
                import psycopg

                with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    results["event_latency_p50_ms"] = p50
    results["event_latency_p99_ms"] = p99
    results["event_frames_lost"] = lost
    results["event_latency_raw"] = {**raw, "events_per_run": EVENTS, "spacing_s": SPACING_S, "job_steps": STEPS,
                                    "watch_seconds": {"embedded": 0.05, "redis": 3.0},
                                    "delivered_divided_by": "events × viewers"}
    short = [f"{shape} {count}: {v['connected']}/{count} connected, {v['lost']} frames lost"
             for shape, values in raw.items() if isinstance(values, dict)
             for count, v in values.items() if v["lost"] or v["connected"] < int(count)]
    if short:
        raise RuntimeError("live status lost viewers or frames: " + "; ".join(short))
