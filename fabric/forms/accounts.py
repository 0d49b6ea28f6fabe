from django import forms

from fabric.forms.base import FabricForm
from fabric.models import RunAsAccount

# What the password box shows when a password is stored. Sent back unchanged, it keeps the stored one.
PASSWORD_PLACEHOLDER = "********"


class SecretInput(forms.PasswordInput):
    """Never renders what was typed or stored: only the placeholder, when a secret is stored."""

    def __init__(self, has_stored: bool = False):
        super().__init__(attrs={"autocomplete": "new-password"}, render_value=False)
        self.has_stored = has_stored

    def get_context(self, name, value, attrs):
        context = super().get_context(name, None, attrs)
        context["widget"]["value"] = PASSWORD_PLACEHOLDER if self.has_stored else None
        return context


class RunAsAccountForm(FabricForm):
    password = forms.CharField(required=False, strip=False, widget=SecretInput())
    confirm_password = forms.CharField(required=False, strip=False, widget=SecretInput())
    secret_fields = ("password", "confirm_password")
    field_order = ["name", "username", "password", "confirm_password", "description"]

    class Meta:
        model = RunAsAccount
        fields = ["name", "username", "description"]  # the password is set in save(), never by construct_instance

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The edit view loads the account with the password deferred and `has_password` annotated,
        # so showing this form never decrypts the secret.
        self.has_stored = bool(self.instance.pk and getattr(self.instance, "has_password", False))
        for name in self.secret_fields:
            self.fields[name].widget = SecretInput(self.has_stored)
        if self.has_stored:
            self.fields["password"].help_text = "Leave ******** (or empty) to keep the stored password."
        self.password_changed = False

    def clean(self):
        data = super().clean()
        password = data.get("password") or ""
        confirm = data.get("confirm_password") or ""
        self.password_changed = password not in ("", PASSWORD_PLACEHOLDER)
        if not self.password_changed:
            if not self.has_stored:
                self.add_error("password", "Enter the account's password.")
        elif password != confirm:
            self.add_error("confirm_password", "The two passwords are not the same.")
        return data

    def save(self, commit=True):
        if self.password_changed:
            self.instance.password = self.cleaned_data["password"]
        return super().save(commit)
