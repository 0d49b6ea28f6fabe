"""Server time and SQL queries of Ferry's pages at 100, 1,000 and 10,000 hosts.

Each size is a database of its own, filled by `generate_fabric`: 25 VMs per host, 16-node
clusters plus one of 64 nodes, two baselines in force on every host with the states scans leave,
and 10 jobs per host (100,000 at 10,000 hosts) with their steps. Generating 10,000 hosts takes
minutes, so each database is kept under `.bench/pages/`, named after the generator's source and
its options: a later run migrates it and reuses it (`make clean` removes it).

Each page is rendered in-process through the whole Django stack (middleware, view, templates,
database) as a signed-in operator. The machines are shared and their speed drifts by a factor of
two within a minute, so the sizes are measured in alternating rounds (each round switches the
database between requests, in a changing order); a ratio is the median of the per-round ratios,
each taken from measurements a fraction of a second apart. Query counts are taken once per page
and size with CaptureQueriesContext.
"""
import hashlib
import json
import os
import statistics
import time
from functools import partial
from io import StringIO
from pathlib import Path

# FERRY_BENCH_PAGE_SIZES=100,1000 measures fewer sizes (the first is the one divided by)
SIZES = tuple(int(n) for n in os.environ.get("FERRY_BENCH_PAGE_SIZES", "100,1000,10000").split(","))
VMS_PER_HOST = 25
JOBS_PER_HOST = 10
LARGE_CLUSTER = 64
WARMUP = 2
ROUNDS = 12
PREFIX = "syn"
OPERATOR = "bench-operator"
CACHE = Path(".bench/pages")

DIVIDED_BY = "the same page's server time at 100 hosts (2,500 VMs, 1,000 jobs), median of per-round ratios"


def _options(hosts: int) -> dict:
    return {"hosts": hosts, "vms": hosts * VMS_PER_HOST, "jobs": hosts * JOBS_PER_HOST,
            "large_cluster": LARGE_CLUSTER, "compliance": True, "prefix": PREFIX}


def _database_file(hosts: int) -> Path:
    import fabric.management.commands.generate_fabric as generator

    source = Path(generator.__file__).read_bytes()
    key = hashlib.sha256(source + json.dumps(_options(hosts), sort_keys=True).encode()).hexdigest()[:12]
    return CACHE / f"fabric-{hosts}-{key}.sqlite3"


def _use(name) -> None:
    """Point the default connection at another SQLite file (the settings stay the same otherwise)."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = str(name)


def _prepare(hosts: int) -> tuple[Path, float | None]:
    """The database of one size: reused when an earlier run made it, else generated now."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    path = _database_file(hosts)
    if path.exists():
        _use(path)
        call_command("migrate", verbosity=0)
        return path, None
    CACHE.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.glob(f"fabric-{hosts}-*"):
        stale.unlink()
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    _use(partial)
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user(OPERATOR, password=None)
    user.groups.add(Group.objects.get(name="operator"))
    started = time.monotonic()
    call_command("generate_fabric", stdout=StringIO(), **_options(hosts))
    took = time.monotonic() - started
    _use(partial)  # closes the connection, so SQLite folds its WAL into the file
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    partial.rename(path)
    for suffix in ("-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    return path, took


def _pages(clusters_shown: int) -> dict[str, tuple[str, dict]]:
    """(url, extra headers) of every page measured, pointed at this database's objects.

    The cluster list shows `clusters_shown` rows at every size: the 100-host fabric has only a
    few clusters, so its page is short where the larger fabrics fill a page of 50, and the ratio
    measured the rows drawn (about 1 ms each), not the size of the fabric. Every other list
    already shows a full page at 100 hosts."""
    from django.urls import reverse

    from fabric.models import Cluster

    large = Cluster.objects.get(name=f"{PREFIX}-c001")  # the 64-node cluster
    typical = Cluster.objects.get(name=f"{PREFIX}-c002")  # 16 nodes at every size
    return {
        "host_list": (reverse("fabric:server_list"), {}),
        "host_search": (reverse("fabric:server_list") + f"?q={PREFIX}-c002-n", {}),
        "vm_list": (reverse("fabric:vm_list"), {}),
        "vm_search": (reverse("fabric:vm_list") + f"?q={PREFIX}-vm-0001", {}),
        "cluster_list": (reverse("fabric:cluster_list") + f"?per_page={clusters_shown}", {}),
        "cluster_page": (typical.get_absolute_url(), {}),
        "file_server_list": (reverse("fabric:fileserver_list"), {}),
        "compliance_view": (reverse("compliance:compliance"), {}),
        "compliance_search": (reverse("compliance:compliance") + f"?q={PREFIX}-c002", {}),
        "remediate_dry_run_64_nodes": (reverse("compliance:remediate") + f"?selected=cluster:{large.pk}",
                                       {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "modal"}),
        "job_list": (reverse("jobs:job_list"), {}),
        "job_list_active": (reverse("jobs:job_list") + "?status=active", {}),
        "update_list": (reverse("compliance:update_list"), {}),
        "baseline_list": (reverse("compliance:baseline_list"), {}),
    }


INDICATOR = "running_jobs_indicator"


def _get(client, url, headers) -> float:
    started = time.perf_counter()
    response = client.get(url, **headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    return elapsed * 1000


def _indicator() -> float:
    """The running-jobs indicator of the top bar, as every page renders it."""
    from django.template.loader import render_to_string

    from jobs.live.render import indicator_context

    started = time.perf_counter()
    render_to_string("jobs/_indicator.html", {**indicator_context(), "socket": True})
    return (time.perf_counter() - started) * 1000


def _queries(call) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        call()
    return len(context.captured_queries)


def _measure(files: dict[int, Path]) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from fabric.choices import ClusterKind
    from fabric.models import Cluster

    clients, pages, queries = {}, {}, {}
    clusters_shown = None
    for hosts, path in files.items():
        _use(path)
        clients[hosts] = Client()
        clients[hosts].force_login(get_user_model().objects.get(username=OPERATOR))
        if clusters_shown is None:  # the smallest fabric comes first: all its clusters on one page
            clusters_shown = Cluster.objects.filter(kind=ClusterKind.HYPERV).count()
        pages[hosts] = _pages(clusters_shown)
        for _ in range(WARMUP):
            for url, headers in pages[hosts].values():
                _get(clients[hosts], url, headers)
        queries[hosts] = {name: _queries(partial(_get, clients[hosts], url, headers))
                          for name, (url, headers) in pages[hosts].items()}
        queries[hosts][INDICATOR] = _queries(_indicator)
    names = [*pages[SIZES[0]], INDICATOR]
    timings = {(name, hosts): [] for name in names for hosts in files}
    orders = [list(files), list(reversed(files)), list(files)[1:] + list(files)[:1]]
    for round_number in range(ROUNDS):
        for hosts in orders[round_number % len(orders)]:
            _use(files[hosts])
            client = clients[hosts]
            _get(client, *pages[hosts]["cluster_list"])  # the first request after a switch pays the connection
            for name, (url, headers) in pages[hosts].items():
                timings[(name, hosts)].append(_get(client, url, headers))
            timings[(INDICATOR, hosts)].append(statistics.median(_indicator() for _ in range(5)))
    small = SIZES[0]
    ratios = {
        hosts: {name: statistics.median(l / s for s, l in zip(timings[(name, small)], timings[(name, hosts)]))
                for name in names}
        for hosts in SIZES[1:]
    }
    return {"ms": {key: statistics.median(values) for key, values in timings.items()}, "ratio": ratios,
            "queries": queries, "names": names}


def run(results: dict) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import override_settings

    base = connection.settings_dict["NAME"]
    generated = {}
    try:
        files = {}
        for hosts in SIZES:
            started = time.monotonic()
            files[hosts], took = _prepare(hosts)
            if took is None:
                print(f"   {hosts} hosts: reusing {files[hosts]} ({time.monotonic() - started:.1f} s to migrate)")
            else:
                generated[hosts] = round(took, 1)
                print(f"   generated {hosts} hosts / {hosts * VMS_PER_HOST} VMs / {hosts * JOBS_PER_HOST} jobs "
                      f"in {took:.1f} s")
        with override_settings(ALLOWED_HOSTS=["testserver"]):
            figures = _measure(files)
    finally:
        _use(base)

    small = SIZES[0]
    detail, per_page_queries, flat = {}, {}, {}
    for name in figures["names"]:
        detail[name] = {f"ms_at_{hosts}": round(figures["ms"][(name, hosts)], 2) for hosts in SIZES}
        detail[name].update({f"ratio_{hosts}_vs_{small}": round(figures["ratio"][hosts][name], 3)
                             for hosts in SIZES[1:]})
        per_page_queries[name] = {f"at_{hosts}": figures["queries"][hosts][name] for hosts in SIZES}
        flat[name] = len(set(per_page_queries[name].values())) == 1
        print(f"   {name:27} " + ", ".join(f"{figures['ms'][(name, h)]:6.1f} ms" for h in SIZES)
              + f" at {'/'.join(map(str, SIZES))} hosts; ratios "
              + ", ".join(f"{figures['ratio'][h][name]:.2f}" for h in SIZES[1:])
              + f"; queries {per_page_queries[name]}")

    for hosts in SIZES[1:]:
        pages = {name: detail[name][f"ratio_{hosts}_vs_{small}"] for name in figures["names"]}
        worst = max(pages, key=pages.get)
        results[f"page_ratio_{hosts}_vs_{small}"] = {
            "max": pages[worst], "worst_page": worst, "pages": pages,
            "divided_by": f"each page's server time at {hosts:,} hosts ÷ {DIVIDED_BY}; max is the worst page",
        }
        print(f"   page_ratio_{hosts}_vs_{small} = {pages[worst]} ({worst})")
    if 10000 in SIZES[1:]:
        results[f"compliance_view_ratio_10000_vs_{small}"] = {
            "value": detail["compliance_view"][f"ratio_10000_vs_{small}"],
            "divided_by": f"the Compliance view's server time at 10,000 hosts (two baselines on every host, "
                          f"mixed states) ÷ at {small} hosts, median of per-round ratios",
        }
    results["queries_per_page_flat"] = {
        "value": all(flat.values()), "pages": flat, "queries": per_page_queries,
        "divided_by": "nothing: SQL queries per page counted at each size ("
                      + ", ".join(f"{h:,}" for h in SIZES) + " hosts); true when a page needs the same number "
                      "at every size",
    }
    results["queries_per_page"] = per_page_queries
    if len(SIZES) > 1:
        results[f"page_ratio_{SIZES[1]}_vs_{small}_detail"] = detail
    results["page_times_ms"] = {
        "pages": detail,
        "divided_by": "nothing: absolute server times in milliseconds on this machine (median of the rounds); "
                      "compare only within one run",
    }
    results["fabric_generation_seconds"] = {
        "generated": {str(h): s for h, s in generated.items()},
        "divided_by": "nothing: absolute wall seconds of generate_fabric on this machine for the sizes "
                      "generated in this run (a size reused from .bench/pages/ is not listed)",
    }
    print(f"   queries flat: {results['queries_per_page_flat']['value']}")
