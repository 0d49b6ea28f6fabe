"""A remediation's node scripts: the pre-script on each node before it is paused, the post-script
after it is resumed (Cluster-Aware Updating's PreUpdateScript and PostUpdateScript). Each is its
own step of the node's swimlane; a script that fails, throws or runs out of time fails the node,
and the failure policy decides whether the job goes on with the next one. A script is not retried:
it may not be safe to run twice."""
from __future__ import annotations

from compliance.steps.remediate import _node, only_if_needed
from fabric import agents
from fabric.agents.nodescript import run_node_script
from fabric.nodeops.live import host_connection
from jobs.engine import StepFailed, StepResult, register_step

PRE_SCRIPT = "compliance.pre_node_script"
POST_SCRIPT = "compliance.post_node_script"
MESSAGE_LIMIT = 300


def _short(text) -> str:
    text = str(text)
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT - 1] + "…"


def _run(ctx, when: str) -> StepResult:
    script = ctx.params["script"]
    node = _node(ctx)
    name, timeout = script["name"], float(script["timeout"])
    ctx.ensure_lease()
    ctx.progress(5, f"Running the {when} {name} on {node.name} (stopped after {timeout:.0f} s)")
    try:
        run = run_node_script(host_connection(node.host), name, script["body"], timeout)
    except agents.OperationTimeout as error:
        ctx.log(f"The {when} {name} on {node.name} did not finish within {timeout:.0f} s; it was stopped.", "error")
        raise StepFailed(f"The {when} {name} did not finish within {timeout:.0f} s on {node.name}",
                         retry=False) from error
    except agents.AgentError as error:
        ctx.log(f"The {when} {name} on {node.name} failed: {error}", "error")
        raise StepFailed(f"The {when} {name} failed on {node.name}: {_short(error)}", retry=False) from error
    output = run.output or "(no output)"
    if run.failed:
        ctx.log(f"The {when} {name} on {node.name} failed: {run.error}\nOutput:\n{output}", "error")
        raise StepFailed(f"The {when} {name} failed on {node.name}: {_short(run.error)}", retry=False)
    ctx.log(f"The {when} {name} on {node.name} succeeded. Output:\n{output}")
    return StepResult(f"{name} succeeded on {node.name}")


@register_step(PRE_SCRIPT, title="Run the pre-script")
@only_if_needed
def pre_node_script(ctx) -> StepResult:
    return _run(ctx, "pre-script")


@register_step(POST_SCRIPT, title="Run the post-script")
@only_if_needed
def post_node_script(ctx) -> StepResult:
    return _run(ctx, "post-script")
