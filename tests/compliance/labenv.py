"""Bringing the compliance test lab into Ferry the way an operator would (discovery), and running
jobs to their end in the test process."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from django.db import connection

TOPOLOGY = Path(__file__).resolve().parent / "lab" / "remediation.toml"
TOPOLOGY_2016 = Path(__file__).resolve().parent / "lab" / "remediation2016.toml"
SPEED = 100.0


def _https_port(entry: dict) -> int:
    return urlparse(entry["winrm"]["https_url"]).port


def bring_in(lab, *, cluster="RCL", standalone="R-SA1", baseline="Sample Baseline for Security Updates",
             transport="ntlm"):
    """Discover the cluster, the standalone host (if any) and the WSUS; sync; assign `baseline` to All Hosts.
    With transport "kerberos" each is named by its FQDN (the lab's addresses are IPs)."""
    from compliance import baselines as bl
    from compliance.models import Baseline
    from fabric.inventory.discovery import add_update_server, discover_cluster, discover_host
    from fabric.models import HostGroup, RunAsAccount

    node = next(h for h in lab.endpoints["hosts"] if h["cluster"] == cluster)["winrm"]
    run_as = RunAsAccount.objects.create(name="lab", username=node["username"], password=node["password"])
    common = dict(https=True, transport=transport, ca_path=lab.endpoints["ca_path"])

    def named(entry):
        return {"fqdn": entry["fqdn"]} if transport == "kerberos" else {}

    cluster = discover_cluster(lab.entry(cluster)["address"], run_as, port=_https_port(lab.entry(cluster)), **common,
                               **named(lab.entry(cluster)))
    lone = (discover_host(lab.entry(standalone)["address"], run_as, port=_https_port(lab.entry(standalone)),
                          **common, **named(lab.entry(standalone)))
            if standalone else None)
    wsus = lab.endpoints["update_server"]
    server = add_update_server(wsus["address"], run_as, port=_https_port(wsus), wsus_port=wsus["wsus_port"],
                               **{**common, "transport": "ntlm"})
    from compliance.orchestration import submit_sync

    job, _ = submit_sync(server)
    finish(job)
    if baseline:
        bl.assign(Baseline.objects.get(name=baseline), HostGroup.root())
    return cluster, lone, server


def finish(job, limit: float = 240.0):
    """Run the job in this process until it ends (as a worker would)."""
    from jobs.choices import ACTIVE
    from jobs.engine.runner import run_job

    deadline = time.monotonic() + limit
    job.refresh_from_db()
    while job.status in ACTIVE:
        if time.monotonic() > deadline:
            raise AssertionError(f"job #{job.pk} did not finish within {limit:g} s")
        run_job(job.pk)
        job.refresh_from_db()
    return job


def scan_all():
    from compliance.orchestration import submit_scan

    job, _ = submit_scan(None)
    return finish(job)


class Watcher:
    """Samples the lab while a job runs: which VMs ran, and the node states seen."""

    def __init__(self, lab, interval: float = 0.05):
        self.lab = lab
        self.interval = interval
        self.samples: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            state = self.lab.state()
            self.samples.append({
                "vms": {vm["name"]: (vm["state"], vm["host"]) for vm in state["vms"]},
                "nodes": {n["name"]: n["state"] for c in state["clusters"] for n in c["nodes"]},
            })
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def not_running(self, names) -> dict[str, set]:
        """VM → states other than Running seen for it."""
        seen: dict[str, set] = {}
        for sample in self.samples:
            for name in names:
                state = sample["vms"].get(name, ("missing", None))[0]
                if state != "Running":
                    seen.setdefault(name, set()).add(state)
        return seen

    def paused_nodes(self) -> set:
        return {n for s in self.samples for n, state in s["nodes"].items() if state == "Paused"}


def close_db():
    connection.close()


def describe(job) -> str:
    """The job's steps and log, for assertion messages."""
    lines = [f"job #{job.pk} {job.status}: {job.error}"]
    for step in job.steps.filter(is_group=False).order_by("order"):
        lines.append(f"  [{step.status}] {step.title}: {step.message}")
    for entry in job.log.order_by("id"):
        lines.append(f"  log {entry.level}: {entry.message}")
    return "\n".join(lines)


def finish_with_workers(job, limit: float = 300.0):
    """Run `job` and every job it starts (a campaign's children) to their ends, each active job in a
    thread of its own, as a pool of workers would."""
    from jobs.choices import ACTIVE
    from jobs.engine.runner import run_job
    from jobs.models import Job

    running: dict[int, threading.Thread] = {}

    def work(job_id):
        try:
            run_job(job_id)
        finally:
            connection.close()

    deadline = time.monotonic() + limit
    job.refresh_from_db()
    while job.status in ACTIVE:
        if time.monotonic() > deadline:
            raise AssertionError(f"job #{job.pk} did not finish within {limit:g} s")
        for job_id in Job.objects.filter(status__in=ACTIVE).values_list("pk", flat=True):
            if job_id not in running or not running[job_id].is_alive():
                running[job_id] = threading.Thread(target=work, args=(job_id,), daemon=True)
                running[job_id].start()
        time.sleep(0.05)
        job.refresh_from_db()
    for thread in running.values():
        thread.join(30)
    return job


def discover_more(lab, *names):
    """Discover further clusters with the Run As account `bring_in` made."""
    from fabric.inventory.discovery import discover_cluster
    from fabric.models import RunAsAccount

    run_as = RunAsAccount.objects.get(name="lab")
    return [discover_cluster(lab.entry(n)["address"], run_as, port=_https_port(lab.entry(n)), https=True,
                             transport="ntlm", ca_path=lab.endpoints["ca_path"]) for n in names]
