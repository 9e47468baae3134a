app_name = "subsidies"

urlpatterns: list = []
