from django.urls import path

from jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.JobListView.as_view(), name="job_list"),
    path("<int:pk>/", views.JobDetailView.as_view(), name="job_detail"),
    path("<int:pk>/live/", views.JobLiveView.as_view(), name="job_live"),
    path("<int:pk>/cancel/", views.JobCancelView.as_view(), name="job_cancel"),
    path("<int:pk>/report/", views.JobReportView.as_view(), name="job_report"),
    path("<int:pk>/report.csv", views.JobReportView.as_view(csv=True), name="job_report_csv"),
    path("<int:pk>/restart/", views.JobRestartView.as_view(), name="job_restart"),
    path("<int:pk>/resume-node/", views.JobResumeNodeView.as_view(), name="job_resume_node"),
]
