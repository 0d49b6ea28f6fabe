from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    CREATE = "create", "Created"
    CHANGE = "change", "Changed"
    DELETE = "delete", "Deleted"
    ACTION = "action", "Action"


class AuditEntry(models.Model):
    """Who changed what, when and from where. Written for every change made through Ferry."""

    time = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=10, choices=AuditAction.choices)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True)
    source_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        # The table the fabric app created before the audit log moved here: existing rows stay.
        db_table = "fabric_auditentry"
        ordering = ["-time", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.username} {self.action} {self.object_type} {self.object_repr}"
