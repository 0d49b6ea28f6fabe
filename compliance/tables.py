"""The compliance lists (django-tables2): update catalog, baselines, update servers, scheduled campaigns."""
import django_tables2 as tables
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django_q.models import Schedule

from compliance.campaigns.schedules import describe
from compliance.models import Baseline, Update, UpdateServer
from core.roles import OPERATOR, has_role
from core.tables import FerryTable, WhenColumn, YesNoColumn


class UpdateTable(FerryTable):
    kb = tables.Column(verbose_name="Update", order_by=("kb",))
    title = tables.Column()
    classification = tables.Column()
    severity = tables.Column(verbose_name="Severity")
    release_date = tables.DateColumn(verbose_name="Released", format="Y-m-d")
    reboot_required = YesNoColumn(verbose_name="May need a restart")
    state = tables.Column(verbose_name="Status", accessor="pk", orderable=False)
    server = tables.Column(verbose_name="Update server", order_by=("server__name",))

    class Meta(FerryTable.Meta):
        model = Update
        fields = ("kb", "title", "classification", "severity", "release_date", "reboot_required", "state", "server")
        empty_text = "No update. Synchronize an update server first."

    def render_kb(self, record):
        return record.kb_label

    def value_kb(self, record):
        return record.kb_label

    def render_severity(self, value):
        return value or "—"

    @staticmethod
    def states(record) -> list[tuple[str, str]]:
        found = [("warn", "superseded")] if record.superseded else []
        if record.declined:
            found.append(("bad", "declined"))
        elif record.approved:
            found.append(("ok", "approved"))
        return found

    def render_state(self, record):
        return format_html_join(" ", '<span class="badge {}">{}</span>', self.states(record)) or "—"

    def value_state(self, record):
        return ", ".join(label for _, label in self.states(record))


class BaselineTable(FerryTable):
    name = tables.Column()  # render_name makes the link (with its "sample" badge)
    update_count = tables.Column(verbose_name="Updates")
    rule = tables.Column(verbose_name="Kept current by rule", accessor="rule_summary", orderable=False)
    assignment_count = tables.Column(verbose_name="Assignments")
    modified = WhenColumn()

    class Meta(FerryTable.Meta):
        model = Baseline
        fields = ("name", "update_count", "rule", "assignment_count", "modified")
        empty_text = "No baseline yet. The first catalog sync creates the two sample baselines."

    def render_name(self, record, value):
        sample = format_html(' <span class="badge">sample</span>') if record.is_sample else ""
        return format_html('<a href="{}">{}</a>{}', record.get_absolute_url(), value, sample)

    def render_rule(self, value):
        return value or "—"


class UpdateServerTable(FerryTable):
    name = tables.Column()
    address = tables.Column()
    wsus_port = tables.Column(verbose_name="WSUS port")
    wsus_ssl = YesNoColumn(verbose_name="SSL")
    update_count = tables.Column(verbose_name="Updates")
    last_synced = WhenColumn(verbose_name="Last synchronized", default="never")
    actions = tables.Column(verbose_name="", accessor="pk", orderable=False, empty_values=(), exclude_from_export=True)

    class Meta(FerryTable.Meta):
        model = UpdateServer
        fields = ("name", "address", "wsus_port", "wsus_ssl", "update_count", "last_synced")
        empty_text = "No update server yet."

    def before_render(self, request):
        if not has_role(request.user, OPERATOR):
            self.columns.hide("actions")  # operators start jobs

    def render_update_count(self, record, value):
        return format_html('<a href="{}?server={}">{}</a>', reverse("compliance:update_list"), record.pk, value)

    def render_actions(self, record):
        return format_html(
            '<form method="post" action="{}"><input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button type="submit">Synchronize</button></form>',
            reverse("compliance:updateserver_sync", args=[record.pk]), get_token(self.request),
        )


class ScheduleTable(FerryTable):
    """Scheduled campaigns: django-q schedules whose details (clusters, rule) live in their kwargs."""

    name = tables.Column(verbose_name="Campaign", accessor="pk", order_by=("name",))
    when = tables.Column(verbose_name="When", accessor="pk", orderable=False)
    next_run = WhenColumn(verbose_name="Next run")
    parallel = tables.Column(verbose_name="At once", accessor="pk", orderable=False)
    actions = tables.Column(verbose_name="", accessor="pk", orderable=False, empty_values=(), exclude_from_export=True)

    class Meta(FerryTable.Meta):
        model = Schedule
        fields = ("name", "when", "next_run", "parallel")
        empty_text = "No campaign is scheduled."

    def before_render(self, request):
        if not has_role(request.user, OPERATOR):
            self.columns.hide("actions")  # operators cancel

    def _described(self, record) -> dict:
        if not hasattr(self, "_descriptions"):
            self._descriptions = {}
        if record.pk not in self._descriptions:
            self._descriptions[record.pk] = describe(record)
        return self._descriptions[record.pk]

    def render_name(self, record):
        return ", ".join(self._described(record)["clusters"]) or "—"

    def value_name(self, record):
        return ", ".join(self._described(record)["clusters"])

    def render_when(self, record):
        return self._described(record)["when"] or "—"

    def value_when(self, record):
        return self._described(record)["when"]

    def render_parallel(self, record):
        parallel = self._described(record)["parallel"]
        return "—" if parallel is None else parallel

    def value_parallel(self, record):
        parallel = self._described(record)["parallel"]
        return "" if parallel is None else parallel

    def render_actions(self, record):
        return format_html(
            '<form method="post" action="{}"><input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button type="submit">Cancel</button></form>',
            reverse("compliance:schedule_cancel", args=[record.pk]), get_token(self.request),
        )
