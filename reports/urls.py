from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("unaided/", views.unaided, name="unaided"),
    path("dashboard.json", views.dashboard_json, name="dashboard_json"),
    path("yearend/", views.snapshot_list, name="snapshot_list"),
    path("yearend/rebuild/", views.snapshot_rebuild, name="snapshot_rebuild"),
    path("yearend/year/<int:year>/<str:basis>/", views.snapshot_year, name="snapshot_year"),
    path("populations/", views.populations, name="populations"),
    path("yearend/<int:pk>/", views.snapshot_detail, name="snapshot_detail"),
    path("yearend/<int:pk>/publish/", views.snapshot_publish, name="snapshot_publish"),
    path("yearend/<int:pk>/download.xlsx", views.snapshot_download, name="snapshot_download"),
    path("yearend/<int:pk>/<slug:section>/", views.snapshot_section, name="snapshot_section"),
]
