"""A campaign's parallelism against its lower bound from the lab.

parallel_clusters_ratio: ten identical lab clusters (3 nodes, 2 VMs each, every node missing one
update) remediated as one campaign with parallelism 10 (job start to end) ÷ the slowest single
cluster's time, measured alone before it (an eleventh identical cluster, remediated on its own). 1.0
means ten clusters take no longer than one; the goal is ≤ 1.2. Runs in a throw-away test database;
every job runs in a thread of this process, as a pool of workers would run it.
"""
import copy
import os
import time
from urllib.parse import urlparse

CLUSTERS, NODES, VMS_PER_NODE, UPDATES = 10, 3, 2, 1
SPEED = float(os.environ.get("FERRY_BENCH_CAMPAIGN_SPEED", "20"))  # slower: less of it is CPU
BASELINE = "Sample Baseline for Security Updates"


def _topology() -> str:
    """CLUSTERS + 1 copies of the generated cluster: C00 is remediated alone, C01… in the campaign."""
    from lab.generate import remediation_topology, render

    data = remediation_topology(NODES, VMS_PER_NODE, updates=UPDATES, speed=SPEED, node_memory_gb=64.0,
                                vm_memory_gb=8.0)
    template = data["clusters"][0]
    kbs = [u["kb"] for u in data["updates"]]
    clusters = []
    for c in range(CLUSTERS + 1):
        cluster = copy.deepcopy(template)
        cluster["name"] = f"CAMP-C{c:02d}"
        for node in cluster["nodes"]:
            node["name"] = node["name"].replace("BENCH-N", f"C{c:02d}-N")
            node["missing_updates"] = kbs
        for vm in cluster["vms"]:
            vm["name"] = vm["name"].replace("bench-", f"c{c:02d}-")
            vm["owner"] = vm["owner"].replace("BENCH-N", f"C{c:02d}-N")
        clusters.append(cluster)
    data["clusters"] = clusters
    data["lab"]["name"] = f"campaign-{CLUSTERS + 1}x{NODES}"
    data["defaults"]["https"] = True   # the nodes found through a cluster are reached over HTTPS
    return render(data)


def _https(lab, entry: dict) -> dict:
    return dict(port=urlparse(entry["winrm"]["https_url"]).port, https=True, transport="ntlm",
                ca_path=lab.endpoints["ca_path"])


def _bring_in(lab):
    from compliance import baselines as bl
    from compliance.models import Baseline
    from compliance.orchestration import submit_scan, submit_sync
    from fabric.inventory.discovery import add_update_server, discover_cluster
    from fabric.models import HostGroup, RunAsAccount
    from tests.compliance.labenv import finish

    winrm = lab.entry("C00-N1")["winrm"]
    run_as = RunAsAccount.objects.create(name="bench-campaign", username=winrm["username"], password=winrm["password"])
    clusters = [discover_cluster(lab.entry(f"CAMP-C{c:02d}")["address"], run_as, **_https(lab, lab.entry(f"CAMP-C{c:02d}")))
                for c in range(CLUSTERS + 1)]
    wsus = lab.endpoints["update_server"]
    server = add_update_server(wsus["address"], run_as, wsus_port=wsus["wsus_port"], **_https(lab, wsus))
    finish(submit_sync(server)[0])
    bl.assign(Baseline.objects.get(name=BASELINE), HostGroup.root())
    finish(submit_scan(None)[0])
    return clusters


def bench_parallel_clusters(results: dict) -> None:
    from compliance.campaigns import submit_campaign
    from compliance.orchestration import submit_cluster_remediation
    from compliance.remediation import RemediationOptions
    from lab.testing import LabProcess
    from tests.compliance.labenv import finish_with_workers

    with LabProcess(topology_text=_topology(), startup_timeout=180) as lab:
        clusters = _bring_in(lab)
        single, _ = submit_cluster_remediation(clusters[0], RemediationOptions())
        started = time.monotonic()
        single = finish_with_workers(single, limit=1800)
        alone = time.monotonic() - started
        campaign, _ = submit_campaign(clusters[1:], parallel=CLUSTERS)
        started = time.monotonic()
        campaign = finish_with_workers(campaign, limit=1800)
        together = time.monotonic() - started
        lab.assert_invariants_held()
    if single.status != "succeeded" or campaign.status != "succeeded":
        raise RuntimeError(f"single {single.status}: {single.error}; campaign {campaign.status}: {campaign.error}")
    results["parallel_clusters_ratio"] = round(together / alone, 3)
    results["parallel_clusters"] = {"clusters": CLUSTERS, "parallel": CLUSTERS, "nodes_per_cluster": NODES,
                                    "campaign_wall_seconds": round(together, 2),
                                    "single_cluster_wall_seconds": round(alone, 2), "lab_speed": SPEED}
    print(f"   campaign of {CLUSTERS} clusters at once: {together:.1f} s; one cluster alone {alone:.1f} s "
          f"→ ratio {together / alone:.3f}")


def run(results: dict) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import override_settings

    os.environ.setdefault("FERRY_COMPLIANCE_POLL_SECONDS", "0.1")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with override_settings(FERRY_JOBS={"RETRY_DELAY_SECONDS": 1.0, "SLICE_SECONDS": 3600.0}):
            bench_parallel_clusters(results)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
