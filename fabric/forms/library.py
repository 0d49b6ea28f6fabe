from fabric.forms.base import ENDPOINT_FIELDS, FabricForm
from fabric.models import DeploymentServer, LibraryImage, PhysicalComputerProfile


class LibraryImageForm(FabricForm):
    class Meta:
        model = LibraryImage
        fields = ["name", "vhd_path", "os_name", "os_version", "os_build"]


class PhysicalComputerProfileForm(FabricForm):
    class Meta:
        model = PhysicalComputerProfile
        fields = [
            "name", "description", "image", "host_group", "ip_pool", "domain", "domain_join_run_as", "admin_run_as",
        ]


class DeploymentServerForm(FabricForm):
    class Meta:
        model = DeploymentServer
        fields = ["name", *ENDPOINT_FIELDS, "remote_install_path"]
        labels = {"run_as": "WinRM Run As account", "winrm_https": "WinRM over HTTPS"}
