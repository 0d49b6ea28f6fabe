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
