from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse

from fabric.models.hosts import ManagedEndpoint
from fabric.models.validators import validate_dns_name, validate_vhd_path


def validate_image_path(value: str) -> None:
    """A full path to a VHD(X), or to a WIM (only in a deployment server's image store, see clean)."""
    validate_vhd_path(value[:-4] + ".vhdx" if (value or "").lower().endswith(".wim") else value)


class LibraryImage(models.Model):
    """An OS image a host can be re-imaged with: a VHDX typed in, or an install image (VHDX or WIM)
    listed from a deployment server's image store."""

    name = models.CharField(max_length=100, unique=True)
    vhd_path = models.CharField(
        "VHD path", max_length=500, validators=[validate_image_path],
        help_text="Where the deployment server reads the image, e.g. \\\\library\\images\\ws2022.vhdx",
    )
    deployment_server = models.ForeignKey(
        "fabric.DeploymentServer", null=True, blank=True, on_delete=models.CASCADE, related_name="images",
        help_text="Set when the image was listed from this server's image store (Get-WdsInstallImage)",
    )
    image_name = models.CharField("WDS image name", max_length=200, blank=True)
    image_group = models.CharField("WDS image group", max_length=100, blank=True)
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

    def clean(self):
        super().clean()
        if self.vhd_path.lower().endswith(".wim") and not self.deployment_server_id:
            raise ValidationError({"vhd_path": "A WIM comes from a deployment server's image store; "
                                               "an image added by hand is a .vhdx or .vhd file."})


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
            raise ValidationError(
                {"domain_join_run_as": f"Joining {self.domain} needs a Run As account allowed to join it."}
            )


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
