from django.urls import path

from upgrades import campaign, views

app_name = "upgrades"
urlpatterns = [
    path("campaign/", campaign.UpgradeCampaignView.as_view(), name="upgrade_campaign"),
    path("clusters/<int:pk>/update-version/", views.UpdateVersionView.as_view(), name="update_version"),
    path("clusters/<int:pk>/upgrade/", views.UpgradeClusterWizard.as_view(), name="upgrade_cluster"),
    path("clusters/<int:pk>/upgrade/rows/<int:index>/", views.CustomizeRowView.as_view(), name="customize_row"),
    path("clusters/<int:pk>/upgrade/bmc-run-as/", views.BMCRunAsCreateView.as_view(), name="bmc_run_as_add"),
]
