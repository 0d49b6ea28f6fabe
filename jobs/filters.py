"""The job list's filters, shared by the page, its polling and its live socket."""
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import QueryDict

from jobs.choices import ACTIVE, TERMINAL, JobStatus
from jobs.models import Job

PAGE_SIZE = 50
STATUS_FILTERS = [("", "All"), ("active", "Active"), ("finished", "Finished")] + list(JobStatus.choices)
FILTER_KEYS = ("status", "kind", "q", "mine", "page")


def clean_params(data) -> QueryDict:
    """Only the filter keys, so the socket URL and the cache key cannot carry anything else."""
    params = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        value = (data.get(key) or "").strip()[:100]
        if value:
            params[key] = value
    return params


def filter_jobs(params, user):
    jobs = Job.objects.select_related("requested_by")
    status = params.get("status", "")
    if status == "active":
        jobs = jobs.filter(status__in=ACTIVE)
    elif status == "finished":
        jobs = jobs.filter(status__in=TERMINAL)
    elif status in JobStatus.values:
        jobs = jobs.filter(status=status)
    if params.get("kind"):
        jobs = jobs.filter(kind=params["kind"])
    if params.get("q"):
        text = params["q"]
        jobs = jobs.filter(Q(title__icontains=text) | Q(target_label__icontains=text) | Q(kind__icontains=text))
    if params.get("mine") and user is not None:
        jobs = jobs.filter(requested_by=user)
    return jobs


def job_table_context(params, user) -> dict:
    page = Paginator(filter_jobs(params, user), PAGE_SIZE).get_page(params.get("page") or 1)
    rest = params.copy()
    rest.pop("page", None)
    return {"page_obj": page, "jobs": page.object_list, "filter_query": rest.urlencode()}
