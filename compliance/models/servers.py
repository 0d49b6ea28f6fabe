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


class Update(models.Model):
    """One software update in an update server's catalog (as Get-WsusUpdate describes it)."""

    server = models.ForeignKey(UpdateServer, on_delete=models.CASCADE, related_name="updates")
    update_id = models.CharField("update ID", max_length=64, help_text="WSUS UpdateId (a GUID)")
    revision = models.PositiveIntegerField(default=0)
    kb = models.CharField("KB article", max_length=20, db_index=True, help_text="Digits only, e.g. 5034127")
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    classification = models.CharField(max_length=60, db_index=True)
    severity = models.CharField("MSRC severity", max_length=20, blank=True)
    release_date = models.DateField(null=True, blank=True)
    reboot_required = models.BooleanField("may need a restart", default=True)
    superseded = models.BooleanField(default=False)
    superseded_by = models.JSONField(default=list, blank=True, help_text="Update IDs that supersede this one")
    approved = models.BooleanField(default=False)
    declined = models.BooleanField(default=False)
    products = models.JSONField(default=list, blank=True)
    in_catalog = models.BooleanField(default=True, help_text="Still returned by the update server at the last sync")
    first_synced = models.DateTimeField(auto_now_add=True)
    last_synced = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-release_date", "kb"]
        constraints = [models.UniqueConstraint(fields=["server", "update_id"], name="update_unique_per_server")]

    def __str__(self):
        return f"KB{self.kb} {self.title}" if self.kb else self.title

    @property
    def kb_label(self) -> str:
        return f"KB{self.kb}" if self.kb else "—"
