"""Update servers (WSUS) and their catalog."""
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.views import View

from compliance.filters import UpdateFilterSet, UpdateServerFilterSet
from compliance.models import Update, UpdateServer
from compliance.orchestration import submit_sync
from compliance.tables import UpdateServerTable, UpdateTable
from core.audit import AuditAction, record
from core.htmx import go_to
from core.roles import OperatorRequiredMixin
from core.views.generic import ObjectListView


class UpdateServerListView(ObjectListView):
    model = UpdateServer
    table_class = UpdateServerTable
    filterset_class = UpdateServerFilterSet
    title = "Update servers"
    add_url_name = "fabric:updateserver_add"
    add_label = "Add update server"
    help_text = (
        "WSUS servers Ferry reads the update catalog from. Administrators add one here (Ferry discovers it "
        "over WinRM) or with manage.py add_update_server."
    )

    def get_queryset(self):
        return UpdateServer.objects.annotate(update_count=Count("updates", filter=Q(updates__in_catalog=True)))


class SyncView(OperatorRequiredMixin, View):
    def post(self, request, pk):
        server = get_object_or_404(UpdateServer, pk=pk)
        job, created = submit_sync(server, request.user)
        record(request, AuditAction.ACTION, server, f"catalog sync {'started' if created else 'already running'}: job #{job.pk}")
        return go_to(request, job.get_absolute_url())


class UpdateListView(ObjectListView):
    model = Update
    table_class = UpdateTable
    filterset_class = UpdateFilterSet
    title = "Update catalog"

    def get_queryset(self):
        return Update.objects.filter(in_catalog=True).select_related("server").order_by("-release_date", "kb")
