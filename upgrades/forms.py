"""The Upgrade Cluster wizard's pages: Nodes, BMC Configuration, Deployment Customization, Summary.

Every page checks its own input and saves nothing; the request is built from all pages at Finish.
A setting Ferry could not work out (no BMC address, no recorded MAC, no IP settings) is a
"Missing setting" error on its row until the operator fills it in.
"""
import ipaddress
import re

from django import forms
from django.core.exceptions import ValidationError

from fabric import agents
from fabric.agents import directory
from fabric.agents.connection import forbidden_reason, insecure_winrm_allowed
from fabric.choices import BMCProtocol
from fabric.models import (
    Cluster,
    DeploymentServer,
    Host,
    IPAllocation,
    LogicalNetwork,
    PhysicalComputerProfile,
    RunAsAccount,
    StaticIPPool,
    Subnet,
)
from fabric.models.validators import normalize_mac, validate_mac_address
from nodescripts.models import NodeScript
from upgrades.releases import UnknownRelease, by_build, release_of_build, rolling_upgrade_refusal
from upgrades.request import POOL, NodeSettings

_NETBIOS = re.compile(r"^(?!-)[A-Za-z0-9-]{1,15}(?<!-)$")
DEPLOYABLE_IMAGES = (".vhdx", ".vhd")


class NodesForm(forms.Form):
    nodes = forms.ModelMultipleChoiceField(queryset=Host.objects.none(), required=False,
                                           widget=forms.CheckboxSelectMultiple, label="Nodes to upgrade")
    select_all = forms.BooleanField(required=False, label="Select All")
    profile = forms.ModelChoiceField(
        PhysicalComputerProfile.objects.select_related("image"), label="Physical computer profile",
        help_text="It names the image each node is re-imaged with: a VHDX of the target release in the library.",
        error_messages={"required": "Choose a physical computer profile: it names the image the nodes are "
                                    "re-imaged with."})

    def __init__(self, *args, cluster: Cluster, **kwargs):
        super().__init__(*args, **kwargs)
        self.cluster = cluster
        self.fields["nodes"].queryset = cluster.nodes.order_by("name")

    def clean(self):
        data = super().clean()
        if data.get("select_all"):
            data["nodes"] = list(self.fields["nodes"].queryset)
        if not data.get("nodes") and "nodes" not in self.errors:
            self.add_error("nodes", "Select the nodes to upgrade, or Select All.")
        profile = data.get("profile")
        if profile is not None and not profile.image.vhd_path.lower().endswith(DEPLOYABLE_IMAGES):
            self.add_error("profile", f"The profile {profile} names {profile.image} "
                                      f"({profile.image.vhd_path}); an upgrade deploys a VHDX image of the "
                                      f"target release: choose a profile that names one.")
        elif profile is not None and data.get("nodes"):
            problem = release_problem(profile.image, data["nodes"])
            if problem:
                self.add_error("profile", problem)
        return data


def release_problem(image, nodes) -> str:
    """Why `image` cannot be the target of a rolling upgrade of `nodes`; empty when it can (a node
    already on the target release is left as it is)."""
    try:
        target = by_build(image.os_build)
    except UnknownRelease:
        return f"{image} has build {image.os_build}, not a Windows Server release Ferry knows."
    problems = []
    for node in nodes:
        current = release_of_build(node.os_build)
        if current is None:
            problems.append(f"the release of {node} is not known (refresh the cluster)")
        elif current != target and (refusal := rolling_upgrade_refusal(current, target)):
            problems.append(f"{node}: {refusal}")
    return "; ".join(problems)


class BMCForm(forms.Form):
    run_as = forms.ModelChoiceField(
        RunAsAccount.objects.defer("password"), label="BMC Run As account",
        help_text="An account the nodes' BMCs accept with the right to power-cycle and set the boot device.",
        error_messages={"required": "Choose the Run As account Ferry uses with the BMCs (or create one)."})
    protocol = forms.ChoiceField(choices=BMCProtocol.choices, initial=BMCProtocol.IPMI, label="Protocol",
                                 help_text="DCMI management goes through IPMI: for a DCMI BMC choose IPMI.")
    port = forms.IntegerField(
        initial=623, min_value=1, max_value=65535, label="BMC port", help_text="623 unless the BMCs listen elsewhere.",
        error_messages={"min_value": "A port is a number from 1 to 65535.",
                        "max_value": "A port is a number from 1 to 65535.",
                        "invalid": "A port is a number from 1 to 65535."})


class NodeRowForm(forms.Form):
    """One node's deployment settings (a row of the Deployment Customization page)."""

    host_id = forms.IntegerField(widget=forms.HiddenInput)
    bmc_address = forms.GenericIPAddressField(required=False, label="BMC IP",
                                              error_messages={"invalid": "Enter an IPv4 or IPv6 address."})
    new_name = forms.CharField(max_length=15, label="Computer name",
                               error_messages={"required": "Enter the node's computer name."})
    skip_ad_check = forms.BooleanField(required=False, initial=True,
                                       label="Skip Active Directory check for this computer name")
    management_mac = forms.CharField(
        required=False, max_length=17, label="Management NIC MAC", validators=[validate_mac_address],
        help_text="The NIC that becomes the management virtual NIC on a new virtual switch (not the BMC's MAC).")
    logical_network = forms.ModelChoiceField(LogicalNetwork.objects.all(), required=False, label="Logical network")
    subnet = forms.ModelChoiceField(Subnet.objects.select_related("logical_network"), required=False, label="Subnet")
    use_pool = forms.BooleanField(required=False, label="Obtain an IP address corresponding to the selected subnet")
    ip = forms.GenericIPAddressField(required=False, label="IP address",
                                     error_messages={"invalid": "Enter an IPv4 or IPv6 address."})

    def __init__(self, *args, hosts: dict, directory_server=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.hosts = hosts
        self.directory_server = directory_server
        self.host = hosts.get(_int(self._value("host_id")))
        network = _int(self._value("logical_network"))
        self.fields["subnet"].queryset = Subnet.objects.filter(logical_network_id=network) if network \
            else Subnet.objects.none()
        subnet = _int(self._value("subnet"))
        self.pool = StaticIPPool.objects.filter(subnet_id=subnet).first() if subnet else None
        if self.pool is None:
            self.fields["use_pool"].disabled = True
            self.fields["use_pool"].help_text = "The selected subnet has no static IP pool." if subnet else \
                "Choose a subnet first."
        else:
            self.fields["use_pool"].help_text = f"From the pool {self.pool}."

    def _value(self, name):
        if self.is_bound:
            return self.data.get(self.add_prefix(name))
        return self.initial.get(name)

    @property
    def node_name(self) -> str:
        return self.host.name if self.host else "?"

    def missing(self) -> list[str]:
        """The settings still empty on this row, as the Missing Settings alert names them."""
        gaps = []
        if not self._value("bmc_address"):
            gaps.append("BMC IP")
        if not self._value("management_mac"):
            gaps.append("management NIC MAC")
        use_pool = self._value("use_pool") in (True, "on", "true", "True") and self.pool is not None
        if not self._value("subnet") or not (use_pool or self._value("ip")):
            gaps.append("IP settings")
        return gaps

    def clean_management_mac(self):
        mac = self.cleaned_data["management_mac"]
        return normalize_mac(mac) if mac else ""

    def clean_new_name(self):
        name = self.cleaned_data["new_name"].strip()
        if not _NETBIOS.match(name):
            raise ValidationError(f"{name!r} is not a computer name: 1 to 15 letters, digits or hyphens, "
                                  f"not starting or ending with a hyphen.")
        return name

    def clean(self):
        data = super().clean()
        if self.host is None:
            raise ValidationError("This row names a node that is not among the selected ones: start again.")
        bmc = data.get("bmc_address")
        if not bmc and "bmc_address" not in self.errors:
            self.add_error("bmc_address", f"Missing setting: Ferry does not know the BMC address of {self.host}.")
        elif bmc and not insecure_winrm_allowed() and forbidden_reason(bmc):
            self.add_error("bmc_address", f"Ferry does not send credentials to {bmc}: {forbidden_reason(bmc)}.")
        elif bmc and (other := Host.objects.filter(bmc_address=bmc).exclude(pk=self.host.pk).first()):
            self.add_error("bmc_address", f"{bmc} is the BMC of {other}.")
        if not data.get("management_mac") and "management_mac" not in self.errors:
            self.add_error("management_mac", f"Missing setting: no MAC of {self.host}'s management NIC is recorded.")
        self._clean_ip(data)
        name = data.get("new_name")
        if name and "new_name" not in self.errors:
            self._clean_name(name, data.get("skip_ad_check"))
        return data

    def _clean_ip(self, data):
        network, subnet = data.get("logical_network"), data.get("subnet")
        if "subnet" in self.errors or "logical_network" in self.errors or "ip" in self.errors:
            return
        if subnet is None:
            self.add_error("subnet", "Missing setting: choose the logical network and subnet of the node's address.")
            return
        if network is not None and subnet.logical_network_id != network.pk:
            self.add_error("subnet", f"{subnet} is not a subnet of {network}.")
            return
        if data.get("use_pool") and self.pool is not None:
            data["ip"] = POOL
            return
        address = data.get("ip")
        if not address:
            self.add_error("ip", f"Missing setting: type an address inside {subnet.cidr}"
                                 + (f" or obtain one from the pool {self.pool.name}." if self.pool else "."))
            return
        error = address_problem(address, subnet, self.host)
        if error:
            self.add_error("ip", error)

    def _clean_name(self, name, skip_ad_check):
        clash = Host.objects.filter(name__iexact=name).exclude(pk=self.host.pk).first()
        if clash is not None:
            self.add_error("new_name", f"{clash.name} is already a host Ferry manages: choose another name.")
            return
        if skip_ad_check or name.lower() == self.host.name.lower():
            return  # the node's own computer account is expected to be in the directory
        server = self.directory_server
        if server is None:
            self.add_error("new_name", "No deployment server can check the directory: add one, or tick "
                                       "Skip Active Directory check.")
            return
        try:
            taken = directory.computer_name_taken(agents.Connection.for_endpoint(server), name)
        except (agents.AgentError, ValueError) as error:
            self.add_error("new_name", f"Could not check the name in Active Directory through {server}: {error}")
            return
        if taken:
            self.add_error("new_name", f"{name} already has a computer account in Active Directory: choose "
                                       f"another name, or tick Skip Active Directory check to reuse it.")

    def settings(self, bmc_port: int) -> NodeSettings:
        data = self.cleaned_data
        name = data["new_name"]
        return NodeSettings(
            host_id=self.host.pk, bmc_address=data["bmc_address"], bmc_port=bmc_port,
            new_name="" if name.lower() == self.host.name.lower() else name,
            skip_ad_check=bool(data.get("skip_ad_check")), management_mac=data["management_mac"],
            logical_network_id=data["subnet"].logical_network_id, subnet_id=data["subnet"].pk, ip=data["ip"])


def address_problem(address: str, subnet: Subnet, host: Host) -> str:
    """Why `address` cannot be typed for `host` in `subnet`; empty when it can."""
    ip = ipaddress.ip_address(address)
    network = subnet.network
    if ip.version != network.version or ip not in network:
        return f"{address} is outside the subnet {subnet.cidr}."
    if network.num_addresses > 2 and ip in (network.network_address, getattr(network, "broadcast_address", None)):
        return f"{address} is the network or broadcast address of {subnet.cidr}, not a host address."
    if subnet.gateway and ip == ipaddress.ip_address(subnet.gateway):
        return f"{address} is the gateway of {subnet.cidr}."
    if address in subnet.dns_list():
        return f"{address} is a DNS server of {subnet.cidr}."
    allocated = IPAllocation.objects.filter(pool__subnet=subnet, address=address).select_related("host").first()
    if allocated is not None and (allocated.host_id is None or allocated.host_id != host.pk):
        return f"{address} is already allocated from the pool {allocated.pool.name}" + \
            (f" to {allocated.host}." if allocated.host_id else f" ({allocated.description or 'in use'}).")
    for pool in subnet.pools.all():
        start, end = pool.bounds()
        if int(start) <= int(ip) <= int(end) and allocated is None:
            return (f"{address} is inside the static IP pool {pool.name}: tick \"Obtain an IP address "
                    f"corresponding to the selected subnet\", or type an address outside the pool.")
    if address == host.address:
        return ""   # the node keeps the address it has now
    users = [str(m) for model in (Host, Cluster, DeploymentServer) for m in model.objects.filter(address=address)]
    users += [f"the BMC of {h}" for h in Host.objects.filter(bmc_address=address)]
    if users:
        return f"{address} is in use by {', '.join(users)}."
    return ""


class BaseNodeRowFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index):
        return dict(self.form_kwargs)

    def clean(self):
        if any(self.errors):
            return
        seen: dict[tuple[str, str], str] = {}
        for form in self.forms:
            data = form.cleaned_data
            for field, label in (("new_name", "computer name"), ("bmc_address", "BMC IP"),
                                 ("management_mac", "management NIC MAC"), ("ip", "IP address")):
                value = str(data.get(field) or "").lower()
                if not value or value == POOL:
                    continue
                other = seen.get((field, value))
                if other:
                    form.add_error(field, f"{other} already has this {label}.")
                else:
                    seen[(field, value)] = form.node_name

    @property
    def missing(self) -> dict[str, list[str]]:
        return {form.node_name: gaps for form in self.forms if (gaps := form.missing())}


NodeRowFormSet = forms.formset_factory(NodeRowForm, formset=BaseNodeRowFormSet, extra=0, can_delete=False)


def script_choice(label: str, help_text: str) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        NodeScript.objects.all(), to_field_name="name", required=False, empty_label="none", label=label,
        help_text=help_text,
        error_messages={"invalid_choice": "There is no node script of that name in the library: choose one of "
                                          "the list, or none."})


class SummaryForm(forms.Form):
    functional_level = forms.BooleanField(
        required=False, initial=True, label="Update the cluster functional level after the last node",
        help_text="The point of no return: afterwards no node of the older release can join the cluster.")
    pre_script = script_choice("Pre-script", "Runs on each node before it is evacuated; if it fails, that node "
                                              "fails before anything moved, and the upgrade stops there.")
    post_script = script_choice("Post-script", "Runs on each node once it has joined again and been resumed "
                                                "with its VMs back; if it fails, that node fails.")


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
