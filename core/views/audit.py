"""Settings › Audit log: every change made through Ferry (readable by every role)."""
from core.filters import AuditEntryFilterSet
from core.models import AuditEntry
from core.tables import AuditEntryTable
from core.views.generic import ObjectListView


class AuditLogView(ObjectListView):
    model = AuditEntry
    table_class = AuditEntryTable
    filterset_class = AuditEntryFilterSet
    title = "Audit log"
    help_text = "Who changed what, when and from which address."
