"""Compliance: each host's state and its baselines' (as the last scan found them); start a scan."""
import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api import serializers as s
from compliance.choices import ComplianceState
from compliance.models import HostCompliance
from compliance.orchestration import NothingToDo, submit_scan
from core import audit
from core.audit import AuditAction
from fabric.models import Cluster, Host


class HostComplianceFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=ComplianceState.choices)
    cluster = django_filters.ModelChoiceFilter(field_name="host__cluster", queryset=Cluster.objects.all())
    host = django_filters.ModelChoiceFilter(field_name="host", queryset=Host.objects.all())

    class Meta:
        model = HostCompliance
        fields = ["state", "cluster", "host"]


class ComplianceStateList(generics.ListAPIView):
    """Every scanned host: its overall state and each baseline's state."""

    queryset = (HostCompliance.objects.select_related("host", "host__cluster")
                .prefetch_related("host__baseline_compliance__baseline").order_by("host__name"))
    serializer_class = s.HostComplianceSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = HostComplianceFilter


class ScanView(APIView):
    """Scan a cluster, a host, or (neither given) every host with a baseline. 201 with the new job;
    200 with the scan already running there."""

    @extend_schema(request=s.ScanRequestSerializer,
                   responses={200: s.JobSerializer, 201: s.JobSerializer, 409: s.RefusalSerializer})
    def post(self, request):
        scan = s.ScanRequestSerializer(data=request.data)
        scan.is_valid(raise_exception=True)
        target = scan.validated_data.get("cluster") or scan.validated_data.get("host")
        try:
            job, created = submit_scan(target, request.user)
        except NothingToDo as nothing:
            return Response({"detail": str(nothing)}, status=status.HTTP_409_CONFLICT)
        audit.record(request, AuditAction.ACTION, job,
                     f"scan {'started' if created else 'already running'} through the API: {job.title}")
        return Response(s.JobSerializer(job, context={"request": request}).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
