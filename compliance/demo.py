"""What `make demo` does for compliance once the lab is discovered: the same jobs an operator runs.

Synchronize the catalog of every update server (which creates the sample baselines), assign the
sample security baseline to All Hosts when nothing is assigned yet, and scan every host — so the
Compliance view has something to show and the demo cluster can be remediated at once.
"""
from compliance import baselines as bl
from compliance.models import Baseline, BaselineAssignment, UpdateServer
from compliance.orchestration import NothingToDo, submit_scan, submit_sync
from fabric.models import HostGroup

DEMO_BASELINE = "Sample Baseline for Security Updates"


def _run(job):
    """Run a job to its end in this process, as a worker would (the lease keeps it single)."""
    from jobs.choices import ACTIVE
    from jobs.engine.runner import run_job

    job.refresh_from_db()
    while job.status in ACTIVE:
        run_job(job.pk)
        job.refresh_from_db()
    return job


def prepare(write=print) -> None:
    for server in UpdateServer.objects.all():
        job = _run(submit_sync(server)[0])
        write(f"Update catalog of {server.name}: {job.get_status_display().lower()}"
              + (f" ({job.error})" if job.error else ""))
    baseline = Baseline.objects.filter(name=DEMO_BASELINE).first()
    if baseline is not None and not BaselineAssignment.objects.exists():
        bl.assign(baseline, HostGroup.root())
        write(f"Assigned {baseline.name} to All Hosts.")
    try:
        job = _run(submit_scan(None)[0])
    except NothingToDo as nothing:
        write(str(nothing))
        return
    write(f"Compliance scan: {job.get_status_display().lower()}" + (f" ({job.error})" if job.error else ""))
