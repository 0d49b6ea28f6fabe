"""Filters for the compliance lists (django-filter), labelled like their columns."""
import django_filters
from django import forms
from django.db.models import Q
from django_q.models import Schedule

from compliance.choices import UpdateClassification, UpdateSeverity
from compliance.models import Baseline, Update, UpdateServer
from core.filters import YES_NO, SearchFilterSet

# "" means "any" to a filter, so an update without a severity is asked for as "none".
NO_SEVERITY = "none"
SEVERITIES = [(value or NO_SEVERITY, label) for value, label in UpdateSeverity.choices]


class UpdateFilterSet(SearchFilterSet):
    q = django_filters.CharFilter(
        method="search", label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "KB or title", "autocomplete": "off"}),
    )
    classification = django_filters.ChoiceFilter(choices=UpdateClassification.choices, empty_label="Any classification")
    severity = django_filters.ChoiceFilter(
        label="Severity", choices=SEVERITIES, empty_label="Any severity", method="filter_severity"
    )
    superseded = django_filters.BooleanFilter(label="Superseded", widget=forms.Select(choices=YES_NO))
    approved = django_filters.BooleanFilter(label="Approved", widget=forms.Select(choices=YES_NO))
    reboot_required = django_filters.BooleanFilter(label="May need a restart", widget=forms.Select(choices=YES_NO))
    server = django_filters.ModelChoiceFilter(
        label="Update server", queryset=UpdateServer.objects.only("id", "name"), empty_label="Any update server"
    )

    class Meta:
        model = Update
        fields = ["q", "classification", "severity", "superseded", "approved", "reboot_required", "server"]

    def search(self, queryset, name, value):
        text = value.strip()
        if not text:
            return queryset
        kb = text.upper().removeprefix("KB")
        return queryset.filter(Q(kb__icontains=kb) | Q(title__icontains=text))

    def filter_severity(self, queryset, name, value):
        return queryset.filter(severity="" if value == NO_SEVERITY else value)


class BaselineFilterSet(SearchFilterSet):
    search_fields = ("name", "description")
    rule_enabled = django_filters.BooleanFilter(label="Kept current by rule", widget=forms.Select(choices=YES_NO))
    is_sample = django_filters.BooleanFilter(label="Sample", widget=forms.Select(choices=YES_NO))

    class Meta:
        model = Baseline
        fields = ["q", "rule_enabled", "is_sample"]


class UpdateServerFilterSet(SearchFilterSet):
    search_fields = ("name", "address")

    class Meta:
        model = UpdateServer
        fields = ["q"]


class ScheduleFilterSet(SearchFilterSet):
    """The name holds the clusters and the rule ("Campaign: remediate HVA, HVB (every second Saturday …)")."""

    q = django_filters.CharFilter(
        method="search", label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Cluster or rule", "autocomplete": "off"}),
    )

    class Meta:
        model = Schedule
        fields = ["q"]
