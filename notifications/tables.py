"""The delivery log (django-tables2): each message with the receiver's answers."""
import django_tables2 as tables
from django.utils.html import format_html, format_html_join

from core import display
from core.tables import FerryTable, WhenColumn
from notifications.models import Delivery


def _attempt_text(attempt) -> str:
    if attempt.ok:
        return f"delivered (HTTP {attempt.status_code})" if attempt.status_code else "delivered"
    return attempt.error


class DeliveryTable(FerryTable):
    created = WhenColumn(style="seconds")
    user = tables.Column(verbose_name="User", accessor="user__username", default="—")
    event = tables.Column()
    job = tables.Column(verbose_name="Job", order_by=("job_id",), default="—")
    target = tables.Column()
    destination = tables.Column(verbose_name="To", order_by=("channel", "destination"))
    status = tables.Column()
    attempts = tables.Column()

    class Meta(FerryTable.Meta):
        model = Delivery
        fields = ("created", "user", "event", "job", "target", "destination", "status", "attempts")
        empty_text = "Nothing was sent yet."

    def __init__(self, *args, everyone: bool = False, **kwargs):
        if not everyone:  # one's own deliveries: the user column would only repeat oneself, page and export
            kwargs["exclude"] = (*kwargs.get("exclude", ()), "user")
        super().__init__(*args, **kwargs)

    def render_job(self, value):
        return format_html('<a href="{}">#{}</a>', value.get_absolute_url(), value.pk)

    def value_job(self, value):
        return value.pk

    def render_destination(self, record):
        # only scheme, host and port were stored: a webhook's path and query are never kept
        return f"{record.get_channel_display()} {record.destination}"

    def value_destination(self, record):
        return self.render_destination(record)

    def render_attempts(self, record, value):
        items = format_html_join(
            "", "<li>#{} {}: {}</li>",
            ((a.number, display.when(a.time, "time"), _attempt_text(a)) for a in record.attempt_log.all()),
        )
        return format_html('{}<ul class="attempts">{}</ul>', value, items)

    def value_attempts(self, value):
        return value
