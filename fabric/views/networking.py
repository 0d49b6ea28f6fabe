"""Networking: logical networks, their subnets, static IP pools and the addresses taken from them."""
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property

from core.views.generic import (
    ObjectCreateView,
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    count_of,
    paginated,
)
from fabric.filters import LogicalNetworkFilterSet
from fabric.forms import LogicalNetworkForm, StaticIPPoolForm, SubnetForm
from fabric.models import IPAllocation, LogicalNetwork, StaticIPPool, Subnet
from fabric.tables import IPAllocationTable, LogicalNetworkTable


def pools_with_usage():
    return StaticIPPool.objects.select_related("subnet").annotate(allocated=count_of(IPAllocation, "pool"))


def allocation_blocker(count: int, what: str) -> list[str]:
    if not count:
        return []
    return [f"{count} address{'es are' if count != 1 else ' is'} allocated from {what}: release them first."]


class LogicalNetworkListView(ObjectListView):
    model = LogicalNetwork
    table_class = LogicalNetworkTable
    filterset_class = LogicalNetworkFilterSet
    title = "Logical networks"
    add_url_name = "fabric:logicalnetwork_add"

    def get_queryset(self):
        return LogicalNetwork.objects.annotate(
            subnet_count=count_of(Subnet, "logical_network"),
            pool_count=count_of(StaticIPPool, "subnet__logical_network"),
        )


class LogicalNetworkDetailView(ObjectDetailView):
    model = LogicalNetwork
    template_name = "fabric/logicalnetwork_detail.html"
    fields = ["name", "description"]
    edit_url_name = "fabric:logicalnetwork_edit"
    delete_url_name = "fabric:logicalnetwork_delete"
    list_url_name = "fabric:logicalnetwork_list"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["subnets"] = self.object.subnets.prefetch_related(Prefetch("pools", queryset=pools_with_usage()))
        return context


class LogicalNetworkCreateView(ObjectCreateView):
    model = LogicalNetwork
    form_class = LogicalNetworkForm
    cancel_url_name = "fabric:logicalnetwork_list"


class LogicalNetworkEditView(ObjectEditView):
    model = LogicalNetwork
    form_class = LogicalNetworkForm


class LogicalNetworkDeleteView(ObjectDeleteView):
    model = LogicalNetwork
    success_url_name = "fabric:logicalnetwork_list"
    consequences = "Its subnets and static IP pools are deleted with it."

    def blockers(self):
        used = IPAllocation.objects.filter(pool__subnet__logical_network=self.object).count()
        return allocation_blocker(used, "its pools")


class SubnetDetailView(ObjectDetailView):
    model = Subnet
    template_name = "fabric/subnet_detail.html"
    fields = ["name", "logical_network", "cidr", "vlan", "gateway", "dns_servers", "dns_suffix"]
    edit_url_name = "fabric:subnet_edit"
    delete_url_name = "fabric:subnet_delete"

    def get_queryset(self):
        return Subnet.objects.select_related("logical_network")

    def parents(self):
        return [self.object.logical_network]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["pools"] = pools_with_usage().filter(subnet=self.object)
        context["parent_url"] = self.object.logical_network.get_absolute_url()
        return context


class SubnetCreateView(ObjectCreateView):
    """A subnet is added inside a logical network (from the URL), never elsewhere."""

    model = Subnet
    form_class = SubnetForm

    @cached_property
    def network(self):
        return get_object_or_404(LogicalNetwork, pk=self.kwargs["network_pk"])

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["instance"] = Subnet(logical_network=self.network)
        return kwargs

    def get_cancel_url(self):
        return self.network.get_absolute_url()

    def get_success_url(self):
        return self.network.get_absolute_url()


class SubnetEditView(ObjectEditView):
    model = Subnet
    form_class = SubnetForm


class SubnetDeleteView(ObjectDeleteView):
    model = Subnet
    consequences = "Its static IP pools are deleted with it."

    def blockers(self):
        return allocation_blocker(IPAllocation.objects.filter(pool__subnet=self.object).count(), "its pools")

    def get_success_url(self):
        return self.object.logical_network.get_absolute_url()


class StaticIPPoolDetailView(ObjectDetailView):
    model = StaticIPPool
    template_name = "fabric/pool_detail.html"
    partials = {"allocations": "fabric/pool_detail.html#allocations"}
    fields = ["name", "subnet", "range_start", "range_end"]
    edit_url_name = "fabric:pool_edit"
    delete_url_name = "fabric:pool_delete"

    def get_queryset(self):
        return pools_with_usage().select_related("subnet__logical_network")

    def parents(self):
        return [self.object.subnet.logical_network, self.object.subnet]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        allocations = IPAllocation.objects.filter(pool=self.object).select_related("host")
        context["allocation_table"] = paginated(self.request, IPAllocationTable(allocations))
        context["parent_url"] = self.object.subnet.get_absolute_url()
        return context


class StaticIPPoolCreateView(ObjectCreateView):
    """A pool is added inside a subnet (from the URL), so its range can be checked against it."""

    model = StaticIPPool
    form_class = StaticIPPoolForm

    @cached_property
    def subnet(self):
        return get_object_or_404(Subnet, pk=self.kwargs["subnet_pk"])

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["instance"] = StaticIPPool(subnet=self.subnet)
        return kwargs

    def get_cancel_url(self):
        return self.subnet.get_absolute_url()


class StaticIPPoolEditView(ObjectEditView):
    model = StaticIPPool
    form_class = StaticIPPoolForm


class StaticIPPoolDeleteView(ObjectDeleteView):
    model = StaticIPPool

    def blockers(self):
        return allocation_blocker(self.object.allocations.count(), "this pool")

    def get_success_url(self):
        return self.object.subnet.get_absolute_url()
