"""A rolling upgrade's node scripts: the pre-script on each node before it is evacuated, the
post-script once it has joined again, been resumed and got its VMs back. Each is its own step of
the node's swimlane, run as a remediation runs its own (fabric.nodeops.scripts), from the copy the
job took at submit time. A failing script fails the node: a failed pre-script leaves it in service
and untouched, and the upgrade's failure policy stops the job there."""
from __future__ import annotations

from fabric.nodeops.scripts import run_library_script
from jobs.engine import StepResult, register_step
from upgrades.rolling import POST_SCRIPT, PRE_SCRIPT
from upgrades.steps import common as c


@register_step(PRE_SCRIPT, title="Run the pre-script")
def pre_node_script(ctx) -> StepResult:
    return run_library_script(ctx, c.host(ctx), ctx.params["script"], "pre-script")


@register_step(POST_SCRIPT, title="Run the post-script")
def post_node_script(ctx) -> StepResult:
    return run_library_script(ctx, c.host(ctx), ctx.params["script"], "post-script")
