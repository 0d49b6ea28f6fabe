from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

if not settings.FERRY_ADMIN_TASK_PAGES:
    # django-q2's pages would let a superuser schedule any Python function on the workers.
    from django_q import models as q_models

    for model in (q_models.Schedule, q_models.Success, q_models.Failure, q_models.OrmQ):
        if admin.site.is_registered(model):
            admin.site.unregister(model)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="fabric:server_list", permanent=False)),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("fabric/", include("fabric.urls")),
    path("jobs/", include("jobs.urls")),
    path("compliance/", include("compliance.urls")),
    path("upgrades/", include("upgrades.urls")),
    path("api/", include("api.urls")),
    path("notifications/", include("notifications.urls")),
    path("settings/users/", include("users.urls")),
    path("scripts/", include("nodescripts.urls")),
    path("admin/", admin.site.urls),
]
