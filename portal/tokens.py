"""API tokens: django-rest-knox's hashed, expiring tokens, with the portal's own rules on top.

A token stops working when it expires (API_TOKEN_HOURS), when the account is disabled, when the password was
changed after the token was issued, or while the account must change its password (the browser's forced
change, portal.security, never sees token requests).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from knox.settings import knox_settings
from rest_framework import exceptions


def token_issue(*, user) -> str:
    """A new token for `user` (the caller has checked the password and second factor); returns its key.

    At most TOKEN_LIMIT_PER_USER live ones: a script that asks for a token on every run must not pile up
    credentials nobody can see or revoke (a password change ends them all).
    """
    with transaction.atomic():
        get_user_model().objects.select_for_update().get(pk=user.pk)
        AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        if AuthToken.objects.filter(user=user).count() >= knox_settings.TOKEN_LIMIT_PER_USER:
            raise ValidationError(
                _(
                    "This account already has %(n)s API tokens in use. They expire after %(hours)s hours; "
                    "changing the password ends them all at once."
                )
                % {"n": knox_settings.TOKEN_LIMIT_PER_USER, "hours": settings.API_TOKEN_HOURS},
                code="token_limit",
            )
        _instance, key = AuthToken.objects.create(user=user)
    return key


class ExpiringTokenAuthentication(TokenAuthentication):
    def validate_user(self, auth_token):
        user = auth_token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("This account is disabled."))
        if user.password_changed_at and auth_token.created < user.password_changed_at:
            auth_token.delete()
            raise exceptions.AuthenticationFailed(
                _("The password was changed after this token was issued: ask for a new token.")
            )
        if user.must_change_password:
            raise exceptions.AuthenticationFailed(
                _("This account must choose a new password in the browser before using the API.")
            )
        return user, auth_token


class ExpiringTokenScheme(OpenApiAuthenticationExtension):
    """How the API schema (/api/docs/) describes the token header."""

    target_class = ExpiringTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")
