from django.urls import path

from upgrades import views

app_name = "upgrades"
urlpatterns = [
    path("clusters/<int:pk>/update-version/", views.UpdateVersionView.as_view(), name="update_version"),
]
