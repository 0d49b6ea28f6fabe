from django.urls import path

from nodescripts import views

app_name = "nodescripts"
urlpatterns = [
    path("", views.NodeScriptListView.as_view(), name="script_list"),
    path("add/", views.NodeScriptCreateView.as_view(), name="script_add"),
    path("<int:pk>/", views.NodeScriptDetailView.as_view(), name="script_detail"),
    path("<int:pk>/edit/", views.NodeScriptEditView.as_view(), name="script_edit"),
    path("<int:pk>/delete/", views.NodeScriptDeleteView.as_view(), name="script_delete"),
]
