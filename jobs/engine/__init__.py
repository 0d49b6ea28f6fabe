"""The job engine: durable, resumable orchestrations built from registered steps.

Public API (stable; import from here only)::

    from jobs.engine import (
        register_step, Step, StepResult, StepFailed, JobContext, PlanStep,
        submit_job, cancel_job, restart_job,
    )

Registering a step (put it in `<app>/steps.py`; every app's steps.py is imported at start-up)::

    @register_step("fabric.refresh_host", retries=2, retry_delay=10)
    def refresh_host(ctx: JobContext) -> StepResult | None:
        host = Host.objects.get(pk=ctx.params["host_id"])
        if ctx.step.data.get("refreshed"):          # look before you act: this may be a re-run
            return StepResult("already refreshed", skipped=True)
        ctx.ensure_lease()                          # before every action on a machine
        facts = agents.read_host(host)
        ctx.save_checkpoint(refreshed=True)
        ctx.log(f"{host} runs {facts.os}")
        return StepResult(f"{facts.vms} VMs")

A step is idempotent: it may run again after its worker died (the engine never marks a step done
before it returned). `ctx` offers:

- `ctx.job`, `ctx.step` (JobStep), `ctx.params` (job parameters overlaid by the step's own),
  `ctx.step.data` (checkpoint), `ctx.save_checkpoint(**values)` (merged and committed now);
- `ctx.log(message, level="info"|"warning"|"error"|"debug")`, `ctx.progress(percent, message=None)`;
- `ctx.ensure_lease()` raises LeaseLost when another worker owns the job (fencing);
- `ctx.check_cancel()` is a safe point (raises CancelRequested when cancelled);
- `ctx.wait_until(predicate, deadline_s, poll_s=5, waiting_for="node back in the cluster",
  cancellable=True)` polls, renews the lease, shows what it waits for, returns the predicate's
  value or raises WaitTimedOut (a StepFailed); a long wait may end the task invocation and run the
  step again later from its start (its deadline is kept) — checkpoint before waiting;
- `ctx.sleep(seconds, cancellable=True)`;
- `ctx.add_steps([PlanStep, ...], at="next"|"end")` lets a planner step extend the plan (once).

Raise `StepFailed("operator-readable reason")` when the step cannot go on (`retry=False` when a
retry cannot help); any other exception is reported as an unexpected error. Both are retried
within the step's `retries`. LeaseLost / CancelRequested / Suspended derive from BaseException:
do not catch them.

Starting a job::

    plan = [PlanStep("fabric.refresh_host", title="Refresh hv01", target="hv01",
                     params={"host_id": 7}, group="hv01", retries=2,
                     parallel_group="", max_parallel=4), ...]
    job, created = submit_job(kind="remediation", title="Remediate cluster hv-a", target=cluster,
                              lock_key=f"cluster:{cluster.pk}", requested_by=request.user,
                              params={...}, plan=plan,
                              failure_policy={"max_retries_per_node": 3, "max_failed_nodes": 0,
                                              "stop_after_minutes": 240})
    # created is False when a job with that lock key is active: `job` is that job.

`group` makes a swimlane (one per node; the failure policy counts failed groups as failed nodes).
Consecutive steps with the same `parallel_group` run together, at most `max_parallel` at a time.
Failure policy: `max_retries_per_node` (retries summed over a group's steps; default unlimited
within each step's `retries`), `max_failed_nodes` (default 0: the first failed node fails the
job), `stop_after_minutes` (cancel at the next safe point after that), `max_resumes_per_step`.

`cancel_job(job, user)` saves the cancel (honoured at the next safe point);
`restart_job(job, user, skip_failed=False)` re-runs a failed or cancelled job from its last good
step. Both raise jobs.choices.InvalidTransition with an operator-readable message.
"""
from jobs.choices import InvalidTransition
from jobs.engine.context import JobContext, StepResult
from jobs.engine.errors import CancelRequested, LeaseLost, StepFailed, Suspended, UnknownStep, WaitTimedOut
from jobs.engine.plan import PlanStep, cancel_job, restart_job, submit_job
from jobs.engine.registry import Step, get_step, register_step

__all__ = [
    "CancelRequested",
    "InvalidTransition",
    "JobContext",
    "LeaseLost",
    "PlanStep",
    "Step",
    "StepFailed",
    "StepResult",
    "Suspended",
    "UnknownStep",
    "WaitTimedOut",
    "cancel_job",
    "get_step",
    "register_step",
    "restart_job",
    "submit_job",
]
