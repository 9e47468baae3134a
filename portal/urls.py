from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal import search, security, views

urlpatterns = [
    path("", include("reports.home_urls")),
    path("accounts/password_change/", security.ForcedPasswordChangeView.as_view(), name="password_change"),
    path("accounts/security/", security.account_security, name="account_security"),
    path("accounts/2fa/setup/", security.otp_setup, name="otp_setup"),
    path("accounts/2fa/enrol/<str:uidb64>/<str:token>/", security.otp_setup, name="otp_enrol"),
    path("accounts/2fa/verify/", security.otp_verify, name="otp_verify"),
    path("accounts/2fa/recovery/", security.otp_recovery_codes, name="otp_recovery"),
    # Log-in and log-out only: no self-service password reset (the portal sends no mail; a bureau administrator
    # resets a password, and the user must choose a new one at next log-in).
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("access-log/", views.access_log, name="access_log"),
    path("search/", search.search_redirect, name="search"),
    path("registry/", include("students.urls")),
    path("aid/", include("subsidies.urls")),
    path("dropout/", include("dropout_control.urls")),
    path("nutrition/", include("nutrition.urls")),
    path("reports/", include("reports.urls")),
    path("api/auth/token/", views.ObtainToken.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: the CSP forbids inline scripts.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/subsidies/", include("subsidies.api_urls")),
    path("api/dropout/", include("dropout_control.api_urls")),
    path("api/nutrition/", include("nutrition.api_urls")),
    path("api/reports/", include("reports.api_urls")),
    path("api/", include("students.api_urls")),
]
