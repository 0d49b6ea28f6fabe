"""The rolling upgrade of an 8-node lab cluster against its lower bound.

upgrade_makespan_ratio: the job (start to end) ÷ Σ over nodes of (evacuation LB + the lab's
deployment time + the restart that finishes the features + return LB), with the lab's speed set
so that bound is about 60 s of wall time. Jobs run in this process as a worker would run them.
"""
import os
import time

NODES, VMS_PER_NODE, VM_GB = 8, 4, 4.0
TARGET_BOUND_SECONDS = 60.0


def topology(speed: float) -> str:
    vms = ", ".join(f'{{ name = "bu-vm{n}-{i}", owner = "BU-N{n}", memory_gb = {VM_GB} }}'
                    for n in range(1, NODES + 1) for i in range(1, VMS_PER_NODE + 1))
    nodes = "\n".join(f'[[clusters.nodes]]\nname = "BU-N{n}"\nos = "2019"\n' for n in range(1, NODES + 1))
    return f"""
[lab]
name = "upgrade-bench"
domain = "contoso.com"
speed = {speed}
paused_vm_grace_seconds = 3600.0

[defaults]
memory_gb = 128.0
reboot_seconds = 240.0
boot_seconds = 180.0
deploy_seconds = 1500.0
shutdown_seconds = 15.0
credssp = true

[[clusters]]
name = "BU19"
kind = "hyperv"
witness = true
vms = [{vms}]

{nodes}
[deployment_server]
name = "BUWDS"
os = "2022"
bmc = false
images = [
  {{ name = "Windows Server 2022 SERVERDATACENTER", os = "2022", group = "WS2022", file = "WS2022.vhdx" }},
]
"""


def node_bound(timing: dict) -> float:
    from fabric.nodeops.planner import evacuation_lower_bound

    running = [vm["memory_bytes"] for vm in timing["vms"].values() if vm["state"] == "Running"]
    evac = evacuation_lower_bound(running, timing["migration_bandwidth_bytes_per_second"], timing["max_migrations"])
    return evac + timing["deploy_seconds"] + timing["reboot_seconds"] + evac


def bench_upgrade(results: dict) -> None:
    from lab.testing import LabProcess
    from tests.compliance.labenv import finish
    from tests.upgrades.rolling_lab import bring_in, request_for
    from upgrades.orchestration import submit_upgrade

    with LabProcess(topology_text=topology(1.0)) as lab:      # speed 1: read the durations only
        timings = lab.timings()["hosts"]
    sim_bound = sum(node_bound(t) for name, t in timings.items() if name.startswith("BU-N"))
    with LabProcess(topology_text=topology(round(sim_bound / TARGET_BOUND_SECONDS, 3))) as lab:
        speed = lab.timings()["speed"]
        bound = sum(node_bound(t) for n, t in lab.timings()["hosts"].items() if n.startswith("BU-N")) / speed
        cluster, profile, bmc_run_as, subnet = bring_in(lab, "BU19")
        job, _ = submit_upgrade(request_for(lab, cluster, profile, bmc_run_as, subnet))
        started = time.monotonic()
        job = finish(job, limit=1800)
        makespan = time.monotonic() - started
        if job.status != "succeeded":
            raise RuntimeError(f"job #{job.pk} {job.status}: {job.error}")
    results["upgrade_makespan_ratio"] = round(makespan / bound, 3)
    results["upgrade_makespan"] = {"wall_seconds": round(makespan, 2), "lower_bound_seconds": round(bound, 2),
                                   "lab_speed": speed, "nodes": NODES, "vms_per_node": VMS_PER_NODE}
    print(f"   upgrade of {NODES} nodes x {VMS_PER_NODE} VMs: {makespan:.1f} s, bound {bound:.1f} s "
          f"→ ratio {makespan / bound:.3f}")


def run(results: dict) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import override_settings

    os.environ.setdefault("FERRY_COMPLIANCE_POLL_SECONDS", "0.1")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with override_settings(FERRY_JOBS={"RETRY_DELAY_SECONDS": 1.0, "SLICE_SECONDS": 3600.0}):
            bench_upgrade(results)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
