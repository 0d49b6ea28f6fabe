"""`{% load ferry %}`: the one way to show times and yes/no (see core.display)."""
from django import template

from core import display

register = template.Library()


@register.filter(name="when")
def when(value, style="datetime"):
    """{{ job.started|when }}, {{ entry.time|when:"time" }}, {{ host.last_scan|when:"relative" }}.
    Anything that is not a datetime passes through unchanged (so `_kv.html` can use it on every value)."""
    if value in (None, ""):
        return "—" if value is None else value
    return display.when(value, style)


@register.filter(name="yes_no")
def yes_no(value):
    return display.yes_no(value)
