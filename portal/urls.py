from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("registry/", include("students.urls")),
    path("aid/", include("subsidies.urls")),
    path("dropout/", include("dropout_control.urls")),
    path("nutrition/", include("nutrition.urls")),
    path("reports/", include("reports.urls")),
    path("api/auth/token/", views.ObtainToken.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/subsidies/", include("subsidies.api_urls")),
    path("api/dropout/", include("dropout_control.api_urls")),
    path("api/nutrition/", include("nutrition.api_urls")),
    path("api/reports/", include("reports.api_urls")),
    path("api/", include("students.api_urls")),
]
