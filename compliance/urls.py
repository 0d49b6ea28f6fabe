from django.urls import path

from compliance import views
from compliance.views import schedules, windows

app_name = "compliance"
urlpatterns = [
    path("", views.ComplianceView.as_view(), name="compliance"),
    path("hosts/<int:pk>/", views.HostComplianceView.as_view(), name="host_compliance"),
    path("hosts/<int:pk>/exempt/", views.ExemptView.as_view(), name="exempt"),
    path("exemptions/<int:pk>/delete/", views.ExemptionDeleteView.as_view(), name="exemption_delete"),
    path("scan/", views.ScanView.as_view(), name="scan"),
    path("remediate/", views.RemediateView.as_view(), name="remediate"),
    path("baselines/", views.BaselineListView.as_view(), name="baseline_list"),
    path("baselines/add/", views.BaselineCreateView.as_view(), name="baseline_add"),
    path("baselines/<int:pk>/", views.BaselineDetailView.as_view(), name="baseline_detail"),
    path("baselines/<int:pk>/edit/", views.BaselineEditView.as_view(), name="baseline_edit"),
    path("baselines/<int:pk>/delete/", views.BaselineDeleteView.as_view(), name="baseline_delete"),
    path("baselines/<int:pk>/assign/", views.AssignView.as_view(), name="baseline_assign"),
    path("assignments/<int:pk>/delete/", views.AssignmentDeleteView.as_view(), name="assignment_delete"),
    path("update-servers/", views.UpdateServerListView.as_view(), name="updateserver_list"),
    path("update-servers/<int:pk>/sync/", views.SyncView.as_view(), name="updateserver_sync"),
    path("updates/", views.UpdateListView.as_view(), name="update_list"),
    path("maintenance-windows/<str:kind>/<int:pk>/", windows.WindowsView.as_view(), name="maintenance_windows"),
    path("maintenance-windows/<int:pk>/delete/", windows.WindowDeleteView.as_view(), name="maintenance_window_delete"),
    path("schedules/", schedules.ScheduleListView.as_view(), name="schedule_list"),
    path("schedules/<int:pk>/cancel/", schedules.ScheduleCancelView.as_view(), name="schedule_cancel"),
]
