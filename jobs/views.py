"""The Jobs workspace: list, job page (+ its polling fallback), cancel and restart."""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views import View
from django.views.generic import TemplateView
from django_htmx.http import HttpResponseClientRedirect

from fabric import audit
from fabric.choices import AuditAction
from fabric.models.indexes import distinct_values
from fabric.roles import OPERATOR, OperatorRequiredMixin, RoleRequiredMixin, has_role
from jobs.choices import TERMINAL, InvalidTransition, JobStatus
from jobs.engine import cancel_job, restart_job
from jobs.filters import STATUS_FILTERS, clean_params, job_table_context
from jobs.live.render import live_context
from jobs.models import Job

# htmx stops polling when it receives this status (the job has ended).
STOP_POLLING = 286


class JobListView(RoleRequiredMixin, TemplateView):
    template_name = "jobs/job_list.html"

    def get_template_names(self):
        if self.request.htmx:
            return ["jobs/job_list.html#job_table"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        params = clean_params(self.request.GET)
        socket_query = params.copy()
        socket_query["view"] = "list"
        return {
            **super().get_context_data(**kwargs),
            **job_table_context(params, self.request.user),
            "params": params,
            "socket_query": socket_query.urlencode(),
            "status_filters": STATUS_FILTERS,
            "kinds": distinct_values(Job, "kind"),
        }


class JobDetailView(RoleRequiredMixin, View):
    def get(self, request, pk):
        job = _visible_job(request, pk)
        context = live_context(job, has_role(request.user, OPERATOR))
        return TemplateResponse(request, "jobs/job_detail.html", context)


class JobLiveView(RoleRequiredMixin, View):
    """The polling fallback: the job page's live region; 286 once the job has ended."""

    def get(self, request, pk):
        job = _visible_job(request, pk)
        context = live_context(job, has_role(request.user, OPERATOR))
        status = STOP_POLLING if job.status in TERMINAL else 200
        return TemplateResponse(request, "jobs/job_detail.html#job_live", context, status=status)


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
    def post(self, request, pk):
        job = _visible_job(request, pk)
        skip = request.POST.get("skip_failed") == "1"
        try:
            job = restart_job(job, request.user, skip_failed=skip)
        except InvalidTransition as exc:
            messages.error(request, str(exc))
        else:
            how = "restarted skipping the failed step" if skip else "restarted from the last good step"
            audit.record(request, AuditAction.ACTION, job, detail=f"Job {how}")
            messages.info(request, f"Job #{job.pk} {how}.")
        return _back_to(request, job)


def _back_to(request, job: Job):
    """The job page again: htmx (the live page's buttons) follows HX-Redirect, a plain form a 302."""
    if request.htmx:
        return HttpResponseClientRedirect(job.get_absolute_url())
    return redirect(job)


def _visible_job(request, pk) -> Job:
    job = get_object_or_404(Job.objects.select_related("requested_by", "cancel_requested_by", "target_type"), pk=pk)
    if not job.can_view(request.user):
        raise Http404
    return job
