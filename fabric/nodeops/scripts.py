"""A library node script run on one host as a step of a job (a remediation's or a rolling upgrade's):
the pre-script before the node leaves, the post-script once it is back. The job keeps the script as
it was when it was submitted (NodeScript.snapshot). A script that throws, writes an error, ends a
program with a non-zero exit code or runs past its timeout fails the step for good: it is never
run twice, since running it again may not be safe."""
from __future__ import annotations

from fabric import agents
from fabric.agents.nodescript import run_node_script
from fabric.models import Host
from fabric.nodeops.live import host_connection
from jobs.engine import StepFailed, StepResult

MESSAGE_LIMIT = 300


def _short(text) -> str:
    text = str(text)
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT - 1] + "…"


def run_library_script(ctx, host: Host, script: dict, when: str) -> StepResult:
    """Run the job's copy of a library script (`name`, `body`, `timeout`) on `host`; `when` is
    "pre-script" or "post-script". Its output goes to the job log."""
    name, timeout = script["name"], float(script["timeout"])
    ctx.ensure_lease()
    ctx.progress(5, f"Running the {when} {name} on {host.name} (stopped after {timeout:.0f} s)")
    try:
        run = run_node_script(host_connection(host), name, script["body"], timeout)
    except agents.OperationTimeout as error:
        ctx.log(f"The {when} {name} on {host.name} did not finish within {timeout:.0f} s; it was stopped.", "error")
        raise StepFailed(f"The {when} {name} did not finish within {timeout:.0f} s on {host.name}",
                         retry=False) from error
    except agents.AgentError as error:
        ctx.log(f"The {when} {name} on {host.name} failed: {error}", "error")
        raise StepFailed(f"The {when} {name} failed on {host.name}: {_short(error)}", retry=False) from error
    output = run.output or "(no output)"
    if run.failed:
        ctx.log(f"The {when} {name} on {host.name} failed: {run.error}\nOutput:\n{output}", "error")
        raise StepFailed(f"The {when} {name} failed on {host.name}: {_short(run.error)}", retry=False)
    ctx.log(f"The {when} {name} on {host.name} succeeded. Output:\n{output}")
    return StepResult(f"{name} succeeded on {host.name}")
