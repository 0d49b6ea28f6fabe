"""Fabric › Servers › Compliance: every host and cluster against its baselines, Scan, drill-down."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.html import escape
from django.views import View
from django.views.generic import TemplateView

from compliance import baselines as bl
from compliance.choices import ComplianceState, UpdateState
from compliance.forms import ExemptionForm
from compliance.models import Baseline, BaselineCompliance, Exemption, HostCompliance, UpdateStatus
from compliance.orchestration import NothingToDo, submit_scan
from compliance.summary import SORTS, build_summary, group_paths, page_groups
from compliance.views.common import Selection
from core.audit import AuditAction, record
from core.display import iso_utc
from core.htmx import go_to, partial_or_page
from core.roles import (
    ADMINISTRATOR,
    OPERATOR,
    AdministratorRequiredMixin,
    OperatorRequiredMixin,
    RoleRequiredMixin,
    has_role,
)
from core.tables import CsvExport
from fabric.models import Host, HostGroup

ROWS_PER_PAGE = 100


class ComplianceView(RoleRequiredMixin, TemplateView):
    template_name = "compliance/compliance.html"

    partials = {"compliance-results": "compliance/compliance.html#results"}

    def get_template_names(self):
        return [partial_or_page(self.request, self.template_name, self.partials)]

    def filters(self) -> dict:
        """The state, baseline, group and name the query string asks for (unknown values ignored)."""
        q = self.request.GET
        state = q.get("state", "")
        if state not in ComplianceState.values:
            state = ""
        baseline = int(q["baseline"]) if q.get("baseline", "").isdigit() else None
        group = HostGroup.objects.filter(pk=q["group"]).first() if q.get("group", "").isdigit() else None
        sort = q.get("sort", "") if q.get("sort", "") in SORTS else ""
        return {"state": state, "baseline": baseline, "group": group, "search": q.get("q", "").strip()[:100],
                "sort": sort}

    def get(self, request, *args, **kwargs):
        if request.GET.get("_export") == "csv":
            return self.export(build_summary(**self.filters()))
        return super().get(request, *args, **kwargs)

    @staticmethod
    def export(summary):
        """Every host the filters select, a row each (clusters as a column), as CSV."""
        headers = ["Host", "Cluster", "State", *(b.name for b in summary.baselines), "Missing updates",
                   "Running VMs", "Last scan", "Error", "Left by a failed job"]

        def label(state):
            return ComplianceState(state).label if state in ComplianceState.values else state or ""

        rows = ([row.host.name, row.host.cluster.name if row.host.cluster else "", row.state_label,
                 *(label(row.baseline_states.get(b.pk)) for b in summary.baselines),
                 row.missing, row.running_vms, iso_utc(row.last_scan), row.error, row.host.failure_state]
                for row in summary.every_row())
        return CsvExport.of_rows(headers, rows).response(filename="compliance.csv")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        chosen = self.filters()
        summary = build_summary(**chosen)
        page = Paginator(summary.rows, ROWS_PER_PAGE).get_page(self.request.GET.get("page"))
        group = chosen["group"]
        filters = {"state": chosen["state"], "baseline": chosen["baseline"] or "", "group": group.pk if group else "",
                   "q": chosen["search"], "sort": chosen["sort"]}
        context.update(
            summary=summary,
            page=page,
            groups_on_page=page_groups(page.object_list, summary.clusters),
            chart=summary.chart(),
            states=ComplianceState,
            sorts=SORTS,
            filters=filters,
            all_baselines=Baseline.objects.order_by("name"),
            groups=group_paths(),
            can_act=has_role(self.request.user, OPERATOR),
        )
        return context


class HostComplianceView(RoleRequiredMixin, TemplateView):
    """One host: each baseline, each update's state, missing updates first; exemptions."""

    template_name = "compliance/host_compliance.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        host = get_object_or_404(Host.objects.select_related("cluster", "host_group"), pk=self.kwargs["pk"])
        order = {UpdateState.FAILED: 0, UpdateState.MISSING: 1, UpdateState.PENDING_REBOOT: 2, UpdateState.EXEMPT: 3,
                 UpdateState.INSTALLED: 4, UpdateState.NOT_APPLICABLE: 5}
        statuses = list(UpdateStatus.objects.filter(host=host).select_related("update", "baseline"))
        by_baseline = {}
        for status in sorted(statuses, key=lambda s: (order.get(s.state, 9), s.update.kb)):
            by_baseline.setdefault(status.baseline_id, []).append(status)
        rows = []
        for row in BaselineCompliance.objects.filter(host=host).select_related("baseline"):
            rows.append({"compliance": row, "baseline": row.baseline, "statuses": by_baseline.get(row.baseline_id, [])})
        for baseline in bl.effective_baselines(host):
            if not any(r["baseline"].pk == baseline.pk for r in rows):
                rows.append({"compliance": None, "baseline": baseline, "statuses": []})
        context.update(
            host=host,
            record=HostCompliance.objects.filter(host=host).first(),
            baselines=rows,
            exemptions=Exemption.objects.filter(host=host).select_related("update"),
            can_exempt=has_role(self.request.user, ADMINISTRATOR),
            can_act=has_role(self.request.user, OPERATOR),
            blocking=(UpdateState.MISSING, UpdateState.FAILED),
        )
        return context


class ScanView(OperatorRequiredMixin, View):
    """POST: scan the selection (or, with nothing selected, every host that has a baseline)."""

    def post(self, request):
        selection = Selection.from_request(request)
        if selection.invalid:
            return HttpResponseBadRequest("Unknown selection: " + escape(", ".join(selection.invalid)))
        targets = selection.clusters + selection.hosts or [None]
        jobs = []
        for target in targets:
            try:
                job, created = submit_scan(target, request.user)
            except NothingToDo as nothing:
                messages.warning(request, str(nothing))
                continue
            record(request, AuditAction.ACTION, job, f"scan {'started' if created else 'already running'}: {job.title}")
            jobs.append(job)
        if not jobs:
            return go_to(request, reverse("compliance:compliance"))
        if len(jobs) == 1:
            return go_to(request, jobs[0].get_absolute_url())
        messages.success(request, f"Started {len(jobs)} scans.")
        return go_to(request, reverse("jobs:job_list"))


class ExemptView(AdministratorRequiredMixin, View):
    def post(self, request, pk):
        host = get_object_or_404(Host, pk=pk)
        form = ExemptionForm(request.POST)
        if not form.is_valid():
            messages.error(request, "The exemption needs a note saying why. " + form.errors.as_text())
            return redirect("compliance:host_compliance", pk=host.pk)
        with transaction.atomic():
            exemption = bl.exempt(host, form.cleaned_data["update"], form.cleaned_data["note"], request.user)
            record(request, AuditAction.CREATE, exemption, f"note: {exemption.note}")
        messages.success(request, f"{host} is exempt from {exemption.update.kb_label}.")
        return redirect("compliance:host_compliance", pk=host.pk)


class ExemptionDeleteView(AdministratorRequiredMixin, View):
    def post(self, request, pk):
        exemption = get_object_or_404(Exemption.objects.select_related("host", "update"), pk=pk)
        host = exemption.host
        with transaction.atomic():
            record(request, AuditAction.DELETE, exemption, "")
            bl.remove_exemption(exemption)
        messages.success(request, f"{host} must have {exemption.update.kb_label} again.")
        return redirect("compliance:host_compliance", pk=host.pk)


__all__ = ["ComplianceView", "ExemptView", "ExemptionDeleteView", "HostComplianceView", "ScanView"]
