"""Maintenance windows of a host group, cluster or host: listed with where they come from, added
and removed by an administrator (each change audited)."""
from zoneinfo import available_timezones

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.forms import ModelForm, Select
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views import View

from core.audit import AuditAction, record
from core.roles import (
    ADMINISTRATOR,
    AdministratorRequiredMixin,
    RoleRequiredMixin,
    has_role,
)
from fabric import maintenance
from fabric.models import Cluster, Host, HostGroup, MaintenanceWindow

SCOPES = {"group": (HostGroup, "host_group"), "cluster": (Cluster, "cluster"), "host": (Host, "host")}


class WindowForm(ModelForm):
    class Meta:
        model = MaintenanceWindow
        fields = ["weekday", "start", "end", "time_zone"]
        widgets = {"time_zone": Select(choices=[(z, z) for z in sorted(available_timezones())])}

    def __init__(self, *args, scope_field: str, scope, **kwargs):
        super().__init__(*args, **kwargs)
        setattr(self.instance, scope_field, scope)
        self.fields["start"].widget.input_type = "time"
        self.fields["end"].widget.input_type = "time"

    def clean(self):
        data = super().clean()
        if data.get("start") is not None and data.get("start") == data.get("end"):
            self.add_error("end", "A window that closes when it opens would last a whole day; give its end.")
        return data


def _scope(kind: str, pk: int):
    if kind not in SCOPES:
        from django.http import Http404

        raise Http404("No such scope")
    model, field = SCOPES[kind]
    return get_object_or_404(model, pk=pk), field


def _describe(scope) -> str:
    if isinstance(scope, HostGroup):
        return f"host group {scope.path()}"
    return f"{'cluster' if isinstance(scope, Cluster) else 'host'} {scope.name}"


class WindowsView(RoleRequiredMixin, View):
    template_name = "compliance/maintenance_windows.html"

    def get(self, request, kind, pk):
        scope, field = _scope(kind, pk)
        return self._render(request, kind, scope, WindowForm(scope_field=field, scope=scope))

    def post(self, request, kind, pk):
        if not has_role(request.user, ADMINISTRATOR):
            raise PermissionDenied("Only an administrator changes maintenance windows.")
        scope, field = _scope(kind, pk)
        form = WindowForm(request.POST, scope_field=field, scope=scope)
        if not form.is_valid():
            return self._render(request, kind, scope, form, status=422)
        window = form.save()
        record(request, AuditAction.CREATE, window, f"maintenance window of {_describe(scope)}: {window}")
        messages.success(request, f"Added the maintenance window {window} to {_describe(scope)}.")
        return redirect("compliance:maintenance_windows", kind=kind, pk=pk)

    def _render(self, request, kind, scope, form, status=200):
        own = MaintenanceWindow.objects.filter(**{SCOPES[kind][1]: scope})
        if isinstance(scope, Host):
            effective = maintenance.for_host(scope)
        elif isinstance(scope, Cluster):
            effective = maintenance.for_cluster(scope)
        else:
            effective = maintenance.for_group(scope)
        return TemplateResponse(request, self.template_name, {
            "scope": scope, "kind": kind, "scope_label": _describe(scope), "own": own, "effective": effective,
            "form": form, "can_edit": has_role(request.user, ADMINISTRATOR),
        }, status=status)


class WindowDeleteView(AdministratorRequiredMixin, View):
    def post(self, request, pk):
        window = get_object_or_404(MaintenanceWindow, pk=pk)
        scope = window.scope
        kind = next(k for k, (model, _) in SCOPES.items() if isinstance(scope, model))
        record(request, AuditAction.DELETE, window, f"maintenance window of {_describe(scope)}: {window}")
        window.delete()
        messages.success(request, f"Removed the maintenance window from {_describe(scope)}.")
        return redirect("compliance:maintenance_windows", kind=kind, pk=scope.pk)
