from django.db import models

from fabric.models.hosts import ManagedEndpoint


class LibraryImage(models.Model):
    """An OS image (VHDX) a host can be re-imaged with."""

    name = models.CharField(max_length=100, unique=True)
    vhd_path = models.CharField("VHD path", max_length=500)
    os_name = models.CharField("OS", max_length=100)
    os_version = models.CharField(max_length=30)
    os_build = models.PositiveIntegerField()

    class Meta:
        ordering = ["name"]
        verbose_name = "library image"

    def __str__(self):
        return self.name


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
    domain = models.CharField(max_length=255, blank=True)
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
