from django.db import models


class Event(models.TextChoices):
    SUCCEEDED = "succeeded", "Job succeeded"
    FAILED = "failed", "Job failed"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"  # a refused precheck; a job waiting on a person


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class Scope(models.TextChoices):
    EVERYTHING = "everything", "Everything I can see"
    CLUSTER = "cluster", "A cluster (and its nodes)"
    HOST = "host", "A host (and its cluster)"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Waiting to retry"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


OPEN = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
