from django.db import models

from core.crypto import EncryptedTextField


class RunAsAccount(models.Model):
    """Credentials Ferry uses to reach hosts and BMCs. The password is encrypted at rest."""

    name = models.CharField(max_length=100, unique=True)
    username = models.CharField(max_length=200, help_text="DOMAIN\\user or user@domain")
    password = EncryptedTextField(blank=True)
    description = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "Run As account"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("fabric:runas_list")
