"""The engine's own cost per step: a plan of 200 no-op steps (10 swimlanes of 20), run by one
worker invocation (the function the q2 task calls), on a throwaway database of each shape.
Keys: engine_overhead_per_step_ms → {shape: ms}, with plan creation and queries per step beside it.
"""
import json
import os
import tempfile
import uuid
from pathlib import Path

STEPS = 200
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}

CHILD = ("""
import json, time
from django.db import connection
from django.test.utils import CaptureQueriesContext
from jobs.engine import PlanStep, submit_job
from jobs.engine.runner import run_job
from jobs.models import Job
plan = [PlanStep("tests.jobs.sample_steps.noop", title=f"No-op {n}", group=f"node{n // 20:02d}") """
         """for n in range(%(steps)d)]
started = time.perf_counter()
job, _ = submit_job(kind="bench", title="No-op steps", plan=plan)
planned = time.perf_counter()
with CaptureQueriesContext(connection) as queries:
    outcome = run_job(job.pk)
finished = time.perf_counter()
job.refresh_from_db()
print(json.dumps({"outcome": outcome, "status": job.status, "plan_s": planned - started,
                  "run_s": finished - planned, "queries": len(queries), "log_lines": job.log.count()}))
""")


def _measure(database_url: str | None, var_dir: str) -> dict:
    from tests.jobs.procs import Processes

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PYTEST_VERSION")}
    env.update({"FERRY_DEMO": "1", "FERRY_VAR_DIR": var_dir})
    if database_url:
        env["DATABASE_URL"] = database_url
    procs = Processes(Path(var_dir), env)
    procs.manage("migrate", "--no-input", "-v", "0")
    out = json.loads(procs.manage("shell", "-v", "0", "-c", CHILD % {"steps": STEPS}).strip().splitlines()[-1])
    if out["status"] != "succeeded":
        raise RuntimeError(f"the no-op job ended {out['status']} ({out['outcome']})")
    return {
        "per_step_ms": round(out["run_s"] * 1000 / STEPS, 2),
        "plan_per_step_ms": round(out["plan_s"] * 1000 / STEPS, 2),
        "queries_per_step": round(out["queries"] / STEPS, 1),
        "wall_s": round(out["run_s"], 2),
        "log_lines": out["log_lines"],
    }


def run(results: dict) -> None:
    measured = {}
    with tempfile.TemporaryDirectory(prefix="ferry-bench-engine-") as tmp:
        Path(tmp, "embedded").mkdir()
        measured["embedded"] = _measure(None, f"{tmp}/embedded")
        try:
            import psycopg

            name = f"ferry_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=2, **PG) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
        except Exception as exc:
            measured["postgresql_skipped"] = f"PostgreSQL not reachable: {exc}"
        else:
            try:
                Path(tmp, "postgresql").mkdir()
                measured["postgresql"] = _measure(f"postgres://postgres@127.0.0.1:5432/{name}", f"{tmp}/postgresql")
            finally:
                with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for shape, value in measured.items():
        if isinstance(value, dict):
            print(f"   {shape:10s} {value['per_step_ms']} ms per step ({value['queries_per_step']} queries), "
                  f"plan {value['plan_per_step_ms']} ms per step")
    results["engine_overhead_per_step_ms"] = {k: v["per_step_ms"] for k, v in measured.items() if isinstance(v, dict)}
    results["engine_overhead_raw"] = {**measured, "steps": STEPS}
