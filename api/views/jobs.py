"""Jobs: the list (the job page's filters), one job with its steps, cancel, restart."""
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api import serializers as s
from core import audit
from core.audit import AuditAction
from jobs.choices import InvalidTransition, JobStatus
from jobs.engine import cancel_job, restart_job
from jobs.filters import JobFilterSet, clean_params, job_queryset
from jobs.models import Job

FILTERS = [
    OpenApiParameter("status", OpenApiTypes.STR, description="active, finished, or one status"),
    OpenApiParameter("kind", OpenApiTypes.STR, description="remediation, rolling_upgrade, compliance_scan…"),
    OpenApiParameter("q", OpenApiTypes.STR, description="text in the title, target or kind"),
    OpenApiParameter("target", OpenApiTypes.STR, description="text in the target's name"),
    OpenApiParameter("mine", OpenApiTypes.BOOL, description="only jobs I started"),
]


@extend_schema_view(list=extend_schema(parameters=FILTERS))
class JobViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.JobSerializer

    def get_queryset(self):
        if self.action == "list":
            params = clean_params(self.request.query_params)
            params.pop("page", None)  # the API's own pagination
            params.pop("requested_by", None)
            if self.request.query_params.get("mine") in ("1", "true", "True", "on"):
                params["requested_by"] = str(self.request.user.pk)
            filterset = JobFilterSet(params, queryset=job_queryset(), request=self.request)
            return filterset.qs if filterset.is_valid() else Job.objects.none()
        return Job.objects.select_related("requested_by")

    def get_serializer_class(self):
        return s.JobDetailSerializer if self.action != "list" else s.JobSerializer

    def get_object(self):
        job = super().get_object()
        if not job.can_view(self.request.user):
            raise Http404
        return job

    @extend_schema(request=None, responses={200: s.JobDetailSerializer, 409: s.RefusalSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel: a job nobody started stops at once, a running one at its next safe point."""
        try:
            job = cancel_job(self.get_object(), request.user)
        except InvalidTransition as refused:
            return Response({"detail": str(refused)}, status=status.HTTP_409_CONFLICT)
        detail = "cancelled" if job.status == JobStatus.CANCELLED else "cancel requested"
        audit.record(request, AuditAction.ACTION, job, detail=f"Job {detail} through the API")
        return Response(s.JobDetailSerializer(job, context={"request": request}).data)

    @extend_schema(request=s.RestartSerializer, responses={200: s.JobDetailSerializer, 409: s.RefusalSerializer})
    @action(detail=True, methods=["post"])
    def restart(self, request, pk=None):
        """Run a failed or cancelled job again from its last good step (or skipping the failed one)."""
        options = s.RestartSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        skip = options.validated_data["skip_failed"]
        try:
            job = restart_job(self.get_object(), request.user, skip_failed=skip)
        except InvalidTransition as refused:
            return Response({"detail": str(refused)}, status=status.HTTP_409_CONFLICT)
        how = "restarted skipping the failed step" if skip else "restarted from the last good step"
        audit.record(request, AuditAction.ACTION, job, detail=f"Job {how} through the API")
        return Response(s.JobDetailSerializer(job, context={"request": request}).data)
