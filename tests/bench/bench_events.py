"""Worker commit → websocket frame latency, with 1 to 1,000 viewers of one job of 500 steps.

Shapes: `embedded` (SQLite file, in-memory channel layer, one daphne: a worker process reaches the
browsers only through the database watcher of the web process; 1, 10, 100 viewers) and `redis`
(PostgreSQL + Redis doorbells, watcher as a slow safety net, two daphne processes with the viewers
spread over both; 1, 10, 100, 1,000 viewers). Each shape gets a throwaway database and a separate
"worker" process that commits job log lines through the engine's own write path and notes the
time each commit returned; viewers note when the frame carrying that line arrived. All viewers of
a count connect at once, as browsers do after a restart of the web tier.

A "frame" here is one committed log line reaching one viewer: a websocket message may carry several
lines when doorbells come faster than a process sends, and each line in it counts once. Expected:
events × viewers. A viewer that never connects or a line that never arrives is counted
(event_frames_lost), not left out: in the percentiles a lost line counts as arriving when its viewer
stopped waiting (so they are lower bounds, never null), and the benchmark fails.

The viewers run in processes of their own, 250 each (FERRY_BENCH_VIEWER_PROCESSES to choose): a
thousand websockets in one Python process on a 2-core machine measured mostly that process (its event
loop woke up to 320 ms late, p50 300 ms where spread over four it was 54 ms). Each viewer process
reports how late its loop woke from 5 ms sleeps (`viewer_loop_lag_ms`): a frame that came while the
loop was busy is noted that much late. The web processes note where the time goes (jobs.live.trace).
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
QUIET_S = 5  # a viewer stops listening after this long without a frame
VIEWERS_PER_PROCESS = 250
LAG_TICK_S = 0.005
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
    seq = job.write_log(f"bench-{i}-marker")   # commits; the doorbell rings after commit
    committed[i] = (time.time(), seq)
    time.sleep(%(spacing)f)
time.sleep(1.0)
print(json.dumps(committed), flush=True)
""")


def _percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def _viewer_processes(count: int) -> int:
    wanted = os.environ.get("FERRY_BENCH_VIEWER_PROCESSES")
    return max(1, min(count, int(wanted) if wanted else math.ceil(count / VIEWERS_PER_PROCESS)))


async def _viewers(ports, job_id, session, indices, conn):
    """One viewer process: connect its viewers, say how many are ready, wait for go, note arrivals."""
    from websockets.asyncio.client import connect

    marker = re.compile(r"bench-(\d+)-marker")
    loop = asyncio.get_running_loop()
    arrivals = {index: {} for index in indices}
    ready, failures, snapshot_sizes = [], [], []
    go = asyncio.Event()
    connected_all = asyncio.Event()

    def settled():
        if len(ready) + len(failures) == len(indices):
            connected_all.set()

    async def one(index):
        port = ports[index % len(ports)]
        headers = {"Origin": f"http://127.0.0.1:{port}", "Cookie": f"sessionid={session}"}
        try:
            async with connect(f"ws://127.0.0.1:{port}/ws/jobs/{job_id}/", additional_headers=headers,
                               max_size=None, open_timeout=CONNECT_WAIT_S) as ws:
                seen = arrivals[index]
                snapshot_sizes.append(len(await ws.recv()))
                ready.append(index)
                settled()
                await go.wait()
                while True:
                    frame = await asyncio.wait_for(ws.recv(), timeout=QUIET_S)
                    now = time.time()
                    for found in marker.findall(frame):
                        seen.setdefault(int(found), now)
        except asyncio.TimeoutError:
            return
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
            settled()

    async def lag_monitor(samples):
        # How late this process's event loop wakes from a short sleep: a frame that arrives while
        # the loop is busy is noted that much late, whatever the server did.
        while True:
            before = loop.time()
            await asyncio.sleep(LAG_TICK_S)
            samples.append((loop.time() - before - LAG_TICK_S) * 1000)

    viewers = [asyncio.create_task(one(i)) for i in indices]
    try:
        await asyncio.wait_for(connected_all.wait(), timeout=CONNECT_WAIT_S)
    except asyncio.TimeoutError:
        pass
    conn.send({"ready": len(ready), "failures": failures[:5], "failed": len(failures),
               "snapshot_bytes": max(snapshot_sizes, default=None)})
    await loop.run_in_executor(None, conn.recv)
    lags: list[float] = []
    monitor = asyncio.create_task(lag_monitor(lags))
    cpu_before = time.process_time()
    go.set()
    await asyncio.gather(*viewers)
    monitor.cancel()
    # the last QUIET_S seconds only waited for frames that did not come
    lags = lags[: max(1, len(lags) - int(QUIET_S / LAG_TICK_S))]
    conn.send({"arrivals": arrivals, "cpu_seconds": time.process_time() - cpu_before,
               "lag_ms": {"p50": round(_percentile(lags, 50), 1), "p99": round(_percentile(lags, 99), 1),
                          "max": round(max(lags), 1)}})


def _viewer_main(ports, job_id, session, indices, conn):
    asyncio.run(_viewers(ports, job_id, session, indices, conn))


def _answer(conn, timeout: float, otherwise: dict) -> dict:
    """A viewer process's next report; `otherwise` when it died or kept silent (its viewers then
    count as never connected, their lines as lost)."""
    try:
        return conn.recv() if conn.poll(timeout) else otherwise
    except (EOFError, OSError):
        return otherwise


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _where_the_time_goes(trace_dir: Path, web, job_id: int, committed: dict) -> dict:
    """Per web process and stage, p50 / p99 over the events of the milliseconds that stage added."""
    time.sleep(1.5)  # each web process rewrites its trace once a second
    per_process = {}
    for number, (proc, _) in enumerate(web, 1):
        path = trace_dir / f"live-{proc.pid}.json"
        marks = json.loads(path.read_text()) if path.exists() else {}
        stages = {"commit → doorbell heard": [], "doorbell → render started": [], "render": [],
                  "render → first frame sent": [], "first → last frame sent": []}
        frames = 0
        for i, (committed_at, seq) in committed.items():
            mark = marks.get(f"{job_id}:{seq}", {})
            if "arrived" not in mark or "last_sent" not in mark:
                continue
            frames += mark.get("frames", 0)
            stages["commit → doorbell heard"].append(mark["arrived"] - committed_at)
            render_start = mark.get("render_start", mark["arrived"])
            render_end = mark.get("render_end", render_start)
            stages["doorbell → render started"].append(render_start - mark["arrived"])
            stages["render"].append(render_end - render_start)
            stages["render → first frame sent"].append(mark["first_sent"] - render_end)
            stages["first → last frame sent"].append(mark["last_sent"] - mark["first_sent"])
        per_process[f"daphne {number}"] = {
            stage: {"p50": round(_percentile(v, 50) * 1000, 1), "p99": round(_percentile(v, 99) * 1000, 1)}
            for stage, v in stages.items() if v
        }
        per_process[f"daphne {number}"]["frames_sent"] = frames
    return per_process


def _measure(procs, web, session, count, trace_dir: Path) -> dict:
    import multiprocessing
    import subprocess

    ports = [port for _, port in web]
    emitter = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c",
         EMIT % {"events": EVENTS, "spacing": SPACING_S, "steps": STEPS}],
        cwd=procs.env.get("PWD_BASE"), env=procs.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    job_id = json.loads(emitter.stdout.readline())["job"]
    context = multiprocessing.get_context("spawn")
    shares = [list(range(count))[n::_viewer_processes(count)] for n in range(_viewer_processes(count))]
    children = []
    connect_started = time.monotonic()
    for share in shares:
        parent_end, child_end = context.Pipe()
        child = context.Process(target=_viewer_main, args=(ports, job_id, session, share, child_end), daemon=True)
        child.start()
        children.append((child, parent_end))
    try:
        readiness = [_answer(conn, CONNECT_WAIT_S + 30, {"ready": 0, "failures": ["viewer process did not answer"]})
                     for _, conn in children]
        connect_seconds = time.monotonic() - connect_started
        cpu_before = [_cpu_seconds(proc.pid) for proc, _ in web]
        load_before = os.getloadavg()
        for _, conn in children:
            try:
                conn.send("go")
            except OSError:  # that viewer process died: its report will be missing
                pass
        emitter.stdin.write("go\n")
        emitter.stdin.flush()
        committed = {int(k): tuple(v) for k, v in json.loads(emitter.stdout.readline()).items()}
        emitter.wait(30)
        reports = [_answer(conn, 60, {"arrivals": {}, "cpu_seconds": 0, "lag_ms": None}) for _, conn in children]
        load_after = os.getloadavg()
        web_cpu = [_cpu_seconds(proc.pid) - before for (proc, _), before in zip(web, cpu_before)]
    finally:
        for child, _ in children:
            child.join(5)
            if child.is_alive():
                child.kill()
    arrivals = [seen for report in reports for seen in report["arrivals"].values()]
    arrivals += [{} for _ in range(count - len(arrivals))]  # a viewer process that never answered lost them all
    # Every expected frame counts. One that never came is counted as arriving when its viewer stopped
    # waiting (a lower bound of how late it is), so the percentiles stay numbers and only grow.
    gave_up = time.time()
    latencies = [(seen.get(i, gave_up) - committed[i][0]) * 1000 for seen in arrivals for i in committed]
    delivered = sum(len(seen) for seen in arrivals)
    expected = EVENTS * count
    return {
        "p50": round(_percentile(latencies, 50), 1),
        "p99": round(_percentile(latencies, 99), 1),
        "delivered": delivered,
        "expected": expected,
        "delivered_ratio": round(delivered / expected, 4),
        "lost": expected - delivered,
        "connected": sum(r["ready"] for r in readiness),
        "connect_all_seconds": round(connect_seconds, 2),
        "connect_failures": sorted({f for r in readiness for f in r["failures"]})[:5],
        "web_processes": len(ports),
        "viewer_processes": len(children),
        "viewer_loop_lag_ms": [report["lag_ms"] for report in reports],
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in load_after]},
        "snapshot_bytes": max((r.get("snapshot_bytes") or 0 for r in readiness), default=None),
        "cpu_ms_per_frame": {"web": round(sum(web_cpu) * 1000 / max(delivered, 1), 3),
                             "viewers": round(sum(r["cpu_seconds"] for r in reports) * 1000 / max(delivered, 1), 3)},
        "where_the_time_goes": _where_the_time_goes(trace_dir, web, job_id, committed),
    }


def _counts(name: str) -> tuple[int, ...]:
    wanted = os.environ.get("FERRY_BENCH_VIEWERS")
    if not wanted:
        return VIEWER_COUNTS[name]
    return tuple(int(c) for c in wanted.split(",") if int(c) in VIEWER_COUNTS[name] or name == "redis")


def _shape(name, database_url, redis_url, var_dir):
    from tests.jobs.procs import BASE_DIR, Processes

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PYTEST_VERSION")}
    trace_dir = Path(var_dir) / "trace"
    trace_dir.mkdir()
    env.update({"FERRY_DEMO": "1", "FERRY_VAR_DIR": var_dir, "DJANGO_SETTINGS_MODULE": "config.settings",
                "PWD_BASE": str(BASE_DIR), "FERRY_LIVE_TRACE": str(trace_dir)})
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    procs = Processes(Path(var_dir), env)
    try:
        procs.manage("migrate", "--no-input", "-v", "0")
        session = json.loads(procs.manage("shell", "-c", SETUP).strip().splitlines()[-1])["session"]
        web = [procs.daphne() for _ in range(WEB_PROCESSES[name])]
        return {count: _measure(procs, web, session, count, trace_dir) for count in _counts(name)}
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
                          f"delivered = {value['delivered_ratio']:.4f}; {value['viewer_processes']} viewer processes, "
                          f"their loop lag p99 {[lag and lag['p99'] for lag in value['viewer_loop_lag_ms']]} ms; "
                          f"load {value['load_average']['before'][0]} → {value['load_average']['after'][0]}")
                    for process, stages in value["where_the_time_goes"].items():
                        print(f"     {process}: " + "; ".join(f"{stage} {v}" for stage, v in stages.items()))
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
