"""The remediation dialog with several clusters chosen: a campaign, its waves shown before submit."""
from django.contrib import messages

from compliance.campaigns import CampaignError, plan_waves, submit_campaign
from core.audit import AuditAction, record
from core.htmx import go_to


def campaign_context(selection, form) -> dict:
    """{} unless several clusters (and no single hosts) are chosen; else the waves and N."""
    if len(selection.clusters) < 2 or selection.hosts:
        return {}
    parallel = (form.cleaned_data.get("parallel") if form.is_valid() else None) or 2
    try:
        waves = plan_waves(list(selection.clusters))
    except CampaignError as error:
        return {"error": str(error), "waves": [], "parallel": parallel}
    return {"waves": waves, "parallel": parallel}


def submit_campaign_from_dialog(request, selection, form, options):
    data = form.cleaned_data
    try:
        job, _ = submit_campaign(list(selection.clusters), options, parallel=data.get("parallel") or 2,
                                 max_failed_clusters=data.get("max_failed_clusters") or 0, user=request.user)
    except CampaignError as error:
        messages.error(request, str(error))
        return go_to(request, request.get_full_path())
    record_campaign(request, job, options)
    return go_to(request, job.get_absolute_url())


def record_campaign(request, job, options, through: str = "") -> None:
    """The audit row of a started campaign (the dialog's; the API's says `through the API`)."""
    requested = f"campaign requested {through}".rstrip()
    record(request, AuditAction.ACTION, job, f"{requested}: {job.title} (at most {job.params['parallel']} at once; "
                                             f"{options.describe()})")
