"""Account safety: forced password change, the second factor (TOTP) and its recovery codes.

`SecurityGateMiddleware` sends a signed-in user who must still change the initial password, or who needs a
second factor and has not given it in this session, to the page that settles it; API calls get a 403.
"""

from __future__ import annotations

import django_otp
import segno
from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import PasswordChangeView
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 10
EXEMPT_PREFIXES = ("/static/", "/i18n/", "/accounts/logout/", "/accounts/2fa/", "/accounts/password_change/")


def needs_verification(user) -> bool:
    """A second factor is required for county-wide roles, and for anyone who turned it on."""
    return user.needs_second_factor or django_otp.user_has_device(user)


class SecurityGateMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path.startswith(EXEMPT_PREFIXES):
            return self.get_response(request)
        target = None
        if user.must_change_password:
            target = reverse("password_change")
            reason = _("Please choose a new password before you go on.")
        elif needs_verification(user) and not user.is_verified():
            has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
            target = reverse("otp_verify" if has_device else "otp_setup")
            reason = _("Your account needs a second factor (an authenticator code).")
        if target is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": reason}, status=403)
        return redirect(f"{target}?next={request.get_full_path()}")


class ForcedPasswordChangeView(PasswordChangeView):
    """Django's password change, which also lifts the must-change flag of a new account."""

    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.user
        user.must_change_password = False
        user.save(update_fields=["must_change_password"])
        update_session_auth_hash(self.request, user)
        messages.success(self.request, _("Your password was changed."))
        return response


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        help_text=gettext_lazy("The 6-digit code of your authenticator app, or one of your recovery codes."),
    )


def verify_code(user, code: str):
    """The device that accepts `code`: a 6-digit authenticator code, or else a one-use recovery code.

    Each kind is tried only on its own devices, so that a recovery code does not count as a failed
    authenticator attempt (django-otp slows a device down after failures).
    """
    code = code.strip().replace(" ", "")
    kind = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
    with transaction.atomic():
        for device in kind.objects.filter(user=user, confirmed=True).select_for_update():
            allowed, _data = device.verify_is_allowed()
            if allowed and device.verify_token(code):
                return device
    return None


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or reverse("home")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return reverse("home")
    return target


@transaction.atomic
def issue_recovery_codes(user) -> list[str]:
    """Ten one-use codes; issuing new ones voids the old."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name="recovery", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@login_required
def otp_setup(request):
    device = TOTPDevice.objects.filter(
        user=request.user, confirmed=False
    ).first() or TOTPDevice.objects.create(user=request.user, name="authenticator", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            django_otp.login(request, device)
            codes = issue_recovery_codes(request.user)
            return render(
                request, "registration/otp_recovery.html", {"codes": codes, "next": _next_url(request)}
            )
        form.add_error("token", _("The code is wrong or has expired. Try the newest code."))
    qr = segno.make(device.config_url, micro=False).svg_inline(scale=4)
    return render(
        request,
        "registration/otp_setup.html",
        {"form": form, "qr": mark_safe(qr), "key": _base32(device), "next": _next_url(request)},  # noqa: S308 (segno's own SVG)
    )


@login_required
def otp_verify(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = verify_code(request.user, form.cleaned_data["token"])
        if device is not None:
            django_otp.login(request, device)
            return redirect(_next_url(request))
        form.add_error("token", _("The code is wrong or has expired. Try the newest code."))
    return render(request, "registration/otp_verify.html", {"form": form, "next": _next_url(request)})


@login_required
def otp_recovery_codes(request):
    """New recovery codes, for a user who has given the second factor in this session."""
    if not request.user.is_verified():
        return redirect(f"{reverse('otp_verify')}?next={request.path}")
    if request.method == "POST":
        return render(
            request, "registration/otp_recovery.html", {"codes": issue_recovery_codes(request.user)}
        )
    return render(request, "registration/otp_recovery.html", {"codes": None})


def _base32(device: TOTPDevice) -> str:
    import base64

    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


@login_required
def account_security(request):
    """The user's own security settings: password, second factor, recovery codes."""
    has_authenticator = TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()
    recovery_left = StaticToken.objects.filter(device__user=request.user, device__confirmed=True).count()
    return render(
        request,
        "registration/account_security.html",
        {
            "has_authenticator": has_authenticator,
            "required": request.user.needs_second_factor,
            "recovery_left": recovery_left,
        },
    )
