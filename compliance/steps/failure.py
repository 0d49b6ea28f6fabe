"""What a failed remediation leaves a node in, named from the lane's steps and the cluster's own
view of the node, recorded on the host until it is back in service; and the inventory refresh a
failed remediation does before it ends (so no page shows VMs on a node they left)."""
from __future__ import annotations

import logging

from compliance.steps import remediate as steps
from fabric import agents
from fabric.choices import ClusterKind
from fabric.models import Cluster, Host
from fabric.nodeops.live import cluster_connection
from fabric.nodeops.records import Evacuated
from jobs.choices import StepStatus
from jobs.engine.registry import NodeFailure, describe_node_failure, on_job_failure
from jobs.models import Job, JobStep

logger = logging.getLogger("ferry.jobs")

WHAT_FAILED = {
    steps.CHECK: "it could not be checked",
    steps.EVACUATE: "its evacuation failed",
    steps.SAVE_VMS: "saving its VMs failed",
    steps.SAVE_VMS_AND_PAUSE: "saving its VMs failed",
    steps.INSTALL: "installing its updates failed",
    steps.RESTART: "it did not come back after its restart",
    steps.RESUME: "it could not be resumed",
    steps.RETURN_VMS: "its VMs could not be brought back",
    steps.START_SAVED: "its saved VMs could not be started",
    steps.VERIFY: "it is still not compliant",
}
NODE_STEPS = tuple(WHAT_FAILED)


def _live_state(host: Host) -> str:
    """The node's state as its cluster sees it now ("" when the cluster does not answer)."""
    try:
        return agents.cluster.get_cluster_node(cluster_connection(host.cluster, avoid=host.name), host.name).state
    except agents.AgentError:
        return ""


def _names(names) -> str:
    names = sorted(set(names))
    return ", ".join(names)


@describe_node_failure(*NODE_STEPS)
def remediation_node_failure(job: Job, step: JobStep, stated: str) -> NodeFailure | None:
    host = Host.objects.select_related("cluster").filter(pk=(step.params or {}).get("host_id")).first()
    if host is None:
        return None
    lane = {s.name: s for s in JobStep.objects.filter(parent_id=step.parent_id)}
    done = {name for name, s in lane.items() if s.status in (StepStatus.SUCCEEDED, StepStatus.SKIPPED)}
    evacuation = next((lane[n] for n in steps.EVACUATIONS if n in lane), None)
    evacuated = Evacuated.from_data(evacuation.data if evacuation else None)
    recovered = bool(lane.get(steps.INSTALL) and lane[steps.INSTALL].data.get("recovered"))
    returned = recovered or any(lane[n].status == StepStatus.SUCCEEDED for n in steps.RETURNS if n in lane)
    clustered = host.cluster is not None
    state = _live_state(host) if clustered else ""
    parts = [] if clustered else ["a standalone host"]
    if clustered:
        parts.append({"Up": "Up", "Paused": "paused", "Down": f"Down in {host.cluster.name}"}.get(
            state, f"{state} in {host.cluster.name}" if state else f"not answering for {host.cluster.name}"))
    if host.cluster is not None and host.cluster.kind == ClusterKind.SOFS:
        if evacuation is not None and evacuation.status == StepStatus.SUCCEEDED:
            parts.append("its file-server roles and volumes moved to the other nodes")
    elif not returned and (evacuated.moved or evacuated.saved):
        if evacuated.moved:
            parts.append(f"its VMs moved to {_names(m.target for m in evacuated.moved.values())}")
        if evacuated.saved:
            parts.append(f"its VMs saved ({_names(evacuated.saved.values())})")
    elif returned and not evacuated.empty:
        parts.append("its VMs are back")
    what = WHAT_FAILED.get(step.name, "a step failed")
    if steps.INSTALL in done and step.name != steps.INSTALL and lane[steps.INSTALL].status == StepStatus.SUCCEEDED:
        what = f"updates installed; {what}"
    text = ", ".join(parts)
    text = f"{text}; {what}" if text else what
    vms_home = returned or evacuated.empty
    in_service = (state == "Up" if clustered else True) and vms_home
    resumable = clustered and not in_service and job.kind == "remediation"
    Host.objects.filter(pk=host.pk).update(failure_state=text[:500], failure_job=job)
    return NodeFailure(text, in_service=in_service, resumable=resumable, host_id=host.pk)


@on_job_failure("remediation")
def refresh_after_failure(job: Job) -> None:
    """The nodes the job touched are read again, so their pages show where the VMs are now."""
    from fabric.inventory.refresh import refresh_cluster, refresh_host

    touched = JobStep.objects.filter(job=job, is_group=False, name__in=NODE_STEPS).exclude(
        status=StepStatus.PENDING).values_list("params__host_id", flat=True)
    hosts = list(Host.objects.filter(pk__in=set(touched)).select_related("cluster"))
    clusters = {h.cluster_id for h in hosts if h.cluster_id}
    for cluster in Cluster.objects.filter(pk__in=clusters):
        refresh_cluster(cluster)
    for host in hosts:
        if not host.cluster_id:
            refresh_host(host)
    job.write_log(f"Inventory refreshed: {', '.join(h.name for h in hosts) or 'no node was touched'}.")

