from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse

from fabric.models.hosts import ManagedEndpoint
from fabric.models.validators import validate_dns_name, validate_vhd_path


class LibraryImage(models.Model):
    """An OS image (VHDX) a host can be re-imaged with."""

    name = models.CharField(max_length=100, unique=True)
    vhd_path = models.CharField(
        "VHD path", max_length=500, validators=[validate_vhd_path],
        help_text="Where the deployment server reads the image, e.g. \\\\library\\images\\ws2022.vhdx",
    )
    os_name = models.CharField("OS", max_length=100)
    os_version = models.CharField(
        max_length=30, validators=[RegexValidator(r"^\d+(\.\d+){1,3}$", "Write the version as 10.0.20348.")],
        help_text="As Windows reports it, e.g. 10.0.20348",
    )
    os_build = models.PositiveIntegerField(help_text="e.g. 20348 for Windows Server 2022")

    class Meta:
        ordering = ["name"]
        verbose_name = "library image"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("fabric:image_detail", args=[self.pk])


class PhysicalComputerProfile(models.Model):
    """What a bare-metal deployment needs: the image, where the host goes, how it joins the network."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    image = models.ForeignKey(LibraryImage, on_delete=models.PROTECT, related_name="profiles")
    host_group = models.ForeignKey("fabric.HostGroup", on_delete=models.PROTECT, related_name="+")
    ip_pool = models.ForeignKey(
        "fabric.StaticIPPool", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="static IP pool", help_text="Empty: keep the host's current address",
    )
    domain = models.CharField(max_length=255, blank=True, validators=[validate_dns_name])
    domain_join_run_as = models.ForeignKey(
        "fabric.RunAsAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="domain join Run As account",
    )
    admin_run_as = models.ForeignKey(
        "fabric.RunAsAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="local administrator Run As account",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "physical computer profile"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("fabric:profile_detail", args=[self.pk])

    def clean(self):
        if self.domain and not self.domain_join_run_as_id:
            raise ValidationError({"domain_join_run_as": f"Joining {self.domain} needs a Run As account allowed to join it."})


class DeploymentServer(ManagedEndpoint):
    """A WDS (PXE) server that stages bare-metal deployments."""

    name = models.CharField(max_length=100, unique=True)
    remote_install_path = models.CharField(max_length=300, default="D:\\RemoteInstall")
    last_refreshed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "deployment server"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("fabric:deploymentserver_detail", args=[self.pk])
