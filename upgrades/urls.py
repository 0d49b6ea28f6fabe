app_name = "upgrades"
urlpatterns = []
