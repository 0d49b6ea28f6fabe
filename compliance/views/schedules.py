"""Scheduled campaigns: listed for everyone, added and cancelled by an operator (audited)."""
from zoneinfo import available_timezones

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django_q.models import Schedule

from compliance.campaigns import CampaignError
from compliance.campaigns.schedules import (
    RUN,
    parse_when,
    schedule_campaign,
    scheduled_campaigns,
)
from compliance.filters import ScheduleFilterSet
from compliance.tables import ScheduleTable
from core.audit import AuditAction, record
from core.roles import OPERATOR, OperatorRequiredMixin, has_role
from core.views.generic import ObjectListView
from fabric.models import Cluster


class ScheduleForm(forms.Form):
    clusters = forms.ModelMultipleChoiceField(queryset=Cluster.objects.order_by("name"))
    when = forms.CharField(help_text="A moment (2026-12-12 02:00) or every month (second Saturday 02:00).")
    time_zone = forms.ChoiceField(choices=[(z, z) for z in sorted(available_timezones())], initial="UTC")
    parallel = forms.IntegerField(label="At most N clusters at once", min_value=1, max_value=50, initial=2)
    max_failed_clusters = forms.IntegerField(min_value=0, initial=0,
                                             help_text="Clusters that may fail before no new cluster starts.")

    def clean(self):
        data = super().clean()
        if data.get("when") and data.get("time_zone"):
            try:
                data["rule"] = parse_when(data["when"], data["time_zone"])
            except ValueError as error:
                self.add_error("when", str(error))
        return data


class ScheduleListView(ObjectListView):
    """The scheduled campaigns (a table like every list, exported as seen) with the form that adds one."""

    model = Schedule
    template_name = "compliance/schedules.html"
    table_class = ScheduleTable
    filterset_class = ScheduleFilterSet
    title = "Scheduled campaigns"
    count_nouns = ("scheduled campaign", "scheduled campaigns")
    form = None

    def get_queryset(self):
        return scheduled_campaigns().order_by("next_run", "pk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_schedule"] = has_role(self.request.user, OPERATOR)
        context["form"] = self.form or ScheduleForm(initial={"time_zone": "UTC", "parallel": 2,
                                                             "max_failed_clusters": 0})
        return context

    def post(self, request):
        if not has_role(request.user, OPERATOR):
            raise PermissionDenied("Only an operator schedules campaigns.")
        form = ScheduleForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                schedule = schedule_campaign(data["clusters"], data["rule"], parallel=data["parallel"],
                                             max_failed_clusters=data["max_failed_clusters"], user=request.user)
            except CampaignError as error:
                form.add_error(None, str(error))
            else:
                record(request, AuditAction.CREATE, schedule, f"scheduled: {schedule.name}",
                       object_type="scheduled campaign", object_repr=schedule.name)
                messages.success(request, f"Scheduled: {schedule.name}.")
                return redirect("compliance:schedule_list")
        self.form = form
        response = self.get(request)
        response.status_code = 422
        return response


class ScheduleCancelView(OperatorRequiredMixin, View):
    def post(self, request, pk):
        schedule = get_object_or_404(Schedule, pk=pk, func=RUN)
        record(request, AuditAction.DELETE, schedule, f"cancelled: {schedule.name}",
               object_type="scheduled campaign", object_repr=schedule.name)
        schedule.delete()
        messages.success(request, f"Cancelled: {schedule.name}.")
        return redirect("compliance:schedule_list")
