"""Fabric › Servers: the host-group tree with its hosts, host and cluster pages, VMs, file servers."""
from django.db.models import Count, Q
from django.http import Http404
from django.urls import reverse

from core.roles import ADMINISTRATOR, OPERATOR, has_role
from core.views.generic import (
    ObjectCreateView,
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    count_of,
    paginated,
)
from fabric.choices import ClusterKind
from fabric.filters import ClusterFilterSet, HostFilterSet, VirtualMachineFilterSet
from fabric.forms import ClusterForm, HostForm, HostGroupForm
from fabric.models import Cluster, FileShare, Host, HostGroup, VirtualMachine
from fabric.models.grouptree import GroupTree
from fabric.nodeops.inventory import quorum_with_one_node_out
from fabric.tables import (
    ClusterTable,
    FileServerTable,
    FileShareTable,
    HostTable,
    NodeTable,
    VirtualMachineTable,
    format_bytes,
)
from upgrades.orchestration import UpgradeRefused, update_version_target

RUN_AS_SECRETS = ("run_as__password",)


def hosts_with_counts():
    return (
        Host.objects.select_related("cluster", "host_group")
        .annotate(vm_count=count_of(VirtualMachine, "host"))
    )


def vms_of(**conditions):
    return VirtualMachine.objects.filter(**conditions).select_related("host", "cluster")


# ── host groups and hosts ───────────────────────────────────────────────────────────────


class ServerListView(ObjectListView):
    """The tree of host groups (left) and the hosts of the selected group and every group below it."""

    model = Host
    table_class = HostTable
    filterset_class = HostFilterSet
    template_name = "fabric/server_list.html"
    title = "Servers"

    def selected_group(self):
        raw = self.request.GET.get("group")
        if not raw:
            return None
        if not raw.isdigit() or int(raw) not in self.tree.by_id:
            raise Http404("No such host group.")
        return self.tree.by_id[int(raw)]

    def get_queryset(self):
        self.tree = GroupTree.load()
        self.group = self.selected_group()
        queryset = hosts_with_counts()
        if self.group is not None:
            queryset = queryset.filter(host_group_id__in=self.tree.descendant_ids(self.group.pk))
        return queryset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["group"] = self.group
        if self.group is not None:
            context["title"] = self.tree.path(self.group.pk)
        if self.partial_requested():
            return context
        direct = dict(
            Host.objects.order_by().values("host_group_id").annotate(n=Count("id")).values_list("host_group_id", "n")
        )
        selected = self.group.pk if self.group else (self.tree.roots()[0].pk if self.tree.roots() else None)
        context["tree"] = self.tree.nodes(direct, selected)
        if has_role(self.request.user, ADMINISTRATOR) and selected:
            context["group_add_url"] = reverse("fabric:hostgroup_add") + f"?parent={selected}"
            context["group_edit_url"] = reverse("fabric:hostgroup_edit", args=[selected])
            if self.tree.by_id[selected].parent_id is not None:
                context["group_delete_url"] = reverse("fabric:hostgroup_delete", args=[selected])
        return context


class HostDetailView(ObjectDetailView):
    model = Host
    template_name = "fabric/host_detail.html"
    partials = {"vms": "fabric/host_detail.html#vms"}
    edit_url_name = "fabric:host_edit"
    delete_url_name = "fabric:host_delete"
    list_url_name = "fabric:server_list"

    def get_queryset(self):
        return Host.objects.select_related("cluster", "host_group", "run_as", "bmc_run_as").defer(
            "run_as__password", "bmc_run_as__password"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        host = self.object
        context["vm_table"] = paginated(self.request, VirtualMachineTable(vms_of(host=host), exclude=("host",)))
        if not self.partial_requested():
            context["group_path"] = GroupTree.load().path(host.host_group_id)
            context["memory"] = format_bytes(host.memory_bytes)
        return context


class HostEditView(ObjectEditView):
    model = Host
    form_class = HostForm


class HostRemoveView(ObjectDeleteView):
    model = Host
    verb = "Remove from management"
    done = "Removed"
    success_url_name = "fabric:server_list"
    consequences = (
        "Ferry stops managing this host and forgets its virtual machines that are not clustered. "
        "Nothing changes on the machine itself; discovery can add it again."
    )

    def blockers(self):
        if self.object.cluster_id:
            return [
                f"{self.object} is a node of the cluster {self.object.cluster}: "
                "remove the cluster from management instead."
            ]
        return []

    def delete_object(self):
        VirtualMachine.objects.filter(host=self.object, cluster__isnull=True).delete()
        self.object.delete()


class HostGroupCreateView(ObjectCreateView):
    model = HostGroup
    form_class = HostGroupForm
    cancel_url_name = "fabric:server_list"

    def get_initial(self):
        parent = self.request.GET.get("parent")
        return {"parent": int(parent)} if parent and parent.isdigit() else {"parent": HostGroup.root().pk}


class HostGroupEditView(ObjectEditView):
    model = HostGroup
    form_class = HostGroupForm


class HostGroupDeleteView(ObjectDeleteView):
    model = HostGroup
    success_url_name = "fabric:server_list"

    def blockers(self):
        group = self.object
        if group.parent_id is None:
            return [f"{group} is the root of the tree and cannot be deleted."]
        contents = [
            (group.children.count(), "subgroup"),
            (group.hosts.count(), "host"),
            (group.clusters.count(), "cluster"),
        ]
        held = [f"{n} {noun}{'s' if n != 1 else ''}" for n, noun in contents if n]
        if held:
            return [f"{group} still contains {', '.join(held)}: move or remove them first."]
        return []

    def get_success_url(self):
        return self.object.parent.get_absolute_url()


# ── clusters and file servers ───────────────────────────────────────────────────────────


def clusters_with_counts(kind):
    return (
        Cluster.objects.filter(kind=kind)
        .select_related("host_group")
        .annotate(node_count=count_of(Host, "cluster"), vm_count=count_of(VirtualMachine, "cluster"),
                  share_count=count_of(FileShare, "cluster"))
    )


class ClusterListView(ObjectListView):
    """Operators tick clusters and press "Upgrade clusters" (an upgrade campaign); the file servers' list too."""

    model = Cluster
    # a page of its own extending the generic list rendered the table twice as slowly (measured at 10,000
    # hosts): the list's template takes an include for extra actions instead
    list_actions = "fabric/_upgrade_clusters_button.html"
    table_class = ClusterTable
    filterset_class = ClusterFilterSet
    title = "Hyper-V clusters"
    add_url_name = "fabric:cluster_add"

    def get_queryset(self):
        return clusters_with_counts(ClusterKind.HYPERV)


class FileServerListView(ClusterListView):
    table_class = FileServerTable
    title = "File servers (Scale-Out File Server clusters)"
    count_nouns = ("file server", "file servers")
    add_url_name = "fabric:fileserver_add"

    def get_queryset(self):
        return clusters_with_counts(ClusterKind.SOFS)


class ClusterDetailView(ObjectDetailView):
    model = Cluster
    kind = ClusterKind.HYPERV
    template_name = "fabric/cluster_detail.html"
    partials = {"vms": "fabric/cluster_detail.html#vms"}
    edit_url_name = "fabric:cluster_edit"
    delete_url_name = "fabric:cluster_delete"
    list_url_name = "fabric:cluster_list"

    def get_queryset(self):
        return Cluster.objects.filter(kind=self.kind).select_related("host_group", "run_as").defer(*RUN_AS_SECRETS)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        cluster = self.object
        context["vm_table"] = paginated(
            self.request, VirtualMachineTable(vms_of(cluster=cluster), exclude=("cluster",))
        )
        if self.partial_requested():
            return context
        nodes = list(hosts_with_counts().filter(cluster=cluster).order_by("name"))
        context["node_table"] = NodeTable(nodes)
        context["nodes"] = nodes
        context["os_versions"] = sorted({(n.os_name, n.os_build) for n in nodes if n.os_build}, key=lambda v: v[1])
        context["quorum_one_out"] = quorum_with_one_node_out(cluster, nodes)
        context["group_path"] = GroupTree.load().path(cluster.host_group_id)
        if has_role(self.request.user, OPERATOR):   # Hyper-V clusters and file servers alike
            try:
                context["update_version_to"] = update_version_target(cluster)
            except UpgradeRefused:
                pass
        return context


class FileServerDetailView(ClusterDetailView):
    kind = ClusterKind.SOFS
    template_name = "fabric/fileserver_detail.html"
    partials = {}
    list_url_name = "fabric:fileserver_list"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["share_table"] = FileShareTable(self.object.shares.all())
        return context


class ClusterEditView(ObjectEditView):
    model = Cluster
    form_class = ClusterForm


class ClusterRemoveView(ObjectDeleteView):
    model = Cluster
    verb = "Remove from management"
    done = "Removed"
    consequences = (
        "Ferry stops managing this cluster, its nodes, their virtual machines and file shares. "
        "Nothing changes on the machines themselves; discovery can add them again."
    )

    def get_success_url(self):
        return reverse("fabric:fileserver_list" if self.object.kind == ClusterKind.SOFS else "fabric:cluster_list")

    def delete_object(self):
        cluster = self.object
        VirtualMachine.objects.filter(cluster=cluster).delete()
        VirtualMachine.objects.filter(host__cluster=cluster).delete()
        Host.objects.filter(cluster=cluster).delete()
        cluster.delete()

    def audit_detail(self):
        return f"with {self.object.nodes.count()} nodes"


# ── virtual machines ────────────────────────────────────────────────────────────────────


class VirtualMachineListView(ObjectListView):
    model = VirtualMachine
    table_class = VirtualMachineTable
    filterset_class = VirtualMachineFilterSet
    title = "Virtual machines"

    def get_queryset(self):
        return vms_of()


class VirtualMachineDetailView(ObjectDetailView):
    """A VM: where it runs, its size, and its recent moves as the jobs' logs recorded them."""

    model = VirtualMachine
    template_name = "fabric/vm_detail.html"
    list_url_name = "fabric:vm_list"
    moves_shown = 20

    def get_queryset(self):
        return vms_of()

    def get_context_data(self, **kwargs):
        from jobs.models import JobLogEntry

        context = super().get_context_data(**kwargs)
        vm = self.object
        context["memory"] = format_bytes(vm.memory_bytes)
        # The migration scheduler logs "<vm> (<size>) is on <node>." or "VM <vm> could not be live-migrated …".
        moved = Q(message__startswith=f"{vm.name} (", message__contains=") is on ")
        failed = Q(message__startswith=f"VM {vm.name} could not be live-migrated")
        context["moves"] = list(JobLogEntry.objects.filter(moved | failed).select_related("job")
                                .order_by("-id")[:self.moves_shown])
        return context

