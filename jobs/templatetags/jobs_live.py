import re

from django import template

from core.roles import VIEWER, has_role

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


def object_keys(obj) -> list[str]:
    """The lock keys a job acting on `obj` holds: a cluster's, a host's and its cluster's."""
    meta = getattr(obj, "_meta", None)
    name = meta.model_name if meta else type(obj).__name__.lower().removesuffix("info")  # the Compliance view's rows
    if name == "host":
        return [f"host:{obj.pk}"] + ([f"cluster:{obj.cluster_id}"] if obj.cluster_id else [])
    return [f"{name}:{obj.pk}"]


@register.simple_tag(takes_context=True)
def live_job(context, *objects):
    """A badge "Remediating (job #11, 40 %)" linking to the active job that holds one of the objects
    (a cluster, a host and its cluster), kept current by jobs/live_state.js; empty when none does."""
    from django.utils.html import format_html

    from jobs.live.render import live_jobs

    keys = [k for obj in objects if obj is not None for k in object_keys(obj)]

    request = context.get("request")
    jobs = getattr(request, "_ferry_live_jobs", None)
    if jobs is None:
        jobs = live_jobs()
        if request is not None:
            request._ferry_live_jobs = jobs
    job = next((j for j in jobs if set(j["keys"]) & set(keys)), None)
    if job is None:
        return format_html('<span class="live-job" data-live-job="{}"></span>', " ".join(keys))
    return format_html(
        '<span class="live-job" data-live-job="{}" data-job-id="{}"><a class="badge running" href="{}">{} (job #{}, {} %)</a></span>',
        " ".join(keys), job["id"], job["url"], job["label"], job["id"], job["progress"],
    )


@register.inclusion_tag("jobs/_recent_jobs.html")
def recent_jobs(obj, limit=10):
    """The last jobs that acted on `obj`; for a host also its cluster's (remediations and upgrades work
    node by node under the cluster)."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Q

    from jobs.models import Job

    match = Q(target_type=ContentType.objects.get_for_model(obj), target_id=str(obj.pk))
    if obj._meta.model_name == "host":
        match |= Q(lock_key=f"host:{obj.pk}")
        if obj.cluster_id:
            match |= Q(target_type=ContentType.objects.get_for_model(obj.cluster), target_id=str(obj.cluster_id))
    return {"jobs": list(Job.objects.filter(match).order_by("-created")[:limit])}
