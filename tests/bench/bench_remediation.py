"""Rolling remediation, one-node evacuation and fleet scan, each against its lower bound from the lab.

Figures (docs/benchmarks.md), all measured in one run against `python -m lab serve`:
- remediation_makespan_ratio: remediating an 8-node x 20-VM cluster (job start to end) ÷
  Σ over nodes that need updates of (evacuation LB + install + restart + return LB), with the lab's
  speed set so that bound is about 60 s of wall time;
- evacuation_ratio: Ferry's evacuation of one node (its evacuate step) ÷ that node's evacuation LB;
- evacuation_vs_drain (and its older name evacuation_vs_naive): the same ÷ the cluster's own drain
  (Suspend-ClusterNode -Drain, as many migrations at once as the node allows) of that node in the
  same lab, with the over-commit refusals of each;
- scan_ratio: a scan job over 1,000 lab hosts ÷ max(one host's scan time in the lab, Ferry's own CPU
  per host scan measured in the same run × hosts ÷ cores).
Runs in a throw-away test database; jobs run in this process as a worker would run them.
FERRY_BENCH_REMEDIATION_PARTS=makespan,evacuation,scan,view runs only the parts named (all by default).
"""
import os
import time
from pathlib import Path
from urllib.parse import urlparse

NODES, VMS_PER_NODE, UPDATES = 8, 20, 3
TARGET_BOUND_SECONDS = 60.0
EVACUATION_SPEED = 20.0
SCAN_HOSTS = int(os.environ.get("FERRY_BENCH_SCAN_HOSTS", "1000"))
SCAN_SPEED = float(os.environ.get("FERRY_BENCH_SCAN_SPEED", "10"))
BASELINE = "Sample Baseline for Security Updates"


def evacuation_lb(memories: list[int], bandwidth: float, limit: int) -> float:
    from fabric.nodeops.planner import evacuation_lower_bound

    return evacuation_lower_bound(memories, bandwidth, limit)


def node_bound(timing: dict, updates: int) -> tuple[float, float]:
    """(evacuation LB, whole-node LB) in simulated seconds for one node, from GET /timings."""
    running = [vm["memory_bytes"] for vm in timing["vms"].values() if vm["state"] == "Running"]
    evac = evacuation_lb(running, timing["migration_bandwidth_bytes_per_second"], timing["max_migrations"])
    install = timing["install_base_seconds"] + timing["install_per_update_seconds"] * updates
    return evac, evac + install + timing["reboot_seconds"] + evac


def _finish(job):
    from jobs.choices import ACTIVE
    from jobs.engine.runner import run_job

    job.refresh_from_db()
    while job.status in ACTIVE:
        run_job(job.pk)
        job.refresh_from_db()
    if job.status != "succeeded":
        raise RuntimeError(f"job #{job.pk} {job.title} {job.status}: {job.error}")
    return job


def _run_as(entry: dict):
    from fabric.models import RunAsAccount

    winrm = entry["winrm"]
    return RunAsAccount.objects.get_or_create(
        name="bench-lab", defaults={"username": winrm["username"], "password": winrm["password"]})[0]


def _secure(lab, entry: dict) -> dict:
    """Cluster nodes are reached over HTTPS: a node never inherits its cluster's "Allow insecure"."""
    return dict(port=urlparse(entry["winrm"]["https_url"]).port, https=True, transport=entry["winrm"]["transport"],
                ca_path=lab.endpoints["ca_path"])


def _plain(entry: dict) -> dict:
    return dict(port=urlparse(entry["winrm"]["url"]).port, https=False, transport=entry["winrm"]["transport"],
                allow_insecure=True)


def _sync_and_assign(lab):
    from compliance import baselines as bl
    from compliance.models import Baseline
    from compliance.orchestration import submit_sync
    from fabric.inventory.discovery import add_update_server
    from fabric.models import HostGroup

    wsus = lab.endpoints["update_server"]
    server = add_update_server(wsus["address"], _run_as(wsus), wsus_port=wsus["wsus_port"], **_plain(wsus))
    _finish(submit_sync(server)[0])
    bl.assign(Baseline.objects.get(name=BASELINE), HostGroup.root())


def _topology(speed: float, needy: set[str] | None = None) -> str:
    """The generated 8 x 20 cluster; every node (or those in `needy`) misses the generated updates."""
    from lab.generate import remediation_topology, render

    data = remediation_topology(NODES, VMS_PER_NODE, updates=UPDATES, speed=speed)
    kbs = [u["kb"] for u in data["updates"]]
    data["defaults"]["https"] = True
    for node in data["clusters"][0]["nodes"]:
        node["missing_updates"] = kbs if needy is None or node["name"] in needy else []
    return render(data)


def _remediate(lab):
    """Discover the cluster, sync, assign, scan; then remediate it. Returns (cluster, job, wall seconds)."""
    from compliance.orchestration import submit_cluster_remediation, submit_scan
    from compliance.remediation import RemediationOptions
    from fabric.inventory.discovery import discover_cluster

    entry = lab.entry("BENCH-CL")
    cluster = discover_cluster(entry["address"], _run_as(lab.entry("BENCH-N1")), **_secure(lab, entry))
    _sync_and_assign(lab)
    _finish(submit_scan(cluster)[0])
    job, _ = submit_cluster_remediation(cluster, RemediationOptions())
    started = time.monotonic()
    job = _finish(job)
    return cluster, job, time.monotonic() - started


def _where_the_time_goes(job, timings: dict, speed: float) -> dict:
    """Wall seconds of each kind of step on the job's critical path (summed over nodes; a parallel
    pair counts once, as its longest member) beside that kind's share of the bound."""
    from collections import defaultdict

    from jobs.models import JobStep

    bound_part = defaultdict(float)
    for name, t in timings.items():
        if name.startswith("BENCH-N"):
            evac, _ = node_bound(t, UPDATES)
            bound_part["compliance.evacuate_node"] += evac / speed
            bound_part["compliance.return_vms"] += evac / speed
            bound_part["compliance.install_updates"] += (t["install_base_seconds"]
                                                         + t["install_per_update_seconds"] * UPDATES) / speed
            bound_part["compliance.restart_node"] += t["reboot_seconds"] / speed
    spent = defaultdict(float)
    steps = JobStep.objects.filter(job=job, is_group=False, started__isnull=False).order_by("order")
    pairs: dict[str, list] = defaultdict(list)
    for step in steps:
        seconds = (step.finished - step.started).total_seconds()
        if step.parallel_group:
            pairs[step.parallel_group].append((seconds, step.name))
        else:
            spent[step.name] += seconds
    for members in pairs.values():
        seconds, name = max(members)
        spent[name] += seconds
    gaps = (job.finished - job.started).total_seconds() - sum(spent.values())
    spent["between steps (engine)"] = gaps
    return {name: {"wall_seconds": round(seconds, 2), "bound_seconds": round(bound_part.get(name, 0.0), 2)}
            for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1])}


def _migrating(events: list[dict], speed: float) -> dict:
    """Wall seconds during which live migrations ran, from the first start to the last finish of
    each node's evacuation (moves off it while it is paused) and return (moves onto it once it is
    resumed), summed over the nodes: the rest of those steps is Ferry's time around the migrations."""
    windows: dict[tuple[str, str], list[float]] = {}
    out = back = None
    for e in events:
        if e["event"] == "node-paused":
            out = e["node"]
        elif e["event"] == "node-resumed":
            out, back = None, e["node"]
        if e["event"] not in ("migration-started", "migration-finished") or e.get("kind") != "Live":
            continue
        if e["source"] == out:
            key = ("compliance.evacuate_node", out)
        elif e["target"] == back:
            key = ("compliance.return_vms", back)
        else:
            continue
        first_last = windows.setdefault(key, [float("inf"), 0.0])
        if e["event"] == "migration-started":
            first_last[0] = min(first_last[0], e["elapsed"])
        else:
            first_last[1] = max(first_last[1], e["elapsed"])
    totals: dict[str, float] = {}
    for (kind, _), (first, last) in windows.items():
        if last > first:
            totals[kind] = totals.get(kind, 0.0) + (last - first) / speed
    return {kind: round(seconds, 2) for kind, seconds in totals.items()}


def bench_remediation(results: dict) -> None:
    from django.db.models import Count

    from fabric.nodeops.live import poll_seconds
    from jobs.models import JobStep
    from lab.testing import LabProcess
    from tests.bench.winrm_trace import counting

    with LabProcess(topology_text=_topology(1.0)) as lab:  # speed 1: read the durations only
        timings = lab.timings()["hosts"]
    sim_bound = sum(node_bound(t, UPDATES)[1] for name, t in timings.items() if name.startswith("BENCH-N"))
    with LabProcess(topology_text=_topology(round(sim_bound / TARGET_BOUND_SECONDS, 3))) as lab:
        speed = lab.timings()["speed"]
        timings = lab.timings()["hosts"]
        bounds = {n: node_bound(t, UPDATES) for n, t in timings.items() if n.startswith("BENCH-N")}
        bound = sum(b[1] for b in bounds.values()) / speed
        with counting() as trace:
            _, job, makespan = _remediate(lab)
        events = lab.events()
    breakdown = _where_the_time_goes(job, timings, speed)
    for kind, seconds in _migrating(events, speed).items():
        breakdown[kind]["migrating_seconds"] = seconds
    per_kind = {row["name"]: row["n"] for row in JobStep.objects.filter(job=job, is_group=False, started__isnull=False)
                .values("name").annotate(n=Count("pk"))}
    scripts = trace.summary(per_kind)
    results["remediation_makespan_ratio"] = round(makespan / bound, 3)
    results["remediation_makespan"] = {
        "wall_seconds": round(makespan, 2), "lower_bound_seconds": round(bound, 2), "lab_speed": speed,
        "nodes": NODES, "vms_per_node": VMS_PER_NODE, "updates_per_node": UPDATES, "poll_seconds": poll_seconds(),
        "per_node_bound_simulated_seconds": {n: round(b[1], 1) for n, b in sorted(bounds.items())},
        "where_the_time_goes": breakdown,
        "winrm_scripts_per_step": {k: v for k, v in scripts.items() if k in per_kind},
    }
    for kind, figures in breakdown.items():
        migrating = (f", migrations running {figures['migrating_seconds']:.2f} s" if "migrating_seconds" in figures
                     else "")
        calls = scripts.get(kind, {})
        wire = ", ".join(f"{n['per_step']:g}× {op} ({n['median_ms']:.0f} ms)" for op, n in calls.items())
        print(f"   {kind:34s} {figures['wall_seconds']:7.2f} s (its bound {figures['bound_seconds']:6.2f} s{migrating})"
              + (f"\n      per step: {wire}" if wire else ""))
    print(f"   remediation of {NODES} nodes x {VMS_PER_NODE} VMs: {makespan:.1f} s, bound {bound:.1f} s "
          f"→ ratio {makespan / bound:.3f}")


def _refusals(events: list[dict]) -> int:
    return sum(1 for e in events if e["event"] == "migration-refused")


def bench_evacuation(results: dict) -> None:
    """One node's evacuation (the remediation's own step, in a cluster where only that node needs
    updates) against its bound, then the cluster's own drain of the same node in the same lab (the
    lab's drain runs as many migrations at once as the node's limit, each VM to the node with the
    most free memory when its turn comes). Migrations a host refused for want of memory (or that
    found no node with room) are counted for each."""
    from fabric import agents
    from jobs.models import JobStep
    from lab.testing import LabProcess

    node = "BENCH-N1"
    with LabProcess(topology_text=_topology(EVACUATION_SPEED, needy={node})) as lab:
        timing = lab.timings()
        bound = node_bound(timing["hosts"][node], UPDATES)[0] / timing["speed"]
        cluster, job, _ = _remediate(lab)
        step = JobStep.objects.get(job=job, name="compliance.evacuate_node", target=node)
        ferry = (step.finished - step.started).total_seconds()
        ferry_refused = _refusals(lab.events())
        seen = len(lab.events())
        conn = agents.Connection.for_endpoint(cluster.nodes.exclude(name=node).order_by("name").first())
        before = time.monotonic()
        agents.cluster.suspend_node(conn, node, drain=True)
        drain = time.monotonic() - before
        drain_refused = _refusals(lab.events()[seen:])
        agents.cluster.resume_node(conn, node, failback="Immediate")
    results["evacuation_ratio"] = round(ferry / bound, 3)
    results["evacuation_vs_drain"] = round(ferry / drain, 3)
    results["evacuation_vs_naive"] = results["evacuation_vs_drain"]  # the older name of the same figure
    results["evacuation"] = {"node": node, "vms": VMS_PER_NODE, "ferry_seconds": round(ferry, 2),
                             "lower_bound_seconds": round(bound, 2), "drain_seconds": round(drain, 2),
                             "evacuation_ratio_divided_by": "the node's evacuation bound",
                             "evacuation_vs_drain_divided_by": "Suspend-ClusterNode -Drain of the same node",
                             "over_commit_refusals": {"ferry": ferry_refused, "drain": drain_refused},
                             "lab_speed": timing["speed"]}
    print(f"   evacuation of {node} ({VMS_PER_NODE} VMs): Ferry {ferry:.2f} s, bound {bound:.2f} s, "
          f"the cluster's drain {drain:.2f} s; over-commit refusals: Ferry {ferry_refused}, drain {drain_refused}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux), 0 where /proc cannot tell."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_scan(results: dict) -> None:
    """A scan job over 1,000 lab hosts ÷ max(one host's scan in the lab, Ferry's own CPU per host scan
    × hosts ÷ cores). The CPU is this process's (the worker's) during the same scan, so a slower
    concurrency setting cannot make the figure look better."""
    from compliance.orchestration import scan_concurrency, submit_scan
    from fabric.models import Host, HostGroup
    from lab.generate import render, scan_topology
    from lab.testing import LabProcess

    text = render(scan_topology(SCAN_HOSTS, speed=SCAN_SPEED))
    widths = [int(w) for w in os.environ.get("FERRY_BENCH_SCAN_WIDTHS", "").split(",") if w] or [scan_concurrency()]
    runs = []
    with LabProcess(topology_text=text, startup_timeout=180) as lab:
        timings = lab.timings()
        scan_seconds = next(t["scan_seconds"] for n, t in timings["hosts"].items() if n.startswith("SRV"))
        one_host = scan_seconds / timings["speed"]
        _sync_and_assign(lab)
        farm = HostGroup.objects.get_or_create(name="Scan farm", parent=HostGroup.root())[0]
        servers = [e for e in lab.endpoints["hosts"] if e["name"].startswith("SRV")]
        run_as = _run_as(servers[0])
        # registered straight from the endpoints file: discovery is not what is measured here
        Host.objects.bulk_create([
            Host(name=e["name"], address=e["address"], host_group=farm, winrm_port=_plain(e)["port"],
                 winrm_https=False, winrm_transport=e["winrm"]["transport"], allow_insecure=True, run_as=run_as)
            for e in servers
        ])
        cores = os.cpu_count() or 1
        for width in widths:
            os.environ["FERRY_SCAN_CONCURRENCY"] = str(width)
            job, _ = submit_scan(farm)
            cpu, lab_cpu, started = time.process_time(), _cpu_seconds(lab.process.pid), time.monotonic()
            _finish(job)
            wall, cpu = time.monotonic() - started, time.process_time() - cpu
            lab_cpu = _cpu_seconds(lab.process.pid) - lab_cpu
            per_host = cpu / len(servers)
            bound = max(one_host, per_host * len(servers) / cores)
            peak = lab.scan_peak() if hasattr(lab, "scan_peak") else None
            runs.append({"concurrency": width, "wall_seconds": round(wall, 2), "bound_seconds": round(bound, 2),
                         "ratio": round(wall / bound, 3), "cpu_ms_per_host": round(per_host * 1000, 2),
                         "lab_cpu_ms_per_host": round(lab_cpu * 1000 / len(servers), 2),
                         "peak_scans_in_lab": peak})
            print(f"   scan of {len(servers)} hosts, {width} at once: {wall:.1f} s; bound max({one_host:.1f} s one "
                  f"host, {per_host * 1000:.1f} ms CPU × {len(servers)} ÷ {cores} cores) = {bound:.1f} s "
                  f"→ ratio {wall / bound:.3f}; the lab's own CPU {lab_cpu * 1000 / len(servers):.1f} ms per host "
                  f"on the same cores")
        os.environ.pop("FERRY_SCAN_CONCURRENCY", None)
    chosen = runs[-1]
    results["scan_ratio"] = chosen["ratio"]
    results["scan"] = {"hosts": len(servers), "divided_by": "max(one host's scan in the lab, Ferry's CPU per host "
                       "scan × hosts ÷ cores)", "cores": cores, "lab_scan_seconds": scan_seconds,
                       "lab_speed": timings["speed"], "runs": runs, **chosen}


def bench_compliance_view(results: dict) -> None:
    """The Compliance view's server time at 1,000 hosts ÷ at 100 hosts, and its SQL queries."""
    import statistics
    from io import StringIO

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from compliance import baselines as bl
    from compliance.evaluation import ScanResult, record_scan, update_key
    from compliance.models import Baseline, Update, UpdateServer
    from fabric.models import Host, HostGroup

    server = UpdateServer.objects.get_or_create(name="VIEW-WSUS", defaults={"address": "view-wsus.contoso.com"})[0]
    updates = [Update.objects.get_or_create(server=server, update_id=f"00000000-0000-4000-8000-{i:012d}",
                                            defaults={"kb": str(5090000 + i), "title": f"KB{5090000 + i}",
                                                      "classification": "Security Updates"})[0] for i in range(5)]
    baseline = Baseline.objects.get_or_create(name="View bench")[0]
    bl.set_picked_updates(baseline, updates)
    bl.assign(baseline, HostGroup.root())
    user = get_user_model().objects.get_or_create(username="bench-compliance-viewer")[0]
    user.groups.add(Group.objects.get(name="viewer"))
    figures = {}
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        client = Client()
        client.force_login(user)
        for size in (100, 1000):
            call_command("generate_fabric", hosts=size, vms=size * 5, prefix="cv", replace=True, stdout=StringIO())
            for i, host in enumerate(Host.objects.filter(name__startswith="cv")):
                keys = [update_key(u.update_id, u.kb) for u in updates]
                installed = set().union(*keys[: i % 6])
                missing = set().union(*keys[i % 6:]) if i % 6 < 5 else set()
                record_scan(host, ScanResult(installed=installed, missing=missing))
            for _ in range(2):
                client.get("/compliance/")
            timings = []
            for _ in range(9):
                started = time.perf_counter()
                assert client.get("/compliance/").status_code == 200
                timings.append(time.perf_counter() - started)
            with CaptureQueriesContext(connection) as queries:
                client.get("/compliance/")
            figures[size] = (statistics.median(timings) * 1000, len(queries))
            print(f"   compliance view at {size} hosts: {figures[size][0]:.0f} ms, {figures[size][1]} queries")
    results["compliance_view_ratio_1000_vs_100"] = round(figures[1000][0] / figures[100][0], 2)
    results["compliance_view"] = {"ms": {str(k): round(v[0], 1) for k, v in figures.items()},
                                  "queries_per_page": {str(k): v[1] for k, v in figures.items()}}


PARTS = {"makespan": bench_remediation, "evacuation": bench_evacuation, "scan": bench_scan,
         "view": bench_compliance_view}


def run(results: dict) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import override_settings

    os.environ.setdefault("FERRY_COMPLIANCE_POLL_SECONDS", "0.1")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        parts = {p.strip() for p in os.environ.get("FERRY_BENCH_REMEDIATION_PARTS", "").split(",") if p.strip()}
        wanted = parts or set(PARTS)
        with override_settings(FERRY_JOBS={"RETRY_DELAY_SECONDS": 1.0, "SLICE_SECONDS": 3600.0}):
            for part in ("makespan", "evacuation", "scan"):
                if part in wanted:
                    PARTS[part](results)
        if "view" in wanted:
            bench_compliance_view(results)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
