"""The job list's filters and table, shared by the page, its polling and its live socket."""
import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.http import HttpRequest, QueryDict
from django.urls import reverse

from core.filters import SearchFilterSet
from core.indexes import distinct_values
from jobs.choices import ACTIVE, TERMINAL, JobKind, JobStatus, kind_label
from jobs.models import Job
from jobs.tables import JobTable

PAGE_SIZE = 50
STATUS_FILTERS = [("active", "Active"), ("finished", "Finished")] + list(JobStatus.choices)
FILTER_KEYS = ("q", "status", "kind", "target", "requested_by", "sort", "page")


def clean_params(data) -> QueryDict:
    """Only the filter keys, so the socket URL and the cache key cannot carry anything else."""
    params = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        value = (data.get(key) or "").strip()[:100]
        if value:
            params[key] = value
    return params


def kind_choices():
    """The known kinds, then any other kind a job in the database has."""
    others = [kind for kind in distinct_values(Job, "kind") if kind not in JobKind.values]
    return list(JobKind.choices) + [(kind, kind_label(kind)) for kind in others]


def requesters(request=None):
    return get_user_model().objects.filter(pk__in=Job.objects.values("requested_by")).order_by("username")


class JobFilterSet(SearchFilterSet):
    search_fields = ("title", "target_label", "kind")
    status = django_filters.ChoiceFilter(choices=STATUS_FILTERS, empty_label="Any status", method="filter_status")
    kind = django_filters.ChoiceFilter(choices=kind_choices, empty_label="Any kind")
    target = django_filters.CharFilter(
        label="Target", field_name="target_label", lookup_expr="icontains",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Cluster or host", "autocomplete": "off"}),
    )
    requested_by = django_filters.ModelChoiceFilter(
        label="Started by", queryset=requesters, empty_label="Anyone", null_label="system",
    )

    class Meta:
        model = Job
        fields = ["q", "status", "kind", "target", "requested_by"]

    def filter_status(self, queryset, name, value):
        if value == "active":
            return queryset.filter(status__in=ACTIVE)
        if value == "finished":
            return queryset.filter(status__in=TERMINAL)
        return queryset.filter(status=value)


def job_queryset():
    return Job.objects.select_related("requested_by")


def job_table_context(params, user) -> dict:
    """What `jobs/job_list.html#job_table` needs, from the cleaned parameters alone (the socket has
    no request of the page: it gets one standing for the list page with these parameters)."""
    request = HttpRequest()
    request.method = "GET"
    request.path = reverse("jobs:job_list")
    request.GET = params
    request.user = user
    filterset = JobFilterSet(params, queryset=job_queryset(), request=request)
    jobs = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    table = JobTable(jobs, request=request, order_by=params.get("sort") or None)
    try:
        table.paginate(page=params.get("page") or 1, per_page=PAGE_SIZE)
    except PageNotAnInteger:
        table.paginate(page=1, per_page=PAGE_SIZE)
    except EmptyPage:  # as the page itself (django-tables2's RequestConfig) answers it: the last page
        table.paginate(page=table.paginator.num_pages, per_page=PAGE_SIZE)
    return {"table": table, "filter": filterset, "request": request, "count_nouns": ("job", "jobs")}
