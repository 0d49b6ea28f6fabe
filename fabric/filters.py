"""Filters for the fabric lists (django-filter). Each list has a free-text search `q`."""
import django_filters
from django import forms
from django.db.models import Q

from fabric.choices import AuditAction, HostStatus, NodeState, VMState
from fabric.models import (
    AuditEntry,
    Cluster,
    DeploymentServer,
    Host,
    LibraryImage,
    LogicalNetwork,
    PhysicalComputerProfile,
    RunAsAccount,
    Subnet,
    VirtualMachine,
)
from fabric.models.indexes import distinct_values

YES_NO = [("", "Any"), ("true", "Yes"), ("false", "No")]


def _distinct(model, field):
    def choices():
        values = model.objects.exclude(**{field: ""}).order_by(field).values_list(field, flat=True).distinct()
        return [(v, v) for v in values]

    return choices


def cluster_filter():
    """The cluster by the beginning of its name: a fabric of 600 clusters makes a drop-down of every
    one of them unusable and slow to render."""
    return django_filters.CharFilter(
        label="Cluster", field_name="cluster__name", lookup_expr="istartswith",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Cluster…", "autocomplete": "off"}),
    )


class SearchFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search…", "autocomplete": "off"}),
    )
    search_fields: tuple[str, ...] = ("name",)
    # Lists that grow with the fabric (hosts, VMs, clusters) find names by their beginning, which an
    # index serves on both databases (fabric.models.indexes); short lists find any part of a name.
    search_lookup = "icontains"

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__{self.search_lookup}": value})
        return queryset.filter(condition)


class HostFilterSet(SearchFilterSet):
    search_fields = ("name", "fqdn", "address")
    search_lookup = "istartswith"
    cluster = cluster_filter()
    status = django_filters.ChoiceFilter(choices=HostStatus.choices, empty_label="Any status")
    os_name = django_filters.ChoiceFilter(label="OS", choices=lambda: [(v, v) for v in distinct_values(Host, "os_name")],
                                          empty_label="Any OS")
    node_state = django_filters.ChoiceFilter(
        label="Node state", choices=NodeState.choices, empty_label="Any node state"
    )

    class Meta:
        model = Host
        fields = ["q", "cluster", "status", "os_name", "node_state"]


class VirtualMachineFilterSet(SearchFilterSet):
    search_lookup = "istartswith"
    state = django_filters.ChoiceFilter(choices=VMState.choices, empty_label="Any state")
    cluster = cluster_filter()
    node = django_filters.CharFilter(
        label="Owner node", field_name="host__name", lookup_expr="istartswith",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Owner node…", "autocomplete": "off"}),
    )
    highly_available = django_filters.BooleanFilter(
        label="Highly available", widget=forms.Select(choices=YES_NO)
    )

    class Meta:
        model = VirtualMachine
        fields = ["q", "state", "cluster", "node", "highly_available"]


class ClusterFilterSet(SearchFilterSet):
    search_fields = ("name", "fqdn")
    search_lookup = "istartswith"
    mixed_mode = django_filters.BooleanFilter(
        label="Mixed mode", field_name="mixed_mode_since", lookup_expr="isnull", exclude=True,
        widget=forms.Select(choices=YES_NO),
    )

    class Meta:
        model = Cluster
        fields = ["q", "mixed_mode"]


class RunAsAccountFilterSet(SearchFilterSet):
    search_fields = ("name", "username", "description")

    class Meta:
        model = RunAsAccount
        fields = ["q"]


class LibraryImageFilterSet(SearchFilterSet):
    search_fields = ("name", "os_name", "vhd_path")

    class Meta:
        model = LibraryImage
        fields = ["q"]


class PhysicalComputerProfileFilterSet(SearchFilterSet):
    search_fields = ("name", "domain", "description")

    class Meta:
        model = PhysicalComputerProfile
        fields = ["q"]


class DeploymentServerFilterSet(SearchFilterSet):
    search_fields = ("name", "address")

    class Meta:
        model = DeploymentServer
        fields = ["q"]


class LogicalNetworkFilterSet(SearchFilterSet):
    """Finds a network by its name or by one of its subnets (name or CIDR)."""

    class Meta:
        model = LogicalNetwork
        fields = ["q"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        subnets = Subnet.objects.filter(Q(name__icontains=value) | Q(cidr__icontains=value))
        return queryset.filter(
            Q(name__icontains=value) | Q(description__icontains=value) | Q(pk__in=subnets.values("logical_network_id"))
        )


class AuditEntryFilterSet(SearchFilterSet):
    search_fields = ("object_repr", "username", "detail")
    action = django_filters.ChoiceFilter(choices=AuditAction.choices, empty_label="Any action")
    object_type = django_filters.ChoiceFilter(
        label="Object type", choices=_distinct(AuditEntry, "object_type"), empty_label="Any object type"
    )
    username = django_filters.CharFilter(
        label="Who", lookup_expr="iexact",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "User name", "autocomplete": "off"}),
    )

    class Meta:
        model = AuditEntry
        fields = ["q", "action", "object_type", "username"]
