from django.urls import path

from core.views.audit import AuditLogView
from fabric import views
from fabric.views import discovery

app_name = "fabric"


def crud(prefix: str, name: str, list_view, detail_view, create_view, edit_view, delete_view):
    """The five URLs of an object an administrator manages: list, add, detail, edit, delete."""
    return [
        path(f"{prefix}/", list_view.as_view(), name=f"{name}_list"),
        path(f"{prefix}/add/", create_view.as_view(), name=f"{name}_add"),
        path(f"{prefix}/<int:pk>/", detail_view.as_view(), name=f"{name}_detail"),
        path(f"{prefix}/<int:pk>/edit/", edit_view.as_view(), name=f"{name}_edit"),
        path(f"{prefix}/<int:pk>/delete/", delete_view.as_view(), name=f"{name}_delete"),
    ]


urlpatterns = [
    # Fabric › Servers
    path("servers/", views.ServerListView.as_view(), name="server_list"),
    path("servers/<int:pk>/", views.HostDetailView.as_view(), name="host_detail"),
    path("servers/<int:pk>/edit/", views.HostEditView.as_view(), name="host_edit"),
    path("servers/<int:pk>/remove/", views.HostRemoveView.as_view(), name="host_delete"),
    path("groups/add/", views.HostGroupCreateView.as_view(), name="hostgroup_add"),
    path("groups/<int:pk>/edit/", views.HostGroupEditView.as_view(), name="hostgroup_edit"),
    path("groups/<int:pk>/delete/", views.HostGroupDeleteView.as_view(), name="hostgroup_delete"),
    path("clusters/", views.ClusterListView.as_view(), name="cluster_list"),
    path("clusters/<int:pk>/", views.ClusterDetailView.as_view(), name="cluster_detail"),
    path("clusters/<int:pk>/edit/", views.ClusterEditView.as_view(), name="cluster_edit"),
    path("clusters/<int:pk>/remove/", views.ClusterRemoveView.as_view(), name="cluster_delete"),
    path("vms/", views.VirtualMachineListView.as_view(), name="vm_list"),
    path("vms/<int:pk>/", views.VirtualMachineDetailView.as_view(), name="vm_detail"),
    # Fabric › Storage › File Servers (edit and remove share the cluster URLs)
    path("fileservers/", views.FileServerListView.as_view(), name="fileserver_list"),
    path("fileservers/<int:pk>/", views.FileServerDetailView.as_view(), name="fileserver_detail"),
    # Library
    *crud("images", "image", views.LibraryImageListView, views.LibraryImageDetailView,
          views.LibraryImageCreateView, views.LibraryImageEditView, views.LibraryImageDeleteView),
    *crud("profiles", "profile", views.PhysicalComputerProfileListView, views.PhysicalComputerProfileDetailView,
          views.PhysicalComputerProfileCreateView, views.PhysicalComputerProfileEditView,
          views.PhysicalComputerProfileDeleteView),
    *crud("deployment-servers", "deploymentserver", views.DeploymentServerListView, views.DeploymentServerDetailView,
          views.DeploymentServerCreateView, views.DeploymentServerEditView, views.DeploymentServerDeleteView),
    # Networking
    *crud("networks", "logicalnetwork", views.LogicalNetworkListView, views.LogicalNetworkDetailView,
          views.LogicalNetworkCreateView, views.LogicalNetworkEditView, views.LogicalNetworkDeleteView),
    path("networks/<int:network_pk>/subnets/add/", views.SubnetCreateView.as_view(), name="subnet_add"),
    path("subnets/<int:pk>/", views.SubnetDetailView.as_view(), name="subnet_detail"),
    path("subnets/<int:pk>/edit/", views.SubnetEditView.as_view(), name="subnet_edit"),
    path("subnets/<int:pk>/delete/", views.SubnetDeleteView.as_view(), name="subnet_delete"),
    path("subnets/<int:subnet_pk>/pools/add/", views.StaticIPPoolCreateView.as_view(), name="pool_add"),
    path("pools/<int:pk>/", views.StaticIPPoolDetailView.as_view(), name="pool_detail"),
    path("pools/<int:pk>/edit/", views.StaticIPPoolEditView.as_view(), name="pool_edit"),
    path("pools/<int:pk>/delete/", views.StaticIPPoolDeleteView.as_view(), name="pool_delete"),
    # Settings
    path("runas/", views.RunAsAccountListView.as_view(), name="runas_list"),
    path("runas/add/", views.RunAsAccountCreateView.as_view(), name="runas_add"),
    path("runas/<int:pk>/edit/", views.RunAsAccountEditView.as_view(), name="runas_edit"),
    path("runas/<int:pk>/delete/", views.RunAsAccountDeleteView.as_view(), name="runas_delete"),
    path("audit/", AuditLogView.as_view(), name="audit_list"),
    # Adding machines by discovery (administrator) and refreshing them (operator): both run as jobs
    path("clusters/add/", discovery.AddClusterView.as_view(), name="cluster_add"),
    path("fileservers/add/", discovery.AddFileServerView.as_view(), name="fileserver_add"),
    path("servers/add/", discovery.AddHostView.as_view(), name="host_add"),
    path("update-servers/add/", discovery.AddUpdateServerView.as_view(), name="updateserver_add"),
    path("deployment-servers/discover/", discovery.AddDeploymentServerView.as_view(),
         name="deploymentserver_discover_add"),
    path("clusters/<int:pk>/refresh/", discovery.ClusterRefreshView.as_view(), name="cluster_refresh"),
    path("servers/<int:pk>/refresh/", discovery.HostRefreshView.as_view(), name="host_refresh"),
]
