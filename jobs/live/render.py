"""Rendering the live parts of the job pages, shared by the pages, the polling fallback and the
consumers. Renders are cached per process: a hundred viewers of one job cost one render."""
import json
import threading
from collections import OrderedDict

from django.template.loader import render_to_string
from django.urls import reverse

from jobs.choices import ACTIVE, LogLevel, StepStatus
from jobs.eta import estimate
from jobs.filters import job_table_context
from jobs.models import Job, JobLogEntry, JobStep

LOG_TAIL = 300
_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 512
MISS = object()  # returned instead of touching the database when asked for cached renders only


def _cached(key, wanted: int, compute, cached_only: bool = False):
    """compute() -> (version, html) or None. A cached value serves anyone wanting ≤ its version."""
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] >= wanted:
            _cache.move_to_end(key)
            return hit
    if cached_only:
        return MISS
    value = compute()
    if value is not None:
        with _cache_lock:
            _cache[key] = value
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return value


def _job(job_id: int) -> Job | None:
    return (
        Job.objects.select_related("requested_by", "cancel_requested_by", "target_type").filter(pk=job_id).first()
    )


def step_tree(job: Job) -> list[JobStep]:
    rows = list(JobStep.objects.filter(job=job).order_by("order"))
    groups = {row.pk: row for row in rows if row.is_group}
    tree = []
    for row in rows:
        row.kids = []
        if row.is_group:
            tree.append(row)
        elif row.parent_id in groups:
            groups[row.parent_id].kids.append(row)
        else:
            tree.append(row)
    return tree


def header_context(job: Job, can_operate: bool) -> dict:
    """The top of the job page: what runs now, each failed node's state and the recovery actions."""
    running = list(
        job.steps.filter(is_group=False, status=StepStatus.RUNNING).select_related("parent").order_by("order")
    )
    failed_lanes, failed_step_outside = [], False
    if job.is_restartable:
        failed_lanes = [lane for lane in job.steps.filter(is_group=True, data__has_key="node_state").order_by("order")
                        if lane.data.get("node_state")]
        # Skipping one step stays offered where no node state was named (a step outside the nodes,
        # or a job whose steps do not describe their node); a named node is skipped as a whole.
        named = [lane.pk for lane in failed_lanes]
        failed_step_outside = (job.steps.filter(is_group=False, status=StepStatus.FAILED)
                               .exclude(parent_id__in=named).exists())
    failed_nodes = [lane for lane in failed_lanes if lane.status == StepStatus.FAILED]
    return {
        "job": job, "running_steps": running, "can_operate": can_operate, "node_states": failed_lanes,
        "failed_nodes": failed_nodes, "has_failed_step": failed_step_outside,
        "can_skip_node": any(lane.data.get("in_service") for lane in failed_nodes),
        "eta": estimate(job),
    }


def log_entries(job: Job, *, after: int = 0, upto: int | None = None, tail: int = LOG_TAIL):
    entries = JobLogEntry.objects.filter(job=job).select_related("step", "step__parent")
    if after:
        entries = entries.filter(seq__gt=after)
    if upto is not None:
        entries = entries.filter(seq__lte=upto)
    return list(reversed(entries.order_by("-id")[:tail]))


def live_context(job: Job, can_operate: bool) -> dict:
    """Everything the live region of the job page shows (the page itself and the polling fallback)."""
    return {
        **header_context(job, can_operate),
        "tree": step_tree(job),
        "log_entries": log_entries(job, upto=job.seq),
        "log_levels": LogLevel,
    }


def job_frames(job_id: int, since: int, wanted: int, can_operate: bool, cached_only: bool = False):
    """(seq, html) bringing a viewer who has seen `since` up to date, or None if nothing changed.
    since == 0 is a full snapshot (as of the job's current seq)."""

    def compute():
        job = _job(job_id)
        if job is None or job.seq <= since:
            return None
        context = {**header_context(job, can_operate), "oob": "true"}
        parts = [render_to_string("jobs/job_detail.html#job_header", context)]
        if since == 0 or job.plan_seq > since:
            parts.append(render_to_string("jobs/job_detail.html#job_steps", {**context, "tree": step_tree(job)}))
        else:
            for step in JobStep.objects.filter(job=job, changed_seq__gt=since).order_by("order"):
                parts.append(render_to_string("jobs/job_detail.html#step_card", {**context, "step": step}))
        entries = log_entries(job, after=since, upto=job.seq)
        if since == 0:
            parts.append(render_to_string("jobs/job_detail.html#job_log", {"log_entries": entries, "oob": "true"}))
        elif entries:
            parts.append(render_to_string("jobs/job_detail.html#job_log", {"log_entries": entries, "oob": "beforeend"}))
        return job.seq, "".join(parts)

    if since == 0:
        if cached_only:
            return MISS
        current = Job.objects.filter(pk=job_id).values_list("seq", flat=True).first()
        if current is None:
            return None
        wanted = max(wanted, current)
    return _cached(("job", job_id, since, can_operate), wanted, compute, cached_only)


VERBS = {
    "remediation": "Remediating", "rolling_upgrade": "Upgrading", "resume_node": "Resuming a node",
    "update_version": "Raising the functional level", "compliance_scan": "Scanning", "refresh": "Refreshing",
}
LIVE_JOBS = 200


def live_jobs() -> list[dict]:
    """The active jobs that hold an object (cluster:3, host:7, scan:cluster:3 …), for the "Remediating
    (job #11, 40 %)" badges on object pages; `keys` are the object keys each one covers."""
    rows = (Job.objects.filter(status__in=ACTIVE).exclude(lock_key="").order_by("created")
            .values_list("pk", "kind", "title", "progress", "lock_key")[:LIVE_JOBS])
    jobs = []
    for pk, kind, title, progress, lock in rows:
        keys = [lock] + ([lock[len("scan:"):]] if lock.startswith("scan:") else [])
        jobs.append({"id": pk, "keys": keys, "label": VERBS.get(kind, title), "progress": progress,
                     "url": reverse("jobs:job_detail", args=[pk])})
    return jobs


def indicator_context() -> dict:
    active = Job.objects.filter(status__in=ACTIVE)
    titles = list(active.order_by("created").values_list("title", flat=True)[:10])
    count = active.count() if len(titles) == 10 else len(titles)
    return {"running_count": count, "running_titles": "\n".join(titles), "live_jobs": json.dumps(live_jobs())}


def indicator_frame(generation: int, cached_only: bool = False):
    def compute():
        return generation, render_to_string("jobs/_indicator.html", {**indicator_context(), "oob": "true"})

    value = _cached(("indicator",), generation, compute, cached_only)
    return value if value is MISS else value[1]


def job_table_frame(params, user, generation: int, cached_only: bool = False):
    def compute():
        context = {**job_table_context(params, user), "oob": "true"}
        return generation, render_to_string("jobs/job_list.html#job_table", context)

    key = ("table", params.urlencode())
    value = _cached(key, generation, compute, cached_only)
    return value if value is MISS else value[1]
