"""Forms of Settings › Users and roles. Passwords go through AUTH_PASSWORD_VALIDATORS."""
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import BaseUserCreationForm, SetPasswordForm

from core.roles import ROLES

ROLE_HELP = (
    "Viewer: sees everything. Operator: also scans, remediates, upgrades, refreshes and starts or "
    "cancels jobs. Administrator: also changes the fabric, Run As accounts, baselines and users."
)
TELL_THE_USER = "Ferry sends no e-mail: tell the user this password yourself."


def role_field(**kwargs) -> forms.ChoiceField:
    return forms.ChoiceField(choices=[(r, r.capitalize()) for r in ROLES], help_text=ROLE_HELP, **kwargs)


class UserCreateForm(BaseUserCreationForm):
    role = role_field()

    class Meta(BaseUserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "first_name", "last_name")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "User name"
        self.fields["password1"].label = "Initial password"
        self.fields["password2"].label = "Initial password again"
        self.fields["password2"].help_text = TELL_THE_USER
        self.order_fields(["username", "first_name", "last_name", "role", "password1", "password2"])


class UserEditForm(forms.ModelForm):
    role = role_field()

    class Meta:
        model = get_user_model()
        fields = ("first_name", "last_name", "is_active")
        labels = {"is_active": "May sign in"}
        help_texts = {"is_active": "Untick to disable the user: they cannot sign in and their open sessions end."}

    def __init__(self, *args, current_role: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("role", current_role or None)


class PasswordResetForm(SetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password2"].help_text = TELL_THE_USER
