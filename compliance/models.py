from django.db import models
from django.urls import reverse

from fabric.models.hosts import ManagedEndpoint


class UpdateServer(ManagedEndpoint):
    """A WSUS server Ferry reads the update catalog from (reached over WinRM like any host)."""

    name = models.CharField(max_length=100, unique=True)
    wsus_port = models.PositiveIntegerField("WSUS port", default=8530)
    wsus_ssl = models.BooleanField("WSUS over SSL", default=False)
    last_synced = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "update server"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("compliance:updateserver_list")
