"""/api/: the REST API (token or session authentication), its schema and documentation, and the
page where people manage their tokens.

DRF's views are exempt from Django's LoginRequiredMiddleware and answer 401 themselves (a script
is not sent to the sign-in page); the documentation pages are for people, who sign in first.
"""
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api.views import compliance, fabric, jobs, submit, tokens

router = DefaultRouter()
router.register("clusters", fabric.ClusterViewSet, basename="cluster")
router.register("hosts", fabric.HostViewSet, basename="host")
router.register("vms", fabric.VirtualMachineViewSet, basename="vm")
router.register("file-servers", fabric.FileServerViewSet, basename="fileserver")
router.register("jobs", jobs.JobViewSet, basename="job")

app_name = "api"
urlpatterns = [
    path("", include(router.urls)),
    path("compliance/", compliance.ComplianceStateList.as_view(), name="compliance"),
    path("compliance/scan/", compliance.ScanView.as_view(), name="scan"),
    path("clusters/<int:pk>/remediate/", submit.RemediateView.as_view(), name="remediate"),
    path("clusters/<int:pk>/upgrade/", submit.UpgradeView.as_view(), name="upgrade"),
    path("campaigns/", submit.CampaignView.as_view(), name="campaigns"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", login_required(SpectacularSwaggerView.as_view(url_name="api:schema")), name="docs"),
    path("redoc/", login_required(SpectacularRedocView.as_view(url_name="api:schema")), name="redoc"),
    path("tokens/", tokens.TokenListView.as_view(), name="token_list"),
    path("tokens/<int:pk>/revoke/", tokens.TokenRevokeView.as_view(), name="token_revoke"),
]
