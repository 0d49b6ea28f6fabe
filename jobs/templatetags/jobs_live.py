import re

from django import template

from fabric.roles import VIEWER, has_role

register = template.Library()


@register.inclusion_tag("jobs/_indicator.html", takes_context=True)
def running_jobs_indicator(context, socket=True):
    """The running-jobs indicator in the top bar. With `socket` it opens the page's live socket;
    the job pages open their own and pass socket=False."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not has_role(user, VIEWER):
        return {"hidden": True}
    from jobs.live.render import indicator_context

    return {**indicator_context(), "socket": socket}


@register.filter
def duration(value):
    """A timedelta as 1 h 02 min, 3 min 05 s or 12 s."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


@register.filter
def short_title(step):
    """A step's title inside its node's lane, without the node's name the lane already shows:
    "Restart HV22-N1 and wait until it is back" → "Restart and wait until it is back"."""
    name = step.target
    if not name or not step.parent_id:
        return step.title
    short = re.sub(rf"\s+(?:(?:on|to|of|from|in)\s+)?{re.escape(name)}(?=\W|$)", "", step.title, flags=re.IGNORECASE)
    return short.strip() or step.title
