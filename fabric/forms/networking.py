from fabric.forms.base import FabricForm
from fabric.models import LogicalNetwork, StaticIPPool, Subnet


class LogicalNetworkForm(FabricForm):
    class Meta:
        model = LogicalNetwork
        fields = ["name", "description"]


class SubnetForm(FabricForm):
    """The logical network comes from the page (the view builds the instance with it)."""

    class Meta:
        model = Subnet
        fields = ["name", "cidr", "vlan", "gateway", "dns_servers", "dns_suffix"]


class StaticIPPoolForm(FabricForm):
    """The subnet comes from the page, so the model can check the range against it."""

    class Meta:
        model = StaticIPPool
        fields = ["name", "range_start", "range_end"]
