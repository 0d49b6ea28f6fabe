"""The job list's table (django-tables2), shared by the page, its polling fallback and its socket."""
import django_tables2 as tables
from django.utils.html import format_html

from core.tables import FerryTable, WhenColumn
from jobs.models import Job
from jobs.templatetags.jobs_live import duration

REASON_LENGTH = 80


class JobTable(FerryTable):
    id = tables.Column(verbose_name="#")
    title = tables.Column(verbose_name="Job", linkify=True)
    kind = tables.Column()
    status = tables.Column()
    progress = tables.Column()
    error = tables.Column(verbose_name="Failure reason", orderable=False)
    target_label = tables.Column(verbose_name="Target")
    requested_by = tables.Column(verbose_name="Started by", order_by=("requested_by__username",), default="system")
    started = WhenColumn(style="seconds")
    duration = tables.Column(accessor="duration", orderable=False)

    class Meta(FerryTable.Meta):
        model = Job
        fields = ("id", "title", "kind", "status", "progress", "error", "target_label", "requested_by", "started", "duration")
        row_attrs = {"id": lambda record: f"job-row-{record.pk}", "data-status": lambda record: record.status}
        attrs = {"class": "table jobs"}
        template_name = "jobs/_job_table.html"
        empty_text = "No jobs match."

    def render_kind(self, record):
        return record.kind_label

    def value_kind(self, record):
        return record.kind_label

    def render_status(self, record, value):
        return format_html('<span class="badge {}">{}</span>', record.status, value)

    def render_progress(self, record, value):
        return format_html(
            '<div class="job-progress-cell"><div class="progress {}" role="progressbar" aria-valuemin="0" '
            'aria-valuemax="100" aria-valuenow="{}" aria-label="Progress of job {}"><span style="width: {}%">'
            '</span></div> <span class="percent">{}%</span></div>',
            record.status, value, record.pk, value, value,
        )

    def value_progress(self, value):
        return f"{value}%"

    def render_error(self, record, value):
        """The first line, shortened; the whole text on hover. A cancelled job's note is not a failure."""
        first_line = value.strip().splitlines()[0] if value.strip() else ""
        short = first_line if len(first_line) <= REASON_LENGTH else first_line[: REASON_LENGTH - 1] + "…"
        return format_html('<span class="failure-reason {}" title="{}">{}</span>', record.status, value.strip(), short)

    def value_error(self, value):
        return value.strip()

    def render_target_label(self, record, value):
        url = self._target_urls().get((record.target_type_id, record.target_id))
        return format_html('<a href="{}">{}</a>', url, value) if url else value

    def value_target_label(self, value):
        return value

    def _target_urls(self) -> dict:
        """The page of each target on this page of the table that still exists: one query per kind of target."""
        if getattr(self, "_urls", None) is None:
            from django.contrib.contenttypes.models import ContentType

            rows = [getattr(row, "record", row) for row in (self.page.object_list if hasattr(self, "page") else self.data)]
            wanted: dict[int, set] = {}
            for row in rows:
                if row.target_type_id and row.target_id.isdigit():
                    wanted.setdefault(row.target_type_id, set()).add(row.target_id)
            self._urls = {}
            for type_id, ids in wanted.items():
                model = ContentType.objects.get_for_id(type_id).model_class()
                if model is not None and hasattr(model, "get_absolute_url"):
                    for obj in model._default_manager.filter(pk__in=ids):
                        self._urls[(type_id, str(obj.pk))] = obj.get_absolute_url()
        return self._urls

    def render_requested_by(self, value):
        return value.get_username()

    def value_requested_by(self, value):
        return value.get_username() if value else "system"

    def render_duration(self, value):
        return duration(value) or "—"

    def value_duration(self, value):
        return duration(value)
