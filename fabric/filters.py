"""Filters for the fabric lists (django-filter). Each list has a free-text search `q`."""
import django_filters
from django import forms
from django.db.models import Q

from core.filters import YES_NO, SearchFilterSet
from core.indexes import distinct_values
from fabric.choices import HostStatus, NodeState, VMState, WitnessKind
from fabric.models import (
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


def cluster_filter():
    """The cluster by the beginning of its name: a fabric of 600 clusters makes a drop-down of every
    one of them unusable and slow to render."""
    return django_filters.CharFilter(
        label="Cluster", field_name="cluster__name", lookup_expr="istartswith",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Cluster…", "autocomplete": "off"}),
    )


class HostFilterSet(SearchFilterSet):
    search_fields = ("name", "fqdn", "address")
    search_lookup = "istartswith"
    cluster = cluster_filter()
    status = django_filters.ChoiceFilter(choices=HostStatus.choices, empty_label="Any status")
    os_name = django_filters.ChoiceFilter(label="OS",
                                          choices=lambda: [(v, v) for v in distinct_values(Host, "os_name")],
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


WITNESS_NOT_READ = "not_read"


class ClusterFilterSet(SearchFilterSet):
    search_fields = ("name", "fqdn")
    search_lookup = "istartswith"
    mixed_mode = django_filters.BooleanFilter(
        label="Mixed mode", field_name="mixed_mode_since", lookup_expr="isnull", exclude=True,
        widget=forms.Select(choices=YES_NO),
    )

    witness = django_filters.ChoiceFilter(
        label="Witness", choices=[*WitnessKind.choices, (WITNESS_NOT_READ, "not read yet")], method="filter_witness",
    )

    class Meta:
        model = Cluster
        fields = ["q", "mixed_mode", "witness"]

    def filter_witness(self, queryset, name, value):
        return queryset.filter(witness_kind="" if value == WITNESS_NOT_READ else value)


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
