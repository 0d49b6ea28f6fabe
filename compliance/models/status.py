"""What the last scan found: per host × baseline × update, per host × baseline, and per host."""
from django.db import models

from compliance.choices import ComplianceState, UpdateState


class UpdateStatus(models.Model):
    host = models.ForeignKey("fabric.Host", on_delete=models.CASCADE, related_name="update_statuses")
    baseline = models.ForeignKey("compliance.Baseline", on_delete=models.CASCADE, related_name="update_statuses")
    update = models.ForeignKey("compliance.Update", on_delete=models.CASCADE, related_name="statuses")
    state = models.CharField(max_length=20, choices=UpdateState.choices)
    detail = models.CharField(max_length=500, blank=True)
    checked = models.DateTimeField()

    class Meta:
        verbose_name_plural = "update statuses"
        constraints = [
            models.UniqueConstraint(fields=["host", "baseline", "update"], name="updatestatus_unique")
        ]
        indexes = [models.Index(fields=["host", "state"])]


class BaselineCompliance(models.Model):
    host = models.ForeignKey("fabric.Host", on_delete=models.CASCADE, related_name="baseline_compliance")
    baseline = models.ForeignKey("compliance.Baseline", on_delete=models.CASCADE, related_name="host_compliance")
    state = models.CharField(max_length=20, choices=ComplianceState.choices, default=ComplianceState.UNKNOWN)
    baseline_revision = models.PositiveIntegerField(default=0)
    missing_count = models.PositiveIntegerField(default=0)
    last_scan = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["baseline__name"]
        constraints = [
            models.UniqueConstraint(fields=["host", "baseline"], name="baselinecompliance_unique")
        ]


class HostCompliance(models.Model):
    """A host's overall state: the worst of its baselines, or Error when it could not be scanned."""

    host = models.OneToOneField("fabric.Host", on_delete=models.CASCADE, related_name="compliance")
    state = models.CharField(max_length=20, choices=ComplianceState.choices, default=ComplianceState.UNKNOWN, db_index=True)
    missing_count = models.PositiveIntegerField(default=0)
    pending_reboot = models.BooleanField(default=False)
    last_scan = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=1000, blank=True)
    baselines_in_force = models.PositiveIntegerField(
        default=0, help_text="How many baselines apply to the host; the Compliance view shows hosts with one or more"
    )

    class Meta:
        verbose_name_plural = "host compliance"
        # the Compliance view's counts: one pass over this index, not over the hosts
        indexes = [models.Index(fields=["baselines_in_force", "state"], name="hostcompliance_in_force_state")]

    def __str__(self):
        return f"{self.host}: {self.get_state_display()}"
