"""The delivery log (each message with the receiver's answers) and one's subscriptions (django-tables2)."""
import django_tables2 as tables
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from core import display
from core.tables import FerryTable, WhenColumn
from notifications.models import Delivery, Subscription


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


class SubscriptionTable(FerryTable):
    """One's own subscriptions. A webhook shows only its scheme, host and port; its secret never."""

    target = tables.Column(verbose_name="For", accessor="target_label",
                           order_by=("scope", "cluster__name", "host__name"))
    events = tables.Column(verbose_name="Events", accessor="pk", orderable=False)
    channel = tables.Column()
    destination = tables.Column(verbose_name="To", accessor="destination", order_by=("email", "url"))
    active = tables.Column(verbose_name="State")
    actions = tables.Column(verbose_name="", accessor="pk", orderable=False, empty_values=(), exclude_from_export=True)

    class Meta(FerryTable.Meta):
        model = Subscription
        fields = ("target", "events", "channel", "destination", "active")
        empty_text = "You hear of no job yet."

    def render_events(self, record):
        return self.value_events(record) or "—"

    def value_events(self, record):
        return ", ".join(event.replace("_", " ") for event in record.events)

    def render_active(self, value):
        return "Active" if value else "Paused"

    def value_active(self, value):
        return self.render_active(value)

    def render_actions(self, record):
        return format_html(
            '<a class="button" href="{}">Edit</a> <form method="post" action="{}" class="inline">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}"><button type="submit">Delete</button></form>',
            reverse("notifications:subscription_edit", args=[record.pk]),
            reverse("notifications:subscription_delete", args=[record.pk]), get_token(self.request),
        )
