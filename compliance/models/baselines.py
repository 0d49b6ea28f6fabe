"""Baselines (sets of updates a host must have), their assignment to the fabric, and exemptions."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from compliance.choices import BaselineUpdateSource


class Baseline(models.Model):
    """Updates picked by hand, plus, when a rule is set, every catalog update the rule matches.

    The rule (classification + severity + released at least N days ago) is evaluated again at
    every catalog sync, so a rule baseline stays current without anyone editing it.
    """

    name = models.CharField(max_length=150, unique=True)
    description = models.TextField(blank=True)
    updates = models.ManyToManyField("compliance.Update", through="compliance.BaselineUpdate", related_name="baselines")
    rule_enabled = models.BooleanField("keep current by rule", default=False)
    rule_classifications = models.JSONField(default=list, blank=True)
    rule_severities = models.JSONField(default=list, blank=True, help_text="Empty: any severity")
    rule_released_days = models.PositiveIntegerField(
        "released at least N days ago", default=0,
        help_text="0 takes every update as soon as it is released; 14 waits two weeks",
    )
    is_sample = models.BooleanField(default=False)
    revision = models.PositiveIntegerField(default=1, help_text="Raised whenever the updates change")
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("compliance:baseline_detail", args=[self.pk])

    def rule_summary(self) -> str:
        if not self.rule_enabled:
            return ""
        parts = [", ".join(self.rule_classifications) or "any classification"]
        if self.rule_severities:
            parts.append("severity " + ", ".join(s or "Unspecified" for s in self.rule_severities))
        if self.rule_released_days:
            parts.append(f"released at least {self.rule_released_days} days ago")
        return "; ".join(parts)


class BaselineUpdate(models.Model):
    baseline = models.ForeignKey(Baseline, on_delete=models.CASCADE, related_name="entries")
    update = models.ForeignKey("compliance.Update", on_delete=models.CASCADE, related_name="baseline_entries")
    source = models.CharField(max_length=10, choices=BaselineUpdateSource.choices, default=BaselineUpdateSource.PICKED)
    added = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["baseline", "update"], name="baselineupdate_unique")]


class BaselineAssignment(models.Model):
    """A baseline applied to a host group (and every group below it), a cluster's nodes, or one host."""

    baseline = models.ForeignKey(Baseline, on_delete=models.CASCADE, related_name="assignments")
    host_group = models.ForeignKey(
        "fabric.HostGroup", null=True, blank=True, on_delete=models.CASCADE, related_name="baseline_assignments"
    )
    cluster = models.ForeignKey(
        "fabric.Cluster", null=True, blank=True, on_delete=models.CASCADE, related_name="baseline_assignments"
    )
    host = models.ForeignKey(
        "fabric.Host", null=True, blank=True, on_delete=models.CASCADE, related_name="baseline_assignments"
    )
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(host_group__isnull=False, cluster__isnull=True, host__isnull=True)
                    | models.Q(host_group__isnull=True, cluster__isnull=False, host__isnull=True)
                    | models.Q(host_group__isnull=True, cluster__isnull=True, host__isnull=False)
                ),
                name="baselineassignment_exactly_one_target",
            ),
            models.UniqueConstraint(fields=["baseline", "host_group"], name="baselineassignment_unique_group"),
            models.UniqueConstraint(fields=["baseline", "cluster"], name="baselineassignment_unique_cluster"),
            models.UniqueConstraint(fields=["baseline", "host"], name="baselineassignment_unique_host"),
        ]

    def __str__(self):
        return f"{self.baseline} → {self.target_label}"

    @property
    def target(self):
        return self.host_group or self.cluster or self.host

    @property
    def target_label(self) -> str:
        if self.host_group_id:
            return f"host group {self.host_group.path()}"
        if self.cluster_id:
            return f"cluster {self.cluster.name}"
        return f"host {self.host.name}"

    def clean(self):
        if sum(x is not None for x in (self.host_group_id, self.cluster_id, self.host_id)) != 1:
            raise ValidationError("Assign the baseline to exactly one host group, cluster or host.")


class Exemption(models.Model):
    """An update a host need not have (every baseline), with why and who decided it."""

    host = models.ForeignKey("fabric.Host", on_delete=models.CASCADE, related_name="update_exemptions")
    update = models.ForeignKey("compliance.Update", on_delete=models.CASCADE, related_name="exemptions")
    note = models.TextField(help_text="Why this host does not need the update")
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_name = models.CharField("exempted by", max_length=150)

    class Meta:
        ordering = ["host__name", "update__kb"]
        constraints = [models.UniqueConstraint(fields=["host", "update"], name="exemption_unique_host_update")]

    def __str__(self):
        return f"{self.host} exempt from {self.update}"
