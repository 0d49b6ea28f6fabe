"""The fabric, read only, with the same filters as the pages' lists (fabric.filters)."""
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets

from api import serializers as s
from fabric.choices import ClusterKind
from fabric.filters import ClusterFilterSet, HostFilterSet, VirtualMachineFilterSet
from fabric.models import Cluster, Host, VirtualMachine


class ClusterViewSet(viewsets.ReadOnlyModelViewSet):
    """Hyper-V clusters and Scale-Out File Servers."""

    queryset = Cluster.objects.select_related("host_group").prefetch_related("nodes").order_by("name")
    serializer_class = s.ClusterSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ClusterFilterSet


class HostViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Host.objects.select_related("host_group", "cluster").order_by("name")
    serializer_class = s.HostSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = HostFilterSet


class VirtualMachineViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = VirtualMachine.objects.select_related("host", "cluster").order_by("name")
    serializer_class = s.VirtualMachineSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = VirtualMachineFilterSet


class FileServerViewSet(viewsets.ReadOnlyModelViewSet):
    """Scale-Out File Server clusters with their shares."""

    queryset = (Cluster.objects.filter(kind=ClusterKind.SOFS).select_related("host_group")
                .prefetch_related("nodes", "shares").order_by("name"))
    serializer_class = s.FileServerSerializer
