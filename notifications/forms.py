from django import forms

from fabric.models import Cluster, Host
from notifications.choices import Channel, Scope
from notifications.models import Subscription, validate_webhook_url


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(label="Webhook URL", max_length=500, required=False, assume_scheme="https",
                         validators=[validate_webhook_url], help_text="http:// or https://")
    secret = forms.CharField(
        label="Webhook secret", required=False, min_length=16, max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text="Signs every message (X-Ferry-Signature: sha256=HMAC of the body). At least 16 characters; "
                  "leave empty to keep the one saved.",
    )

    class Meta:
        model = Subscription
        fields = ["scope", "cluster", "host", "on_succeeded", "on_failed", "on_needs_attention", "channel", "email",
                  "url", "secret", "active"]
        widgets = {"scope": forms.RadioSelect, "channel": forms.RadioSelect}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.saved_secret = self.instance.secret if self.instance.pk else ""
        self.fields["cluster"].queryset = Cluster.objects.order_by("name")
        self.fields["host"].queryset = Host.objects.order_by("name")
        if not self.instance.pk and user is not None and user.email:
            self.fields["email"].initial = user.email

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        if scope == Scope.CLUSTER and not data.get("cluster"):
            self.add_error("cluster", "Choose the cluster.")
        if scope == Scope.HOST and not data.get("host"):
            self.add_error("host", "Choose the host.")
        if scope != Scope.CLUSTER:
            data["cluster"] = None
        if scope != Scope.HOST:
            data["host"] = None
        if not (data.get("on_succeeded") or data.get("on_failed") or data.get("on_needs_attention")):
            raise forms.ValidationError("Choose at least one event.")
        channel = data.get("channel")
        if channel == Channel.EMAIL and not data.get("email"):
            self.add_error("email", "Give the address to write to.")
        if channel == Channel.WEBHOOK:
            if not data.get("url") and "url" not in self.errors:
                self.add_error("url", "Give the webhook's address (http:// or https://).")
            if not data.get("secret") and not self.saved_secret:
                self.add_error("secret", "A webhook needs a secret to sign its messages.")
        return data

    def changed_names(self) -> list[str]:
        """The changed fields, for the audit log (the secret only as "secret", never its value)."""
        return [name for name in self.changed_data if name != "secret" or self.cleaned_data.get("secret")]

    def save(self, commit=True):
        subscription = super().save(commit=False)
        subscription.user = subscription.user if subscription.user_id else self.user
        if not self.cleaned_data.get("secret"):
            subscription.secret = self.saved_secret
        if subscription.channel == Channel.EMAIL:
            subscription.url, subscription.secret = "", ""
        else:
            subscription.email = ""
        if commit:
            subscription.save()
        return subscription
