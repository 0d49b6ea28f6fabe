from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.SubscriptionListView.as_view(), name="subscription_list"),
    path("<int:pk>/", views.SubscriptionEditView.as_view(), name="subscription_edit"),
    path("<int:pk>/delete/", views.SubscriptionDeleteView.as_view(), name="subscription_delete"),
    path("deliveries/", views.DeliveryLogView.as_view(), name="delivery_list"),
]
