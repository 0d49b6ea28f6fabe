"""Settings › Audit log: every change made through Ferry (readable by every role)."""
from fabric.filters import AuditEntryFilterSet
from fabric.models import AuditEntry
from fabric.tables import AuditEntryTable
from fabric.views.base import ObjectListView


class AuditLogView(ObjectListView):
    model = AuditEntry
    table_class = AuditEntryTable
    filterset_class = AuditEntryFilterSet
    title = "Audit log"
    help_text = "Who changed what, when and from which address."
