from fabric.forms.base import ENDPOINT_FIELDS, FabricForm
from fabric.models import Cluster, Host, HostGroup


class HostGroupForm(FabricForm):
    class Meta:
        model = HostGroup
        fields = ["name", "parent", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.is_root:
            # The root stays where and what it is; only its description can change.
            del self.fields["parent"]
            self.fields["name"].disabled = True
        else:
            self.fields["parent"].required = True
            self.fields["parent"].label = "Parent group"


class HostForm(FabricForm):
    """Hosts are added by discovery; an administrator changes where they sit and how Ferry reaches them."""

    class Meta:
        model = Host
        fields = [
            "host_group", *ENDPOINT_FIELDS, "credssp_second_hop", "live_migration_limit", "management_mac",
            "bmc_address", "bmc_port", "bmc_protocol", "bmc_run_as",
        ]
        labels = {"run_as": "WinRM Run As account", "winrm_https": "WinRM over HTTPS"}


class ClusterForm(FabricForm):
    class Meta:
        model = Cluster
        fields = ["host_group", *ENDPOINT_FIELDS, "credssp_second_hop"]
        labels = {"run_as": "WinRM Run As account", "winrm_https": "WinRM over HTTPS"}
