"""The fabric's tables (django-tables2). Columns render from the row alone: no query per row."""
import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from core.roles import OPERATOR, has_role
from core.tables import FerryTable, WhenColumn, YesNoColumn, badge, format_bytes
from fabric.models import (
    Cluster,
    DeploymentServer,
    FileShare,
    Host,
    IPAllocation,
    LibraryImage,
    LogicalNetwork,
    PhysicalComputerProfile,
    RunAsAccount,
    VirtualMachine,
)


class HostTable(FerryTable):
    name = tables.Column()  # render_name makes the link (and flags insecure hosts)
    status = tables.Column()
    cluster = tables.Column(linkify=True, order_by=("cluster__name",))
    node_state = tables.Column(verbose_name="Node state")
    os_name = tables.Column(verbose_name="OS", order_by=("os_name", "os_build"))
    memory_bytes = tables.Column(verbose_name="Memory")
    cpu_count = tables.Column(verbose_name="CPUs")
    vm_count = tables.Column(verbose_name="VMs")
    host_group = tables.Column(verbose_name="Host group", order_by=("host_group__name",))

    class Meta(FerryTable.Meta):
        model = Host
        fields = (
            "name", "status", "cluster", "node_state", "os_name", "memory_bytes", "cpu_count", "vm_count", "host_group",
        )

    def render_name(self, record, value):
        if record.is_insecure or record.allow_insecure:
            return format_html(
                '<a href="{}">{}</a> <span class="badge warn" title="{}">insecure</span>',
                record.get_absolute_url(), value, ", ".join(record.insecure_reasons),
            )
        return format_html('<a href="{}">{}</a>', record.get_absolute_url(), value)

    def render_status(self, record, value):
        return badge(record.status, value)

    def render_node_state(self, record, value):
        return badge(record.node_state, value)

    def render_os_name(self, record, value):
        return f"{value} ({record.os_build})" if record.os_build else value

    def render_memory_bytes(self, value):
        return format_bytes(value)


class VirtualMachineTable(FerryTable):
    name = tables.Column(linkify=True)
    state = tables.Column()
    host = tables.Column(verbose_name="Owner node", linkify=True, order_by=("host__name",))
    cluster = tables.Column(linkify=True, order_by=("cluster__name",))
    memory_bytes = tables.Column(verbose_name="Memory")
    cpu_count = tables.Column(verbose_name="CPUs")
    highly_available = YesNoColumn(verbose_name="Highly available")

    class Meta(FerryTable.Meta):
        model = VirtualMachine
        fields = ("name", "state", "host", "cluster", "memory_bytes", "cpu_count", "highly_available")

    def render_state(self, record, value):
        return badge(record.state, value)

    def render_memory_bytes(self, value):
        return format_bytes(value)


class ChooseForUpgradeColumn(tables.Column):
    """A tick per row that the list's "Upgrade clusters" form sends (the checkbox names that form, which
    sits outside the table)."""

    def __init__(self):
        super().__init__(verbose_name="Choose", accessor="pk", orderable=False, empty_values=(),
                         exclude_from_export=True)

    def render(self, record):
        return format_html('<input type="checkbox" name="clusters" value="{}" form="upgrade-clusters" '
                           'aria-label="Choose {}">', record.pk, record.name)


def _operators_only(table, request, *columns) -> None:
    if not has_role(request.user, OPERATOR):
        for column in columns:
            table.columns.hide(column)  # operators start jobs


class ClusterTable(FerryTable):
    choose = ChooseForUpgradeColumn()
    name = tables.Column(linkify=True)
    kind = tables.Column()
    host_group = tables.Column(verbose_name="Host group", order_by=("host_group__name",))
    node_count = tables.Column(verbose_name="Nodes")
    vm_count = tables.Column(verbose_name="VMs")
    functional_level = tables.Column(verbose_name="Functional level")
    witness_kind = tables.Column(verbose_name="Witness")
    mixed_mode_since = WhenColumn(verbose_name="Mixed mode since")
    actions = tables.Column(verbose_name="", accessor="pk", orderable=False, empty_values=(), exclude_from_export=True)

    class Meta(FerryTable.Meta):
        model = Cluster
        fields = ("choose", "name", "kind", "host_group", "node_count", "vm_count", "functional_level",
                  "witness_kind", "mixed_mode_since")

    def before_render(self, request):
        _operators_only(self, request, "choose", "actions")

    def render_actions(self, record):
        return format_html('<a class="button small" href="{}">Upgrade Cluster</a>',
                           reverse("upgrades:upgrade_cluster", args=[record.pk]))


class FileServerTable(FerryTable):
    choose = ChooseForUpgradeColumn()
    name = tables.Column(linkify=True)
    fqdn = tables.Column(verbose_name="FQDN")
    host_group = tables.Column(verbose_name="Host group", order_by=("host_group__name",))
    node_count = tables.Column(verbose_name="Nodes")
    share_count = tables.Column(verbose_name="Shares")
    functional_level = tables.Column(verbose_name="Functional level")
    witness_kind = tables.Column(verbose_name="Witness")
    mixed_mode_since = WhenColumn(verbose_name="Mixed mode since")

    class Meta(FerryTable.Meta):
        model = Cluster
        fields = ("choose", "name", "fqdn", "host_group", "node_count", "share_count", "functional_level",
                  "witness_kind", "mixed_mode_since")

    def before_render(self, request):
        _operators_only(self, request, "choose")


class NodeTable(HostTable):
    """A cluster's nodes, on the cluster page."""

    class Meta(HostTable.Meta):
        fields = ("name", "node_state", "status", "os_name", "memory_bytes", "cpu_count", "vm_count")
        exclude = ("cluster", "host_group")
        orderable = False


class FileShareTable(FerryTable):
    unc = tables.Column(verbose_name="Share", accessor="pk", orderable=False)
    scope_name = tables.Column(verbose_name="Scale-out name")
    path = tables.Column()
    continuously_available = YesNoColumn(verbose_name="Continuously available")
    state = tables.Column()

    class Meta(FerryTable.Meta):
        model = FileShare
        fields = ("unc", "scope_name", "path", "continuously_available", "state")
        orderable = False

    def render_unc(self, record):
        return str(record)


class RunAsAccountTable(FerryTable):
    name = tables.Column(linkify=("fabric:runas_edit", [tables.A("pk")]))
    username = tables.Column(verbose_name="User name")
    has_password = YesNoColumn(verbose_name="Password stored", orderable=False)
    description = tables.Column()

    class Meta(FerryTable.Meta):
        model = RunAsAccount
        fields = ("name", "username", "has_password", "description")


class LibraryImageTable(FerryTable):
    name = tables.Column(linkify=True)

    class Meta(FerryTable.Meta):
        model = LibraryImage
        fields = ("name", "os_name", "os_version", "os_build", "vhd_path")


class PhysicalComputerProfileTable(FerryTable):
    name = tables.Column(linkify=True)
    image = tables.Column(linkify=True, order_by=("image__name",))
    host_group = tables.Column(verbose_name="Host group", order_by=("host_group__name",))
    ip_pool = tables.Column(verbose_name="Static IP pool", linkify=True, order_by=("ip_pool__name",))

    class Meta(FerryTable.Meta):
        model = PhysicalComputerProfile
        fields = ("name", "image", "host_group", "ip_pool", "domain")


class DeploymentServerTable(FerryTable):
    name = tables.Column(linkify=True)
    winrm_transport = tables.Column(verbose_name="WinRM authentication")
    winrm_https = YesNoColumn(verbose_name="HTTPS")

    class Meta(FerryTable.Meta):
        model = DeploymentServer
        fields = ("name", "address", "winrm_transport", "winrm_https", "remote_install_path")


class LogicalNetworkTable(FerryTable):
    name = tables.Column(linkify=True)
    subnet_count = tables.Column(verbose_name="Subnets")
    pool_count = tables.Column(verbose_name="Static IP pools")
    description = tables.Column()

    class Meta(FerryTable.Meta):
        model = LogicalNetwork
        fields = ("name", "subnet_count", "pool_count", "description")


class IPAllocationTable(FerryTable):
    address = tables.Column()
    host = tables.Column(linkify=True, order_by=("host__name",))
    description = tables.Column()
    created = WhenColumn()

    class Meta(FerryTable.Meta):
        model = IPAllocation
        fields = ("address", "host", "description", "created")
