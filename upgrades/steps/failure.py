"""What a failed rolling upgrade leaves a node in: the state its step named, or the one its lane's
progress implies, recorded on the host until the node is back in service; and the cluster's
inventory read again before the job ends."""
from __future__ import annotations

from fabric.models import Cluster, Host
from jobs.choices import StepStatus
from jobs.engine.registry import NodeFailure, describe_node_failure, on_job_failure
from jobs.models import Job, JobStep
from upgrades.rolling import EVACUATE, EVICT, JOIN, MANAGE, POST_SCRIPT, PRE_SCRIPT, PROVISION, RECORD, UNMANAGE

# The node's state when the step failed without naming it (an unexpected error).
UNNAMED = {
    RECORD: "in service; nothing was changed",
    PRE_SCRIPT: "in service, still a node of {cluster}; its pre-script failed before anything moved",
    EVACUATE: "still a node of {cluster}; its evacuation failed",
    EVICT: "still a node of {cluster}, evacuated; its eviction failed",
    UNMANAGE: "evicted from {cluster}; removing it from management failed",
    PROVISION: "evicted and out of management; its re-imaging failed",
    MANAGE: "re-imaged, not yet back under management",
    JOIN: "re-imaged and back under management, not yet a node of {cluster} again",
    POST_SCRIPT: "re-imaged and a node of {cluster} again, resumed with its VMs back; its post-script failed",
}


@describe_node_failure(*UNNAMED)
def upgrade_node_failure(job: Job, step: JobStep, stated: str) -> NodeFailure | None:
    host = Host.objects.filter(pk=(step.params or {}).get("host_id")).first()
    if host is None:
        return None
    cluster = Cluster.objects.filter(pk=(job.params or {}).get("cluster_id")).first()
    state = stated.strip().rstrip(".")
    prefix = f"{host.name} is "
    if state.lower().startswith(prefix.lower()):
        state = state[len(prefix):]
    if not state:
        state = UNNAMED[step.name].format(cluster=cluster.name if cluster else "its cluster")
    earlier = JobStep.objects.filter(parent_id=step.parent_id, order__lt=step.order).exclude(
        status__in=(StepStatus.SUCCEEDED, StepStatus.SKIPPED))
    in_service = step.name in (RECORD, PRE_SCRIPT, POST_SCRIPT) and not earlier.exists()
    Host.objects.filter(pk=host.pk).update(failure_state=state[:500], failure_job=job)
    return NodeFailure(state, in_service=in_service, resumable=False, host_id=host.pk)


@on_job_failure("rolling_upgrade")
def refresh_after_failure(job: Job) -> None:
    from fabric.inventory.refresh import refresh_cluster

    cluster = Cluster.objects.filter(pk=(job.params or {}).get("cluster_id")).first()
    if cluster is not None:
        for problem in refresh_cluster(cluster):
            job.write_log(f"Inventory refresh: {problem}", "warning")
        job.write_log(f"Inventory of {cluster.name} refreshed.")
