"""Resume node: after a job failed on a cluster node and the machine is fixed, resume the node in its
cluster and bring back the VMs that job moved off it. A job of its own, under the cluster's lock, so
no other job acts on the cluster meanwhile; it looks at the real state first like every node step.
"""
from __future__ import annotations

from django.db import transaction

from fabric import agents
from fabric.choices import ClusterKind
from fabric.models import Host
from fabric.nodeops.live import cluster_connection
from fabric.nodeops.nodes import NodeTarget, resume
from fabric.nodeops.records import Evacuated
from jobs.choices import InvalidTransition, StepStatus
from jobs.engine import PlanStep, StepFailed, StepResult, register_step
from jobs.events import bump
from jobs.models import Job, JobLogEntry, JobStep

RESUME = "fabric.nodeops.recovery.resume_node"
BRING_BACK = "fabric.nodeops.recovery.bring_vms_back"
FINISH = "fabric.nodeops.recovery.finish"


def resumable_lanes(job: Job) -> list[JobStep]:
    """The failed nodes of `job` that Resume node applies to."""
    if job.is_active:
        return []
    return [lane for lane in JobStep.objects.filter(job=job, is_group=True, status=StepStatus.FAILED).order_by("order")
            if lane.data.get("resumable") and lane.data.get("host_id")]


def submit_resume_node(job: Job, lane_id: int, user=None):
    """(the Resume node job, created). Refused (InvalidTransition) when it does not apply; `created`
    is False when another job holds the cluster."""
    from jobs.engine import submit_job

    lane = next((lane for lane in resumable_lanes(job) if lane.pk == lane_id), None)
    if lane is None:
        raise InvalidTransition(f"Job #{job.pk} has no failed node that Resume node applies to.")
    host = Host.objects.select_related("cluster").filter(pk=lane.data["host_id"]).first()
    if host is None or host.cluster is None:
        raise InvalidTransition(f"{lane.title} is no longer a managed cluster node.")
    params = {"host_id": host.pk, "source_job": job.pk, "source_lane": lane.pk}
    plan = [
        PlanStep(RESUME, title=f"Resume {host.name} in {host.cluster.name}", target=host.name, params=params),
        PlanStep(BRING_BACK, title=f"Bring the VMs back to {host.name}", target=host.name, params=params),
        PlanStep(FINISH, title="Refresh the inventory", target=host.cluster.name, params=params),
    ]
    return submit_job(kind="resume_node", title=f"Resume node {host.name}", target=host, plan=plan,
                      lock_key=f"cluster:{host.cluster_id}", requested_by=user, params=params)


def _node(ctx) -> NodeTarget:
    host = Host.objects.select_related("cluster").get(pk=ctx.params["host_id"])
    if host.cluster is None:
        raise StepFailed(f"{host.name} is no longer a node of a managed cluster.", retry=False)
    return NodeTarget(host, host.cluster)


def _evacuated(ctx) -> Evacuated:
    """What the failed job moved off the node (its lane's evacuation record)."""
    for data in JobStep.objects.filter(parent_id=ctx.params["source_lane"]).order_by("order").values_list("data", flat=True):
        if data and ("moved" in data or "saved" in data):
            return Evacuated.from_data(data)
    return Evacuated()


@register_step(RESUME, retries=1, retry_delay=2, title="Resume the node")
def resume_node(ctx) -> StepResult:
    node = _node(ctx)
    try:
        state = agents.cluster.get_cluster_node(cluster_connection(node.cluster, avoid=node.name), node.name).state
    except agents.AgentError as error:
        raise StepFailed(f"Could not ask {node.cluster.name} about {node.name}: {error}") from error
    if state not in ("Up", "Paused"):
        raise StepFailed(f"{node.name} is {state} in {node.cluster.name}: the machine is not back. Fix it (power, "
                         f"OS, network), then press Resume node again.", retry=False)
    try:
        state = resume(ctx, node)
    except agents.AgentError as error:
        raise StepFailed(f"Resuming {node.name} failed: {error}") from error
    return StepResult(f"{node.name} is {state}")


@register_step(BRING_BACK, retries=1, retry_delay=2, title="Bring the VMs back")
def bring_vms_back(ctx) -> StepResult:
    from fabric.nodeops.workloads.hyperv import return_vms

    node = _node(ctx)
    if node.cluster.kind == ClusterKind.SOFS:
        return StepResult("a file server's roles and volumes stay where they moved", skipped=True)
    evacuated = _evacuated(ctx)
    if evacuated.empty:
        return StepResult(f"no VM left {node.name}", skipped=True)
    try:
        return StepResult(return_vms(ctx, node, evacuated))
    except agents.AgentError as error:
        raise StepFailed(f"Bringing the VMs back to {node.name} failed: {error}") from error


@register_step(FINISH, title="Refresh the inventory")
def finish(ctx) -> StepResult:
    from fabric.inventory.refresh import refresh_cluster

    node = _node(ctx)
    ctx.ensure_lease()
    for problem in refresh_cluster(node.cluster):
        ctx.log(f"Inventory refresh: {problem}", "warning")
    Host.objects.filter(pk=node.host.pk).update(failure_state="", failure_job=None)
    lane = JobStep.objects.filter(pk=ctx.params["source_lane"], job_id=ctx.params["source_job"]).first()
    if lane is not None:
        text = f"back in service after Resume node (job #{ctx.job.pk})"
        with transaction.atomic():
            seq = bump(lane.job_id)
            JobStep.objects.filter(pk=lane.pk).update(
                data={**lane.data, "node_state": text, "in_service": True, "resumable": False},
                message=text, changed_seq=seq)
            JobLogEntry.objects.create(job_id=lane.job_id, step=lane, message=f"{text[:1].upper()}{text[1:]}.", seq=seq)
    node.host.refresh_from_db(fields=["node_state"])
    return StepResult(f"{node.name} is {node.host.get_node_state_display() or 'refreshed'}")
