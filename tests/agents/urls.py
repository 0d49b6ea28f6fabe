"""URLs for the discovery page tests: the project's URLs plus the discovery and refresh pages
(until fabric/urls.py carries them)."""
from django.urls import include, path

from config import urls as project
from fabric import urls as fabric_urls
from fabric.views import discovery

DISCOVERY = [
    path("clusters/add/", discovery.AddClusterView.as_view(), name="cluster_add"),
    path("clusters/<int:pk>/refresh/", discovery.ClusterRefreshView.as_view(), name="cluster_refresh"),
    path("fileservers/add/", discovery.AddFileServerView.as_view(), name="fileserver_add"),
    path("servers/add/", discovery.AddHostView.as_view(), name="host_add"),
    path("servers/<int:pk>/refresh/", discovery.HostRefreshView.as_view(), name="host_refresh"),
    path("update-servers/add/", discovery.AddUpdateServerView.as_view(), name="updateserver_add"),
    path("deployment-servers/discover/", discovery.AddDeploymentServerView.as_view(), name="deploymentserver_discover"),
]
names = {p.name for p in fabric_urls.urlpatterns}
fabric_patterns = list(fabric_urls.urlpatterns) + [p for p in DISCOVERY if p.name not in names]
urlpatterns = [
    path("fabric/", include((fabric_patterns, "fabric"))) if getattr(p, "app_name", None) == "fabric" else p
    for p in project.urlpatterns
]
