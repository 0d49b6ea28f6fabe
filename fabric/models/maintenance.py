"""Maintenance windows: weekly time ranges in a time zone, set on a host group, a cluster or a host.

A host's windows are its own, else its cluster's, else those of the nearest host group up the tree
(fabric.maintenance works that out). Where none is set anywhere, work may start at any time.
"""
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

WEEKDAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"), (5, "Saturday"),
            (6, "Sunday")]


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"“{value}” is not a time zone name such as Europe/Berlin or UTC.") from None


class MaintenanceWindow(models.Model):
    host_group = models.ForeignKey("fabric.HostGroup", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="maintenance_windows")
    cluster = models.ForeignKey("fabric.Cluster", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="maintenance_windows")
    host = models.ForeignKey("fabric.Host", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="maintenance_windows")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS, help_text="The day the window opens.")
    start = models.TimeField(help_text="Opens at (local time of its time zone).")
    end = models.TimeField(help_text="Closes at; at or before the start means the next day.")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])

    class Meta:
        ordering = ["weekday", "start"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(host_group__isnull=False, cluster__isnull=True, host__isnull=True)
                           | Q(host_group__isnull=True, cluster__isnull=False, host__isnull=True)
                           | Q(host_group__isnull=True, cluster__isnull=True, host__isnull=False)),
                name="maintenancewindow_one_scope",
            )
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M} {self.time_zone}"

    @property
    def scope(self):
        return self.host or self.cluster or self.host_group

    def get_absolute_url(self):
        return self.scope.get_absolute_url()
