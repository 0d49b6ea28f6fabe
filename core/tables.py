"""What every table shares (django-tables2): the look, badges, sizes; and the audit log's table."""
import django_tables2 as tables
from django.utils.html import format_html

from core.models import AuditEntry


def format_bytes(value) -> str:
    if value in (None, ""):
        return "—"
    gib = value / 1024**3
    return f"{gib / 1024:.1f} TB" if gib >= 1024 else f"{gib:.0f} GB" if gib >= 10 else f"{gib:.1f} GB"


def badge(value: str, label: str):
    return format_html('<span class="badge {}">{}</span>', (value or "").lower(), label or "—")


class FerryTable(tables.Table):
    class Meta:
        template_name = "core/_table.html"
        attrs = {"class": "table"}
        empty_text = "Nothing here yet."


class AuditEntryTable(FerryTable):
    time = tables.DateTimeColumn(format="Y-m-d H:i:s")
    username = tables.Column(verbose_name="Who")
    action = tables.Column(verbose_name="What")
    object_type = tables.Column(verbose_name="Object type")
    object_repr = tables.Column(verbose_name="Object")
    detail = tables.Column(orderable=False)
    source_address = tables.Column(verbose_name="From")

    class Meta(FerryTable.Meta):
        model = AuditEntry
        fields = ("time", "username", "action", "object_type", "object_repr", "detail", "source_address")
        empty_text = "No changes recorded yet."

