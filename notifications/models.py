"""Subscriptions (who hears of which jobs, how) and deliveries (the log of every message sent)."""
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from core.crypto import EncryptedTextField
from notifications.choices import Channel, DeliveryStatus, Event, Scope


def validate_webhook_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("A webhook address is an http:// or https:// URL with a host name.")
    if parts.username or parts.password:
        raise ValidationError("Put no credentials in the address: the secret signs each message instead.")


def redact_url(value: str) -> str:
    """A webhook address as logs and the delivery log show it: scheme, host and port (many services
    put their secret in the path or the query)."""
    parts = urlsplit(value)
    shown = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return shown + ("/…" if parts.path.strip("/") or parts.query else "/")


class Subscription(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    scope = models.CharField(max_length=12, choices=Scope.choices, default=Scope.EVERYTHING)
    cluster = models.ForeignKey("fabric.Cluster", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    host = models.ForeignKey("fabric.Host", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    on_succeeded = models.BooleanField("job succeeded", default=False)
    on_failed = models.BooleanField("job failed", default=True)
    on_needs_attention = models.BooleanField("needs attention", default=True)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    email = models.EmailField("e-mail address", blank=True)
    url = models.URLField("webhook URL", max_length=500, blank=True, validators=[validate_webhook_url])
    secret = EncryptedTextField("webhook secret", blank=True)
    active = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user", "id"]

    def __str__(self):
        return f"{self.get_channel_display()} to {self.destination} for {self.target_label}"

    def get_absolute_url(self):
        return reverse("notifications:subscription_list")

    @property
    def destination(self) -> str:
        """Where messages go, as pages and logs show it (a webhook's path and query left out)."""
        return self.email if self.channel == Channel.EMAIL else redact_url(self.url)

    @property
    def target_label(self) -> str:
        if self.scope == Scope.CLUSTER and self.cluster_id:
            return f"cluster {self.cluster}"
        if self.scope == Scope.HOST and self.host_id:
            return f"host {self.host}"
        return "everything"

    @property
    def events(self) -> list[str]:
        return [e for e, on in ((Event.SUCCEEDED, self.on_succeeded), (Event.FAILED, self.on_failed),
                                (Event.NEEDS_ATTENTION, self.on_needs_attention)) if on]


class Delivery(models.Model):
    """One message about one job event to one subscription, with its attempts."""

    subscription = models.ForeignKey(Subscription, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    event = models.CharField(max_length=16, choices=Event.choices)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    job_round = models.PositiveIntegerField(default=0, help_text="The job's restarts when the event happened.")
    target = models.CharField(max_length=200, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    destination = models.CharField(max_length=500, help_text="As shown: a webhook's path and query left out.")
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING,
                              db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    status_code = models.PositiveIntegerField(null=True, blank=True, help_text="The receiver's last HTTP answer.")
    error = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    delivered = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            # a task that runs twice (a worker lost after it) sends nothing twice
            models.UniqueConstraint(fields=["subscription", "job", "job_round", "event"], name="delivery_once"),
        ]

    def __str__(self):
        return f"{self.get_event_display()}: {self.target} → {self.destination}"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    time = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    ok = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]
