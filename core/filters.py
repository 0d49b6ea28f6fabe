"""What every list's filters share (django-filter): the free-text search `q`; and the audit log's filters."""
import django_filters
from django import forms
from django.db.models import Q

from core.models import AuditAction, AuditEntry

YES_NO = [("", "Any"), ("true", "Yes"), ("false", "No")]


def distinct_values(model, field):
    def choices():
        values = model.objects.exclude(**{field: ""}).order_by(field).values_list(field, flat=True).distinct()
        return [(v, v) for v in values]

    return choices


class SearchFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search…", "autocomplete": "off"}),
    )
    search_fields: tuple[str, ...] = ("name",)
    # Lists that grow with the fabric (hosts, VMs, clusters) find names by their beginning, which an
    # index serves on both databases (core.indexes); short lists find any part of a name.
    search_lookup = "icontains"

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__{self.search_lookup}": value})
        return queryset.filter(condition)


class AuditEntryFilterSet(SearchFilterSet):
    search_fields = ("object_repr", "username", "detail")
    action = django_filters.ChoiceFilter(choices=AuditAction.choices, empty_label="Any action")
    object_type = django_filters.ChoiceFilter(
        label="Object type", choices=distinct_values(AuditEntry, "object_type"), empty_label="Any object type"
    )
    username = django_filters.CharFilter(
        label="Who", lookup_expr="iexact",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "User name", "autocomplete": "off"}),
    )

    class Meta:
        model = AuditEntry
        fields = ["q", "action", "object_type", "username"]
