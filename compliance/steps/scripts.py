"""A remediation's node scripts: the pre-script on each node before it is paused, the post-script
after it is resumed (Cluster-Aware Updating's PreUpdateScript and PostUpdateScript). Each is its
own step of the node's swimlane, run by fabric.nodeops.scripts (as a rolling upgrade's are); a
script that fails fails the node, and the failure policy decides whether the job goes on with the
next one."""
from __future__ import annotations

from compliance.steps.remediate import _node, only_if_needed
from fabric.nodeops.scripts import run_library_script
from jobs.engine import StepResult, register_step

PRE_SCRIPT = "compliance.pre_node_script"
POST_SCRIPT = "compliance.post_node_script"


@register_step(PRE_SCRIPT, title="Run the pre-script")
@only_if_needed
def pre_node_script(ctx) -> StepResult:
    return run_library_script(ctx, _node(ctx).host, ctx.params["script"], "pre-script")


@register_step(POST_SCRIPT, title="Run the post-script")
@only_if_needed
def post_node_script(ctx) -> StepResult:
    return run_library_script(ctx, _node(ctx).host, ctx.params["script"], "post-script")
