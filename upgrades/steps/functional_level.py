"""Job steps that raise a cluster's functional level (Update Version, and the end of a rolling
upgrade). Each looks before it acts: a functional level already raised is not raised again."""
from fabric import agents
from fabric.inventory import refresh_cluster
from fabric.models import Cluster
from jobs.engine import JobContext, StepFailed, StepResult, register_step


def _cluster(ctx: JobContext) -> Cluster:
    cluster = Cluster.objects.filter(pk=ctx.params["cluster_id"]).first()
    if cluster is None:
        raise StepFailed("The cluster is no longer managed by Ferry.", retry=False)
    return cluster


def _failed(what: str, error: agents.AgentError) -> StepFailed:
    return StepFailed(f"{what}: {error}", retry=error.transient)


def _current_level(ctx: JobContext, conn) -> int | None:
    try:
        return agents.cluster.get_cluster(conn).functional_level
    except agents.AgentError as error:
        raise _failed("Could not read the cluster's functional level", error) from error


@register_step("upgrades.check_functional_level", retries=1, title="Check the functional level change")
def check_functional_level(ctx: JobContext) -> StepResult:
    cluster = _cluster(ctx)
    conn = agents.Connection.for_endpoint(cluster)
    ctx.ensure_lease()
    level = _current_level(ctx, conn)
    if level is not None and level >= ctx.params["to_level"]:
        return StepResult(f"{cluster.name} is already at functional level {level}.", skipped=True)
    ctx.log(f"Update-ClusterFunctionalLevel -WhatIf on {cluster.name} (now at level {level})")
    try:
        agents.cluster.update_functional_level(conn, what_if=True)
    except agents.AgentError as error:
        raise StepFailed(f"{cluster.name} refuses the functional level change: {error}", retry=False) from error
    return StepResult(f"{cluster.name} can go from functional level {level} to {ctx.params['to_level']}.")


@register_step("upgrades.raise_functional_level", retries=1, title="Raise the functional level")
def raise_functional_level(ctx: JobContext) -> StepResult:
    cluster = _cluster(ctx)
    conn = agents.Connection.for_endpoint(cluster)
    ctx.ensure_lease()
    level = _current_level(ctx, conn)
    if level is not None and level >= ctx.params["to_level"]:
        return StepResult(f"{cluster.name} is already at functional level {level}.", skipped=True)
    ctx.check_cancel()
    ctx.log(f"Update-ClusterFunctionalLevel on {cluster.name}: the point of no return.", level="warning")
    try:
        info = agents.cluster.update_functional_level(conn)
    except agents.AgentError as error:
        raise _failed(f"Update-ClusterFunctionalLevel failed on {cluster.name}", error) from error
    if info.functional_level is None or info.functional_level < ctx.params["to_level"]:
        raise StepFailed(f"{cluster.name} still reports functional level {info.functional_level} after "
                         f"Update-ClusterFunctionalLevel.", retry=False)
    return StepResult(f"{cluster.name} is at functional level {info.functional_level}.")


@register_step("upgrades.refresh_cluster", retries=1, title="Refresh the cluster")
def refresh_cluster_step(ctx: JobContext) -> StepResult:
    cluster = _cluster(ctx)
    ctx.ensure_lease()
    for problem in refresh_cluster(cluster):
        ctx.log(problem, level="warning")
    cluster.refresh_from_db()
    mixed = f", mixed mode since {cluster.mixed_mode_since:%Y-%m-%d %H:%M}" if cluster.mixed_mode_since else ""
    return StepResult(f"{cluster.name}: functional level {cluster.functional_level}{mixed}.")
