import django_tables2 as tables
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import format_html

from fabric.tables import FerryTable
from users.roles import role_of


class UserTable(FerryTable):
    username = tables.Column(verbose_name="User name", linkify=("users:user_edit", [tables.A("pk")]))
    full_name = tables.Column(verbose_name="Name", accessor="get_full_name", order_by=("last_name", "first_name"))
    role = tables.Column(empty_values=(), orderable=False)
    is_active = tables.Column(verbose_name="State")
    last_login = tables.DateTimeColumn(verbose_name="Last sign-in", format="Y-m-d H:i", default="never")
    actions = tables.Column(empty_values=(), orderable=False, verbose_name="Actions")

    class Meta(FerryTable.Meta):
        model = get_user_model()
        fields = ("username", "full_name", "role", "is_active", "last_login")
        empty_text = "No user yet."
        row_attrs = {"data-user": lambda record: record.username}

    def render_role(self, record):
        role = role_of(record)
        text = role.capitalize() if role else "No role"
        if record.is_superuser:
            text += " (superuser)"
        return text

    def render_is_active(self, value):
        state, text = ("ok", "active") if value else ("bad", "disabled")
        return format_html('<span class="badge {}">{}</span>', state, text)

    def render_actions(self, record):
        return format_html(
            '<a href="{}">Edit role and state</a> · <a href="{}">Reset password</a>',
            reverse("users:user_edit", args=[record.pk]), reverse("users:user_password", args=[record.pk]),
        )
