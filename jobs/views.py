"""The Jobs workspace: list, job page (+ its polling fallback), cancel and the recovery actions of a
failed job (retry from the failed step, skip the failed step or node, resume a failed node)."""
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.views import View
from django_htmx.http import HttpResponseStopPolling

from core import audit
from core.audit import AuditAction
from core.htmx import go_to
from core.roles import OPERATOR, OperatorRequiredMixin, RoleRequiredMixin, has_role
from core.views.generic import ObjectListView
from jobs import reports
from jobs.choices import TERMINAL, InvalidTransition, JobStatus
from jobs.engine import cancel_job, restart_job
from jobs.filters import PAGE_SIZE, JobFilterSet, clean_params, job_queryset
from jobs.live.render import live_context
from jobs.models import Job
from jobs.tables import JobTable


class JobListView(ObjectListView):
    """The list of jobs. Its table is live: the page's socket (consumers.JobsConsumer) sends it
    again, rendered by jobs.filters.job_table_context, whenever a job changes; polling is the
    fallback while the socket is closed."""

    model = Job
    table_class = JobTable
    filterset_class = JobFilterSet
    table_pagination = {"per_page": PAGE_SIZE}
    template_name = "jobs/job_list.html"
    partials = {"results": "jobs/job_list.html#results", "job-table": "jobs/job_list.html#job_table"}
    title = "Jobs"

    def get_queryset(self):
        return job_queryset()

    def partial_requested(self):
        htmx = self.request.htmx
        target = super().partial_requested()
        if target is None and htmx and not htmx.boosted and not htmx.history_restore_request:
            return "job-table"  # the polling fallback
        return target

    def get_context_data(self, **kwargs):
        params = clean_params(self.request.GET)
        socket_query = params.copy()
        socket_query["view"] = "list"
        context = super().get_context_data(**kwargs)
        context.update(params=params, socket_query=socket_query.urlencode())
        return context


class JobDetailView(RoleRequiredMixin, View):
    def get(self, request, pk):
        job = _visible_job(request, pk)
        context = live_context(job, has_role(request.user, OPERATOR))
        return TemplateResponse(request, "jobs/job_detail.html", context)


class JobLiveView(RoleRequiredMixin, View):
    """The polling fallback: the job page's live region; once the job has ended, the last one with
    htmx's "stop polling" status."""

    def get(self, request, pk):
        job = _visible_job(request, pk)
        context = live_context(job, has_role(request.user, OPERATOR))
        if job.status in TERMINAL:
            return HttpResponseStopPolling(render_to_string("jobs/job_detail.html#job_live", context, request))
        return TemplateResponse(request, "jobs/job_detail.html#job_live", context)


class JobCancelView(OperatorRequiredMixin, View):
    def post(self, request, pk):
        job = _visible_job(request, pk)
        try:
            job = cancel_job(job, request.user)
        except InvalidTransition as exc:
            messages.error(request, str(exc))
        else:
            detail = "cancelled" if job.status == JobStatus.CANCELLED else "cancel requested"
            audit.record(request, AuditAction.ACTION, job, detail=f"Job {detail}")
            messages.info(request, f"Job #{job.pk}: {detail}.")
        return _back_to(request, job)


class JobRestartView(OperatorRequiredMixin, View):
    """Retry from the failed step; Skip the failed step (a step outside any node); Skip the failed node
    and go on."""

    def post(self, request, pk):
        job = _visible_job(request, pk)
        skip_node = request.POST.get("skip_node") == "1"
        skip = request.POST.get("skip_failed") == "1" and not skip_node
        try:
            job = restart_job(job, request.user, skip_failed=skip, skip_node=skip_node)
        except InvalidTransition as exc:
            messages.error(request, str(exc))
        else:
            how = ("going on without the failed node" if skip_node else "restarted skipping the failed step" if skip
                   else "retried from the failed step")
            audit.record(request, AuditAction.ACTION, job, detail=f"Job {how}")
            messages.info(request, f"Job #{job.pk} {how}.")
        return _back_to(request, job)


class JobResumeNodeView(OperatorRequiredMixin, View):
    """Resume node: a job of its own that resumes a node the failed job left out and brings its VMs back."""

    def post(self, request, pk):
        from fabric.nodeops.recovery import submit_resume_node

        job = _visible_job(request, pk)
        try:
            lane_id = int(request.POST.get("lane", ""))
            resume, created = submit_resume_node(job, lane_id, request.user)
        except ValueError:
            messages.error(request, "Choose the node to resume.")
            return _back_to(request, job)
        except InvalidTransition as exc:
            messages.error(request, str(exc))
            return _back_to(request, job)
        if not created:
            messages.error(request, f"Job #{resume.pk} ({resume.title}) is active on this cluster: Resume node "
                                    "waits until it has ended.")
            return _back_to(request, job)
        audit.record(request, AuditAction.ACTION, resume, detail=f"Resume node started after job #{job.pk} failed")
        messages.info(request, f"Job #{resume.pk} resumes the node and brings its VMs back.")
        return _back_to(request, resume)


def _back_to(request, job: Job):
    """The job page again, for the live page's buttons (htmx) and a plain form alike."""
    return go_to(request, job.get_absolute_url())


def _visible_job(request, pk) -> Job:
    job = get_object_or_404(Job.objects.select_related("requested_by", "cancel_requested_by", "target_type"), pk=pk)
    if not job.can_view(request.user):
        raise Http404
    return job


class JobReportView(RoleRequiredMixin, View):
    """The run report of a finished job, as a printable page or (`?format=csv`) a CSV file."""

    csv = False

    def get(self, request, pk):
        job = _visible_job(request, pk)
        if job.status not in TERMINAL:
            raise Http404("The report is made once the job has finished.")
        report = reports.build(job)
        if self.csv:
            response = HttpResponse(reports.as_csv(report), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="ferry-job-{job.pk}-report.csv"'
            return response
        return TemplateResponse(request, "jobs/job_report.html", {"report": report, "job": job})
