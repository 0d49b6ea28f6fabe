"""Discovery and refresh as job steps (the pages start them as jobs; the CLI calls them directly).

Each step only calls fabric.inventory, which is idempotent by construction (it reads, then
upserts), so a step that runs again after its worker died converges to the same inventory.
"""
from fabric import agents
from fabric.inventory import (
    InventoryError,
    add_deployment_server,
    add_update_server,
    discover_cluster,
    discover_host,
    refresh_cluster,
    refresh_host,
)
from fabric.models import Cluster, Host, HostGroup, RunAsAccount
from jobs.engine import JobContext, StepFailed, StepResult, register_step

DISCOVERERS = {
    "cluster": discover_cluster,
    "host": discover_host,
    "update_server": add_update_server,
    "deployment_server": add_deployment_server,
}
CONNECTION_KEYS = ("port", "https", "transport", "ca_path", "allow_insecure")
EXTRA_KEYS = {
    "cluster": ("kind",),
    "host": ("bmc_port",),
    "update_server": ("wsus_port", "wsus_ssl"),
    "deployment_server": ("remote_install_path",),
}


def _failed(error: Exception) -> StepFailed:
    retry = isinstance(error, agents.AgentError) and error.transient
    return StepFailed(str(error), retry=retry)


@register_step("fabric.discover", retries=1, title="Discover")
def discover(ctx: JobContext) -> StepResult:
    what = ctx.params["what"]
    if what not in DISCOVERERS:
        raise StepFailed(f"Unknown kind of machine to add: {what!r}", retry=False)
    run_as = RunAsAccount.objects.filter(pk=ctx.params["run_as_id"]).first()
    if run_as is None:
        raise StepFailed("The Run As account chosen for this discovery was deleted.", retry=False)
    kwargs = {key: ctx.params[key] for key in CONNECTION_KEYS + EXTRA_KEYS[what] if key in ctx.params}
    if what in ("cluster", "host") and ctx.params.get("host_group_id"):
        kwargs["host_group"] = HostGroup.objects.filter(pk=ctx.params["host_group_id"]).first()
    if what == "host" and ctx.params.get("bmc_address"):
        kwargs["bmc_address"] = ctx.params["bmc_address"]
        kwargs["bmc_run_as"] = RunAsAccount.objects.filter(pk=ctx.params.get("bmc_run_as_id")).first()
    ctx.ensure_lease()
    ctx.log(f"Asking {ctx.params['address']} ({ctx.params.get('transport', 'ntlm')}, "
            f"{'HTTPS' if ctx.params.get('https', True) else 'HTTP'}) as {run_as.name}")
    try:
        found = DISCOVERERS[what](ctx.params["address"], run_as, user=ctx.job.requested_by, **kwargs)
    except (agents.AgentError, agents.UnsafeArgument, InventoryError) as error:
        raise _failed(error) from error
    for warning in getattr(found, "discovery_warnings", []) or []:
        ctx.log(warning, level="warning")
    ctx.save_checkpoint(object_type=found._meta.model_name, object_id=found.pk, url=found.get_absolute_url())
    return StepResult(f"Added {found._meta.verbose_name} {found}", data={"url": found.get_absolute_url()})


@register_step("fabric.refresh_cluster", retries=1, title="Refresh cluster")
def refresh_cluster_step(ctx: JobContext) -> StepResult:
    cluster = Cluster.objects.filter(pk=ctx.params["cluster_id"]).first()
    if cluster is None:
        return StepResult("The cluster is no longer managed.", skipped=True)
    ctx.ensure_lease()
    problems = refresh_cluster(cluster)
    for problem in problems:
        ctx.log(problem, level="warning")
    return StepResult(f"{cluster.name}: {cluster.nodes.count()} nodes, {cluster.vms.count()} VMs"
                      + (f", {len(problems)} not answering" if problems else ""))


@register_step("fabric.refresh_host", retries=1, title="Refresh host")
def refresh_host_step(ctx: JobContext) -> StepResult:
    host = Host.objects.filter(pk=ctx.params["host_id"]).first()
    if host is None:
        return StepResult("The host is no longer managed.", skipped=True)
    ctx.ensure_lease()
    problems = refresh_host(host)
    for problem in problems:
        ctx.log(problem, level="warning")
    host.refresh_from_db()
    return StepResult(f"{host.name}: {host.get_status_display()}")
