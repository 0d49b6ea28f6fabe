from django.urls import path

from fabric import views

app_name = "fabric"
urlpatterns = [
    path("servers/", views.ServerListView.as_view(), name="server_list"),
]
