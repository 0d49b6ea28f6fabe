"""One's API tokens (django-tables2): the visible prefix only; the token and its hash never."""
import django_tables2 as tables
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html

from api.models import TOKEN_PREFIX, ApiToken
from core import display
from core.tables import FerryTable, WhenColumn


class TokenTable(FerryTable):
    name = tables.Column()
    prefix = tables.Column(verbose_name="Token")
    created = WhenColumn()
    last_used = WhenColumn(default="never")
    state = tables.Column(verbose_name="State", accessor="revoked", order_by=("-revoked",), empty_values=())
    actions = tables.Column(verbose_name="", accessor="pk", orderable=False, empty_values=(), exclude_from_export=True)

    class Meta(FerryTable.Meta):
        model = ApiToken
        fields = ("name", "prefix", "created", "last_used", "state")
        empty_text = "You have no API token."

    def render_prefix(self, value):
        return format_html("<code>{}{}_…</code>", TOKEN_PREFIX, value)

    def value_prefix(self, value):
        return f"{TOKEN_PREFIX}{value}_…"

    def render_state(self, record):
        return "Active" if record.is_active else format_html("Revoked {}", display.when(record.revoked))

    def value_state(self, record):
        return "Active" if record.is_active else f"Revoked {display.iso_utc(record.revoked)}"

    def render_actions(self, record):
        if not record.is_active:
            return ""
        return format_html(
            '<form method="post" action="{}" class="inline"><input type="hidden" name="csrfmiddlewaretoken" '
            'value="{}"><button type="submit">Revoke</button></form>',
            reverse("api:token_revoke", args=[record.pk]), get_token(self.request),
        )
