"""Server time and SQL queries of the inventory pages at 100 and at 1,000 hosts.

Two throw-away test databases (never the demo's) are filled by `generate_fabric` (25 VMs per
host, 16-node clusters). Each page is rendered in-process through the whole Django stack
(middleware, view, templates, database) as a logged-in viewer. The machines are shared and their
speed drifts by a factor of two within a minute, so the two sizes are measured in alternating
rounds (each round switches the database between requests); the ratio is the median of the
per-round ratios, each taken from two measurements a fraction of a second apart.
"""
import statistics
import time
from io import StringIO

PAGES = ("host_list", "cluster_page", "vm_list")
SIZES = (100, 1000)
VMS_PER_HOST = 25
WARMUP = 3
ROUNDS = 20


def _urls() -> dict[str, str]:
    from django.urls import reverse

    from fabric.models import Cluster

    cluster = Cluster.objects.filter(kind="hyperv").order_by("name").first()
    return {
        "host_list": reverse("fabric:server_list"),
        "cluster_page": cluster.get_absolute_url(),
        "vm_list": reverse("fabric:vm_list"),
    }


def _use(database: dict) -> None:
    """Point the default connection at another database (the settings stay the same otherwise)."""
    from django.db import connection

    connection.close()
    connection.settings_dict.update(database)


def _get(client, url) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    return elapsed * 1000


def _count_queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        client.get(url)
    return len(context.captured_queries)


def _viewer_client():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    user = get_user_model().objects.create_user("bench-viewer", password=None)
    user.groups.add(Group.objects.get(name="viewer"))
    client = Client()
    client.force_login(user)
    return client


def _measure(client, databases: dict) -> dict:
    urls, queries = {}, {}
    for hosts, database in databases.items():
        _use(database)
        urls[hosts] = _urls()
        for _ in range(WARMUP):
            for url in urls[hosts].values():
                _get(client, url)
        queries[hosts] = {page: _count_queries(client, url) for page, url in urls[hosts].items()}
    timings = {(page, hosts): [] for page in PAGES for hosts in databases}
    for round_number in range(ROUNDS):
        order = list(databases) if round_number % 2 == 0 else list(reversed(databases))
        for hosts in order:
            _use(databases[hosts])
            _get(client, urls[hosts]["host_list"])  # the first request after a switch pays the connection
            for page, url in urls[hosts].items():
                timings[(page, hosts)].append(_get(client, url))
    small, large = databases
    paired = {page: statistics.median(l / s for s, l in zip(timings[(page, small)], timings[(page, large)]))
              for page in PAGES}
    return {"ms": {key: statistics.median(values) for key, values in timings.items()}, "ratio": paired,
            "queries": queries}


def run(results: dict) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import override_settings

    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    base = {"NAME": connection.settings_dict["NAME"]}
    small, large = SIZES
    cloned = False
    try:
        with override_settings(ALLOWED_HOSTS=["testserver"]):
            client = _viewer_client()  # its session exists in both databases
            connection.close()  # flush SQLite's WAL into the file before it is copied
            connection.creation.clone_test_db(suffix="large", verbosity=0, autoclobber=True)
            cloned = True
            databases = {small: base, large: {"NAME": connection.creation.get_test_db_clone_settings("large")["NAME"]}}
            for hosts, database in databases.items():
                _use(database)
                started = time.monotonic()
                call_command("generate_fabric", hosts=hosts, vms=hosts * VMS_PER_HOST, stdout=StringIO())
                print(f"   generated {hosts} hosts / {hosts * VMS_PER_HOST} VMs in {time.monotonic() - started:.1f} s")
            figures = _measure(client, databases)
    finally:
        _use(base)
        if cloned:
            connection.creation.destroy_test_db(old_name, verbosity=0, suffix="large")
        connection.creation.destroy_test_db(old_name, verbosity=0)

    detail = results.setdefault("page_ratio_1000_vs_100_detail", {})
    queries = results.setdefault("queries_per_page", {})
    for page in PAGES:
        ms_small, ms_large = figures["ms"][(page, small)], figures["ms"][(page, large)]
        detail[page] = {
            f"ms_at_{small}": round(ms_small, 2), f"ms_at_{large}": round(ms_large, 2),
            "ratio": round(figures["ratio"][page], 3),  # median of the per-round ratios
        }
        queries[page] = {f"at_{hosts}": figures["queries"][hosts][page] for hosts in SIZES}
        print(f"   {page:13} {ms_small:7.1f} ms at {small}, {ms_large:7.1f} ms at {large} hosts "
              f"(ratio {detail[page]['ratio']}), queries {queries[page]}")
    worst = max(d["ratio"] for d in detail.values())
    results["page_ratio_1000_vs_100"] = round(max(worst, results.get("page_ratio_1000_vs_100", 0)), 3)
    results["queries_per_page_flat"] = all(len(set(v.values())) == 1 for v in queries.values())
    print(f"   page_ratio_1000_vs_100 (worst page) = {results['page_ratio_1000_vs_100']}; "
          f"queries flat: {results['queries_per_page_flat']}")
