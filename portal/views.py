from __future__ import annotations

import re

import django_filters
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, Q
from django.db.models.functions import Concat
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import lists
from portal.access import can_read_access_log
from portal.api import call_service
from portal.audit import log_access, readable
from portal.filters import PortalFilterSet
from portal.models import AccessLog
from portal.security import needs_verification, verify_code
from portal.tokens import token_issue


class TokenRequestSerializer(AuthTokenSerializer):
    # Bounded like the user model's field, so that an absurd user name is a 400, not a lock-out row too long
    # for its column.
    username = serializers.CharField(label=_("User name"), max_length=150, write_only=True)
    password = serializers.CharField(
        label=_("Password"),
        max_length=4096,
        style={"input_type": "password"},
        trim_whitespace=False,
        write_only=True,
    )
    otp_token = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Authenticator or recovery code (required for bureau and officials).",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        user = attrs["user"]
        if user.must_change_password:
            raise serializers.ValidationError(
                _("This account must choose a new password: sign in to the portal in a browser first."),
                code="authorization",
            )
        if needs_verification(user):
            code = (attrs.get("otp_token") or "").strip()
            if not code or verify_code(user, code) is None:
                log_access(
                    self.context.get("request"), AccessLog.Action.OTP_FAILED, user=user, detail="API token"
                )
                raise serializers.ValidationError(
                    {"otp_token": [_("This account needs a valid authenticator code (otp_token).")]},
                    code="authorization",
                )
        return attrs


class ObtainToken(APIView):
    """POST username + password (+ otp_token for county-wide roles) -> {"token": ..., "expiry": ...}.

    Tokens expire after API_TOKEN_HOURS and end with a password change (portal.tokens). The django-axes
    lock-out applies here as on the login page.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    serializer_class = TokenRequestSerializer

    def get_serializer(self, *args, **kwargs):
        kwargs.setdefault("context", {"request": self.request})
        return self.serializer_class(*args, **kwargs)

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        key = call_service(token_issue, user=user)
        log_access(request, AccessLog.Action.API_TOKEN, user=user)
        return Response({"token": key, "expiry_hours": settings.API_TOKEN_HOURS})


class AccessLogFilter(PortalFilterSet):
    # What the 用户 column shows: "张校长（principal_a）", the person's name or their log-in name, or part of one.
    username = django_filters.CharFilter(label=_("User"), method="for_person")
    action = django_filters.ChoiceFilter(label=_("Action"), choices=AccessLog.Action.choices)
    since = django_filters.DateFilter(label=_("From"), field_name="at", lookup_expr="date__gte")
    until = django_filters.DateFilter(label=_("To"), field_name="at", lookup_expr="date__lte")
    ip = django_filters.CharFilter(label=_("Address"))
    # Set by the 记录 column's links ("students.student:12"), not typed: kept as the form's hidden field.
    object = django_filters.CharFilter(label=_("Record"), method="for_object", widget=forms.HiddenInput)

    class Meta:
        model = AccessLog
        fields = ["username", "action", "since", "until", "ip", "object"]

    def for_person(self, queryset, name, value):
        value = value.strip()
        shown = re.fullmatch(r"(.*?)[（(]([^（()）]+)[）)]", value)
        if shown:  # the column's own words: the log-in name in brackets decides
            return queryset.filter(username=shown.group(2).strip())
        full_name = Concat("user__last_name", "user__first_name", output_field=CharField())
        return queryset.alias(full_name=full_name).filter(
            Q(username__icontains=value) | Q(full_name__icontains=value.replace(" ", ""))
        )

    def for_object(self, queryset, name, value):
        object_type, _sep, object_id = value.partition(":")
        return queryset.filter(object_type=object_type, object_id=object_id)


ACCESS_LOG_SORTS = {"at": ["at"], "user": ["username", "at"], "action": ["action", "at"]}


@login_required
def access_log(request):
    """Read-only: the portal offers no way to change or delete an entry."""
    if not can_read_access_log(request.user):
        raise PermissionDenied
    filterset = AccessLogFilter(request.GET, queryset=AccessLog.objects.select_related("user"))
    result = lists.listing(request, filterset.qs, sorts=ACCESS_LOG_SORTS, default="-at", per_page=100)
    entries = readable(result.page, viewer=request.user)
    return render(request, "portal/access_log.html", lists.context(result, filter=filterset, entries=entries))
