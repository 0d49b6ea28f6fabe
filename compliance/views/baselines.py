"""Baselines: list, detail (updates, assignments), create/edit/delete, assign and unassign."""
from django.contrib import messages
from django.db import transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import DetailView
from django.views.generic.edit import FormView

from compliance import baselines as bl
from compliance.filters import BaselineFilterSet
from compliance.forms import AssignmentForm, BaselineForm
from compliance.models import Baseline, BaselineAssignment
from compliance.tables import BaselineTable
from core.audit import AuditAction, record
from core.roles import ADMINISTRATOR, AdministratorRequiredMixin, RoleRequiredMixin, has_role
from core.views.generic import ObjectListView
from fabric.models import Cluster, Host, HostGroup


class BaselineListView(ObjectListView):
    model = Baseline
    table_class = BaselineTable
    filterset_class = BaselineFilterSet
    add_url_name = "compliance:baseline_add"

    def get_queryset(self):
        return Baseline.objects.annotate(update_count=Count("entries", distinct=True),
                                         assignment_count=Count("assignments", distinct=True))


class BaselineDetailView(RoleRequiredMixin, DetailView):
    model = Baseline
    template_name = "compliance/baseline_detail.html"

    def get_context_data(self, **kwargs):
        baseline = self.object
        return super().get_context_data(
            entries=baseline.entries.select_related("update").order_by("-update__release_date", "update__kb"),
            assignments=baseline.assignments.select_related("host_group", "cluster", "host"),
            host_count=bl.hosts_for_baseline(baseline).count(),
            can_edit=has_role(self.request.user, ADMINISTRATOR),
            groups=sorted(HostGroup.objects.all(), key=lambda g: g.path()),
            clusters=Cluster.objects.order_by("name"),
            hosts=Host.objects.order_by("name").only("pk", "name"),
            **kwargs,
        )


class _BaselineFormView(AdministratorRequiredMixin, FormView):
    template_name = "compliance/baseline_form.html"
    form_class = BaselineForm
    baseline = None

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.baseline}

    def form_valid(self, form):
        creating = self.baseline is None
        with transaction.atomic():
            baseline = form.save(commit=False)
            if creating:
                baseline.created_by = self.request.user
            baseline.save()
            changed = bl.set_picked_updates(baseline, form.cleaned_data["picked"])
            added, removed = bl.refresh_rule(baseline)  # a rule switched off drops its entries
            changed = changed or bool(added or removed)
            detail = ", ".join(form.changed_data) + ("; updates changed" if changed else "")
            record(self.request, AuditAction.CREATE if creating else AuditAction.CHANGE, baseline, detail)
        messages.success(self.request, f"{'Created' if creating else 'Saved'} baseline {baseline}."
                         + (" Its hosts are Unknown until the next scan." if changed and not creating else ""))
        return redirect(baseline.get_absolute_url())

    def get_context_data(self, **kwargs):
        return super().get_context_data(baseline=self.baseline, **kwargs)


class BaselineCreateView(_BaselineFormView):
    pass


class BaselineEditView(_BaselineFormView):
    def dispatch(self, request, *args, **kwargs):
        self.baseline = get_object_or_404(Baseline, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)


class BaselineDeleteView(AdministratorRequiredMixin, View):
    def post(self, request, pk):
        baseline = get_object_or_404(Baseline, pk=pk)
        with transaction.atomic():
            hosts = list(bl.hosts_for_baseline(baseline))
            record(request, AuditAction.DELETE, baseline, f"assigned to {len(hosts)} hosts")
            baseline.delete()
            from compliance.evaluation import recompute_hosts

            recompute_hosts(hosts)
        messages.success(request, f"Deleted baseline {baseline}.")
        return redirect("compliance:baseline_list")


class AssignView(AdministratorRequiredMixin, View):
    def post(self, request, pk):
        baseline = get_object_or_404(Baseline, pk=pk)
        form = AssignmentForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.non_field_errors()) or "Choose a host group, cluster or host.")
            return redirect(baseline.get_absolute_url())
        with transaction.atomic():
            assignment, created = bl.assign(baseline, form.cleaned_data["target"], request.user)
            if created:
                record(request, AuditAction.CREATE, assignment, str(assignment))
        if created:
            messages.success(
                request, f"Assigned {baseline} to {assignment.target_label}; its hosts are Unknown until scanned."
            )
        else:
            messages.info(request, f"{baseline} was already assigned to {assignment.target_label}.")
        return redirect(baseline.get_absolute_url())


class AssignmentDeleteView(AdministratorRequiredMixin, View):
    def post(self, request, pk):
        assignment = get_object_or_404(BaselineAssignment.objects.select_related("baseline"), pk=pk)
        baseline = assignment.baseline
        with transaction.atomic():
            record(request, AuditAction.DELETE, assignment, str(assignment))
            bl.unassign(assignment)
        messages.success(request, f"Removed {baseline} from {assignment.target_label}.")
        return redirect(baseline.get_absolute_url())
