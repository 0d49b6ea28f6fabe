"""Update servers (WSUS) and their catalog."""
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.views import View
from django.views.generic import ListView, TemplateView

from compliance.choices import UpdateClassification, UpdateSeverity
from compliance.models import Update, UpdateServer
from compliance.orchestration import submit_sync
from compliance.views.common import go_to
from fabric.audit import record
from fabric.choices import AuditAction
from fabric.roles import ADMINISTRATOR, OPERATOR, OperatorRequiredMixin, RoleRequiredMixin, has_role


class UpdateServerListView(RoleRequiredMixin, ListView):
    template_name = "compliance/updateserver_list.html"

    def get_queryset(self):
        return UpdateServer.objects.annotate(update_count=Count("updates", filter=Q(updates__in_catalog=True)))

    def get_context_data(self, **kwargs):
        return super().get_context_data(can_act=has_role(self.request.user, OPERATOR),
                                        can_add=has_role(self.request.user, ADMINISTRATOR), **kwargs)


class SyncView(OperatorRequiredMixin, View):
    def post(self, request, pk):
        server = get_object_or_404(UpdateServer, pk=pk)
        job, created = submit_sync(server, request.user)
        record(request, AuditAction.ACTION, server, f"catalog sync {'started' if created else 'already running'}: job #{job.pk}")
        return go_to(request, job.get_absolute_url())


class UpdateListView(RoleRequiredMixin, TemplateView):
    template_name = "compliance/update_list.html"

    def get_context_data(self, **kwargs):
        q = self.request.GET
        updates = Update.objects.filter(in_catalog=True).select_related("server")
        if q.get("classification"):
            updates = updates.filter(classification=q["classification"])
        if q.get("severity") is not None and q.get("severity") in UpdateSeverity.values and "severity" in q:
            updates = updates.filter(severity=q["severity"])
        if q.get("superseded") == "hide":
            updates = updates.filter(superseded=False)
        if q.get("q"):
            text = q["q"].strip().upper().removeprefix("KB")
            updates = updates.filter(Q(kb__icontains=text) | Q(title__icontains=q["q"].strip()))
        page = Paginator(updates.order_by("-release_date", "kb"), 100).get_page(q.get("page"))
        return super().get_context_data(
            page=page, classifications=UpdateClassification.choices, severities=UpdateSeverity.choices,
            filters=q, **kwargs,
        )
