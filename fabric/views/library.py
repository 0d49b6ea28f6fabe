"""Library: OS images, physical computer profiles, deployment (PXE) servers."""
from core.views.generic import ObjectCreateView, ObjectDeleteView, ObjectDetailView, ObjectEditView, ObjectListView
from fabric.filters import DeploymentServerFilterSet, LibraryImageFilterSet, PhysicalComputerProfileFilterSet
from fabric.forms import DeploymentServerForm, LibraryImageForm, PhysicalComputerProfileForm
from fabric.models import DeploymentServer, LibraryImage, PhysicalComputerProfile
from fabric.tables import DeploymentServerTable, LibraryImageTable, PhysicalComputerProfileTable


class LibraryImageListView(ObjectListView):
    model = LibraryImage
    table_class = LibraryImageTable
    filterset_class = LibraryImageFilterSet
    title = "Library images"
    add_url_name = "fabric:image_add"


class LibraryImageDetailView(ObjectDetailView):
    model = LibraryImage
    template_name = "fabric/object_detail.html"
    fields = ["name", "os_name", "os_version", "os_build", "vhd_path"]
    edit_url_name = "fabric:image_edit"
    delete_url_name = "fabric:image_delete"
    list_url_name = "fabric:image_list"


class LibraryImageCreateView(ObjectCreateView):
    model = LibraryImage
    form_class = LibraryImageForm
    cancel_url_name = "fabric:image_list"


class LibraryImageEditView(ObjectEditView):
    model = LibraryImage
    form_class = LibraryImageForm


class LibraryImageDeleteView(ObjectDeleteView):
    model = LibraryImage
    success_url_name = "fabric:image_list"


def profiles():
    return PhysicalComputerProfile.objects.select_related(
        "image", "host_group", "ip_pool", "domain_join_run_as", "admin_run_as"
    ).defer("domain_join_run_as__password", "admin_run_as__password")


class PhysicalComputerProfileListView(ObjectListView):
    model = PhysicalComputerProfile
    table_class = PhysicalComputerProfileTable
    filterset_class = PhysicalComputerProfileFilterSet
    title = "Physical computer profiles"
    add_url_name = "fabric:profile_add"

    def get_queryset(self):
        return profiles()


class PhysicalComputerProfileDetailView(ObjectDetailView):
    model = PhysicalComputerProfile
    template_name = "fabric/object_detail.html"
    fields = ["name", "description", "image", "host_group", "ip_pool", "domain", "domain_join_run_as", "admin_run_as"]
    edit_url_name = "fabric:profile_edit"
    delete_url_name = "fabric:profile_delete"
    list_url_name = "fabric:profile_list"

    def get_queryset(self):
        return profiles()


class PhysicalComputerProfileCreateView(ObjectCreateView):
    model = PhysicalComputerProfile
    form_class = PhysicalComputerProfileForm
    cancel_url_name = "fabric:profile_list"


class PhysicalComputerProfileEditView(ObjectEditView):
    model = PhysicalComputerProfile
    form_class = PhysicalComputerProfileForm


class PhysicalComputerProfileDeleteView(ObjectDeleteView):
    model = PhysicalComputerProfile
    success_url_name = "fabric:profile_list"


class DeploymentServerListView(ObjectListView):
    model = DeploymentServer
    table_class = DeploymentServerTable
    filterset_class = DeploymentServerFilterSet
    title = "Deployment servers"
    add_url_name = "fabric:deploymentserver_discover_add"
    add_label = "Add by discovery"
    more_add_links = [("Add by hand", "fabric:deploymentserver_add")]


class DeploymentServerDetailView(ObjectDetailView):
    model = DeploymentServer
    template_name = "fabric/object_detail.html"
    fields = [
        "name", "address", "winrm_port", "winrm_https", "winrm_transport", "ca_path", "allow_insecure", "run_as",
        "remote_install_path", "last_refreshed",
    ]
    edit_url_name = "fabric:deploymentserver_edit"
    delete_url_name = "fabric:deploymentserver_delete"
    list_url_name = "fabric:deploymentserver_list"

    def get_queryset(self):
        return DeploymentServer.objects.select_related("run_as").defer("run_as__password")


class DeploymentServerCreateView(ObjectCreateView):
    model = DeploymentServer
    form_class = DeploymentServerForm
    cancel_url_name = "fabric:deploymentserver_list"


class DeploymentServerEditView(ObjectEditView):
    model = DeploymentServer
    form_class = DeploymentServerForm


class DeploymentServerDeleteView(ObjectDeleteView):
    model = DeploymentServer
    success_url_name = "fabric:deploymentserver_list"
