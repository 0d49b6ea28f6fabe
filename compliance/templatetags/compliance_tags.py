from django import template

from compliance.choices import ComplianceState, UpdateState

register = template.Library()


@register.filter
def state_label(value) -> str:
    for choices in (ComplianceState, UpdateState):
        if value in choices.values:
            return choices(value).label
    return value or ""


@register.filter
def get_state(states: dict, key):
    return states.get(key)


@register.filter
def baseline_state(cluster_row, baseline_id):
    return cluster_row.baseline_state(baseline_id)


@register.inclusion_tag("compliance/_host_summary.html")
def host_compliance_summary(host, missing_limit=20):
    """The host page's compliance: its state per baseline and the updates it misses."""
    from compliance.models import BaselineCompliance, HostCompliance, UpdateStatus

    blocking = (UpdateState.MISSING, UpdateState.FAILED)
    missing = (UpdateStatus.objects.filter(host=host, state__in=blocking).select_related("update", "baseline")
               .order_by("update__kb"))
    return {
        "host": host,
        "record": HostCompliance.objects.filter(host=host).first(),
        "baselines": BaselineCompliance.objects.filter(host=host).select_related("baseline"),
        "missing": missing[:missing_limit],
        "missing_count": missing.count(),
    }
