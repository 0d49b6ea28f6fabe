"""Scan one host against its baselines."""
from compliance.choices import ComplianceState
from compliance.scanning import scan_host
from fabric import agents
from fabric.models import Host
from jobs.engine import StepFailed, StepResult, register_step


@register_step("compliance.scan_host", retries=1, retry_delay=2, title="Scan a host")
def scan_host_step(ctx) -> StepResult:
    host = Host.objects.select_related("cluster").get(pk=ctx.params["host_id"])
    ctx.ensure_lease()
    try:
        scan = scan_host(host)
    except agents.AgentError as error:
        raise StepFailed(f"{host.name} could not be scanned: {error}") from error
    label = ComplianceState(scan.state).label
    detail = f"{host.name}: {label}"
    if scan.state == ComplianceState.NON_COMPLIANT:
        from compliance.models import HostCompliance

        detail += f" ({HostCompliance.objects.get(host=host).missing_count} baseline updates missing)"
    elif scan.state == ComplianceState.PENDING_REBOOT:
        detail += " (restart needed)"
    return StepResult(detail, data={"state": scan.state})
