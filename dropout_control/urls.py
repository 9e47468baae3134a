app_name = "dropout"

urlpatterns: list = []
