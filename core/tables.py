"""What every table shares (django-tables2): the look, badges, sizes, times, yes/no, the CSV export;
and the audit log's table."""
import html

import django_tables2 as tables
import tablib
from django.utils.html import format_html, strip_tags
from django.utils.safestring import SafeData
from django_tables2.columns import library
from django_tables2.export import TableExport

from core import display
from core.models import AuditEntry


def format_bytes(value) -> str:
    if value in (None, ""):
        return "—"
    gib = value / 1024**3
    return f"{gib / 1024:.1f} TB" if gib >= 1024 else f"{gib:.0f} GB" if gib >= 10 else f"{gib:.1f} GB"


def badge(value: str, label: str):
    return format_html('<span class="badge {}">{}</span>', (value or "").lower(), label or "—")


@library.register  # also for DateTimeFields a table lists without declaring a column
class WhenColumn(tables.DateTimeColumn):
    """A moment as every page shows it (core.display.when); exported as ISO 8601 UTC."""

    def __init__(self, *args, style: str = "datetime", **kwargs):
        self.style = style
        super().__init__(*args, **kwargs)

    def render(self, value, bound_column):
        return display.when(value, self.style, empty=bound_column.default)

    def value(self, value):
        return display.iso_utc(value)


@library.register  # also for BooleanFields a table lists without declaring a column
class YesNoColumn(tables.BooleanColumn):
    """Yes / No as words (core.display.yes_no), in the page and in exports."""

    def render(self, value, record, bound_column):
        return display.yes_no(self._get_bool_value(record, value, bound_column))

    def value(self, record, value, bound_column):
        return "Yes" if self._get_bool_value(record, value, bound_column) else "No"


class CsvExport(TableExport):
    """CSV only (the one format every spreadsheet reads and that needs nothing more installed).
    Cells are plain text (a column rendered as a link or badge gives its text). A cell a
    spreadsheet would take for a formula (=, +, -, @ first) gets a leading apostrophe, since names
    and messages in the inventory and the audit log come from machines and users."""

    @classmethod
    def is_valid_format(cls, export_format):
        return export_format == cls.CSV

    def table_to_dataset(self, table, exclude_columns, dataset_kwargs=None):
        dataset = super().table_to_dataset(table, exclude_columns, dataset_kwargs)
        rows = [tuple(_inert(cell) for cell in row) for row in dataset]
        headers = dataset.headers
        dataset.wipe()
        dataset.headers = headers
        for row in rows:
            dataset.append(row)
        return dataset

    @classmethod
    def of_rows(cls, headers, rows) -> "CsvExport":
        """The same file from plain rows (an iterable, read once) for a page that is no table:
        the cells made inert as a table's are."""
        export = cls.__new__(cls)
        export.format = cls.CSV
        export.dataset = tablib.Dataset(headers=[_inert(h) for h in headers])
        for row in rows:
            export.dataset.append(tuple(_inert(cell) for cell in row))
        return export


def _inert(cell):
    if cell is None:
        return ""
    text = html.unescape(strip_tags(cell)) if isinstance(cell, SafeData) else str(cell)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class FerryTable(tables.Table):
    class Meta:
        template_name = "core/_table.html"
        attrs = {"class": "table"}
        empty_text = "Nothing here yet."


class AuditEntryTable(FerryTable):
    time = WhenColumn(style="seconds")
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

    def render_object_repr(self, record, value):
        url = self._object_urls().get((record.object_type, record.object_id))
        return format_html('<a href="{}">{}</a>', url, value) if url else value

    def value_object_repr(self, value):
        return value

    def _object_urls(self) -> dict:
        """The page of each object the rows of this page name that still exists: one query per type."""
        if getattr(self, "_urls", None) is None:
            from django.apps import apps

            rows = [
                getattr(row, "record", row)
                for row in (self.page.object_list if hasattr(self, "page") else self.data)
            ]
            wanted: dict[str, set] = {}
            for row in rows:
                if row.object_id.isdigit():
                    wanted.setdefault(row.object_type, set()).add(row.object_id)
            models = {m._meta.verbose_name: m for m in apps.get_models() if hasattr(m, "get_absolute_url")}
            self._urls = {}
            for object_type, ids in wanted.items():
                if object_type in models:
                    for obj in models[object_type]._default_manager.filter(pk__in=ids):
                        self._urls[(object_type, str(obj.pk))] = obj.get_absolute_url()
        return self._urls

