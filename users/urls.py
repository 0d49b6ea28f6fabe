from django.urls import path

from users import views

app_name = "users"
urlpatterns = [
    path("", views.UserListView.as_view(), name="user_list"),
    path("add/", views.UserCreateView.as_view(), name="user_add"),
    path("<int:pk>/edit/", views.UserEditView.as_view(), name="user_edit"),
    path("<int:pk>/password/", views.UserPasswordView.as_view(), name="user_password"),
]
