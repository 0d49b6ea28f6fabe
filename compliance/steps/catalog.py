"""Synchronize the update catalog from a WSUS server; keep rule baselines current."""
from django.db import transaction
from django.utils import timezone

from compliance import baselines as bl
from compliance.models import Update, UpdateServer
from fabric import agents
from jobs.engine import StepFailed, StepResult, register_step


def store_catalog(server: UpdateServer, catalog) -> tuple[int, int, int]:
    """Upsert the catalog; updates no longer listed are kept (baselines may name them) but marked."""
    existing = {u.update_id.lower(): u for u in Update.objects.filter(server=server)}
    seen, added, changed = set(), 0, 0
    for item in catalog:
        key = item.update_id.lower()
        seen.add(key)
        values = dict(
            revision=item.revision, kb=item.kb, title=item.title[:500], classification=item.classification[:60],
            severity=item.msrc_severity[:20],
            release_date=(item.created or item.arrived).date() if (item.created or item.arrived) else None,
            reboot_required=item.reboot_behavior != "NeverReboots", superseded=item.is_superseded,
            superseded_by=list(item.superseded_by), approved=item.is_approved, declined=item.is_declined,
            in_catalog=True,
        )
        update = existing.get(key)
        if update is None:
            Update.objects.create(server=server, update_id=item.update_id, **values)
            added += 1
        elif any(getattr(update, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(update, f, v)
            update.save()
            changed += 1
    gone = [u.pk for k, u in existing.items() if k not in seen and u.in_catalog]
    Update.objects.filter(pk__in=gone).update(in_catalog=False)
    return added, changed, len(gone)


@register_step("compliance.sync_catalog", retries=2, title="Synchronize the update catalog")
def sync_catalog(ctx) -> StepResult:
    server = UpdateServer.objects.get(pk=ctx.params["server_id"])
    conn = agents.Connection.for_endpoint(server)
    ctx.ensure_lease()
    ctx.progress(10, f"Reading the catalog of {server.name} (Get-WsusUpdate)")
    try:
        catalog = agents.wsus.get_wsus_updates(conn, port=server.wsus_port, use_ssl=server.wsus_ssl)
    except agents.AgentError as error:
        raise StepFailed(f"Could not read the catalog of {server.name}: {error}") from error
    first = server.last_synced is None
    with transaction.atomic():
        added, changed, gone = store_catalog(server, catalog)
        samples = bl.ensure_sample_baselines() if first else []
        rules = bl.refresh_rule_baselines()
        UpdateServer.objects.filter(pk=server.pk).update(last_synced=timezone.now())
    ctx.log(f"{len(catalog)} updates in the catalog: {added} new, {changed} changed, {gone} no longer listed.")
    if samples:
        ctx.log("Created " + " and ".join(f'"{b.name}"' for b in samples) + ".")
    for name, (plus, minus) in rules.items():
        if plus or minus:
            ctx.log(f"Baseline {name}: +{plus} / -{minus} updates by its rule; its hosts are Unknown until scanned.")
    return StepResult(f"{len(catalog)} updates ({added} new)")
