"""What the node steps of a rolling remediation share: the node, the options, the guard that skips
a node found compliant, and what the evacuation recorded."""
from __future__ import annotations

import functools

from compliance.choices import UpdateState
from compliance.models import UpdateStatus
from compliance.remediation import RemediationOptions
from compliance.steps.remediate.names import (
    CHECK,
    EVACUATIONS,
    PRECHECK,
)
from fabric import agents
from fabric.models import Host
from fabric.nodeops.nodes import NodeTarget
from fabric.nodeops.records import Evacuated
from jobs.engine import StepFailed, StepResult
from jobs.models import JobStep

# --- helpers shared by the node steps ----------------------------------------------------------

def _options(ctx) -> RemediationOptions:
    return RemediationOptions.from_params(ctx.params.get("options", {}))


def _job_step_data(ctx, name: str, *, same_node: bool) -> dict:
    steps = JobStep.objects.filter(job_id=ctx.job.pk, name=name)
    if same_node:
        steps = steps.filter(parent_id=ctx.step.parent_id)
    return steps.values_list("data", flat=True).first() or {}


def _node(ctx) -> NodeTarget:
    host = Host.objects.select_related("cluster").get(pk=ctx.params["host_id"])
    cluster = host.cluster  # a clustered host chosen on its own is still paused and resumed
    paused = _job_step_data(ctx, PRECHECK, same_node=False).get("paused_before", [])
    return NodeTarget(host, cluster, was_paused=host.name.lower() in {p.lower() for p in paused})


def only_if_needed(step):
    """A node step that runs only when the check step found work on the node."""

    @functools.wraps(step)
    def run(ctx) -> StepResult:
        check = _job_step_data(ctx, CHECK, same_node=True)
        if not check.get("needed"):
            return StepResult(check.get("reason", "nothing to do on this node"), skipped=True)
        return step(ctx)

    return run


def _is_last_attempt(ctx) -> bool:
    step = ctx.step
    if step.attempts > step.retries:
        return True
    limit = (ctx.job.failure_policy or {}).get("max_retries_per_node")
    if limit is not None and step.parent_id:
        used = JobStep.objects.filter(pk=step.parent_id).values_list("attempts", flat=True).first() or 0
        return used >= limit
    return False


def _agent_failure(what: str, error: agents.AgentError) -> StepFailed:
    return StepFailed(f"{what}: {error}")


def _missing_updates(host: Host) -> list[dict]:
    """The baseline updates the last scan found missing (exemptions are already left out)."""
    rows = (UpdateStatus.objects.filter(host=host, state__in=(UpdateState.MISSING, UpdateState.FAILED))
            .select_related("update").order_by("update__release_date", "update__kb"))
    seen, result = set(), []
    for row in rows:
        if row.update_id not in seen:
            seen.add(row.update_id)
            result.append({"id": row.update.update_id, "kb": row.update.kb})
    return result


def _evacuated(ctx) -> Evacuated:
    """What this node's evacuation step (whichever the plan chose) recorded."""
    steps = JobStep.objects.filter(job_id=ctx.job.pk, name__in=EVACUATIONS, parent_id=ctx.step.parent_id)
    return Evacuated.from_data(steps.values_list("data", flat=True).first())
