"""Account safety: forced password change, the second factor (TOTP) and its recovery codes.

`SecurityGateMiddleware` sends a signed-in user who must still change the initial password, or who needs a
second factor and has not given it in this session, to the page that settles it; API calls get a 403.
"""

from __future__ import annotations

import operator
from functools import reduce

import django_otp
import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.contrib.auth.views import PasswordChangeView
from django.db import transaction
from django.db.models import Exists, Q
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, url_has_allowed_host_and_scheme, urlsafe_base64_encode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from portal.audit import log_access
from portal.forms import ConfirmPasswordForm
from portal.models import AccessLog, User

RECOVERY_CODES = 10
# The second-factor pages decide for themselves who may use them (see may_enrol); the rest is closed until the
# gate's own target is settled.
EXEMPT_PREFIXES = ("/static/", "/i18n/", "/accounts/logout/", "/accounts/2fa/")
PENDING_DEVICE_KEY = "otp_pending_device"


def needs_verification(user) -> bool:
    """A second factor is required for county-wide roles, and for anyone who turned it on."""
    return user.needs_second_factor or has_confirmed_device(user)


def has_confirmed_device(user) -> bool:
    """`django_otp.user_has_device`, in one query: it asks each kind of device in turn, which cost every
    request of a principal or township officer without an authenticator two queries (pages keep to 10)."""
    kinds = [
        Q(Exists(model.objects.devices_for_user(user, confirmed=True)))
        for model in django_otp.device_classes()
    ]
    if not kinds or user.is_anonymous:
        return False
    return User.objects.filter(pk=user.pk).filter(reduce(operator.or_, kinds)).exists()


def gate_target(user) -> tuple[str | None, str]:
    """Where a signed-in user must go before anything else, and why (None: nowhere).

    An account with an authenticator gives it first, even to change a forced password: a password-only
    session must not be able to change the password (and so end the real user's sessions and tokens). An
    account that needs one but has none yet changes its forced password first, then asks for a link.
    """
    unverified = needs_verification(user) and not user.is_verified()
    has_device = unverified and TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    factor = _("Your account needs a second factor (an authenticator code).")
    if has_device:
        return reverse("otp_verify"), factor
    if user.must_change_password:
        return reverse("password_change"), _("Please choose a new password before you go on.")
    if unverified:
        return reverse("otp_setup"), factor
    return None, ""


class SecurityGateMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path.startswith(EXEMPT_PREFIXES):
            return self.get_response(request)
        target, reason = gate_target(user)
        if target is None or request.path == target:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": reason}, status=403)
        return redirect(f"{target}?next={request.get_full_path()}")


class PortalPasswordChangeForm(PasswordChangeForm):
    """The old password goes through the log-in lock-out (a stolen session cannot guess it), and the new
    one must differ from it."""

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_old_password(self):
        old = self.cleaned_data["old_password"]
        if not password_confirmed(self.request, old):
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old

    def clean(self):
        cleaned = super().clean()
        new = cleaned.get("new_password1")
        if new and new == cleaned.get("old_password"):
            self.add_error("new_password2", _("The new password must differ from the old one."))
        return cleaned


class ForcedPasswordChangeView(PasswordChangeView):
    """Django's password change, which also lifts the must-change flag of a new account, and is logged."""

    success_url = reverse_lazy("home")
    form_class = PortalPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.user
        forced = user.must_change_password
        user.must_change_password = False
        user.save(update_fields=["must_change_password"])
        update_session_auth_hash(self.request, user)
        log_access(self.request, AccessLog.Action.PASSWORD_CHANGED, user, detail="forced" if forced else "")
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


def password_confirmed(request, password: str) -> bool:
    """The signed-in user's password, asked again before a sensitive step.

    It goes through `authenticate`, so that django-axes counts a wrong answer as it counts a wrong log-in (the
    same lock-out, per user name and address) and the failure is in the access log.
    """
    request._password_reprompt = True  # portal.audit marks the failure as a re-prompt
    user = authenticate(request, username=request.user.get_username(), password=password)
    return user is not None and user.pk == request.user.pk


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


class EnrolmentLinkGenerator(PasswordResetTokenGenerator):
    """Tokens for a first authenticator, made by a bureau administrator for one user.

    Like a password-reset link: signed, timed (OTP_ENROLMENT_LINK_HOURS), and void once used, because the hash
    covers the number of enrolments the append-only access log holds for the user (and the password hash, so a
    reset voids it too).
    """

    key_salt = "portal.security.EnrolmentLinkGenerator"

    def _make_hash_value(self, user, timestamp) -> str:
        enrolments = AccessLog.objects.filter(user=user, action=AccessLog.Action.OTP_ENROLLED).count()
        return f"{user.pk}{user.password}{user.is_active}{enrolments}{timestamp}"

    def check_token(self, user, token) -> bool:
        if not super().check_token(user, token):
            return False
        timestamp = base36_to_int(token.split("-")[0])
        return self._num_seconds(self._now()) - timestamp <= settings.OTP_ENROLMENT_LINK_HOURS * 3600


enrolment_links = EnrolmentLinkGenerator()


def enrolment_link_make(*, user, by, request=None) -> str:
    """The path of a one-time link with which `user` enrols a first authenticator; logged against `by`."""
    path = reverse(
        "otp_enrol",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": enrolment_links.make_token(user),
        },
    )
    log_access(request, AccessLog.Action.OTP_LINK, user, user=by, detail=f"for {user.get_username()}")
    return path


def may_enrol(request, link_valid: bool) -> bool:
    """Who may put an authenticator on this account in this session.

    Replacing one needs the second factor already given in this session. A first one for a role that must have
    it needs a bureau administrator's link: a password alone must never become a second factor. A user for whom
    the factor is optional (and who has none) already holds every right the password gives.
    """
    user = request.user
    if link_valid:
        return True  # the administrator's link also serves a user who lost the old authenticator
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return user.is_verified()
    return not user.needs_second_factor


class EnrolForm(TokenForm):
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autofocus": True}),
    )
    field_order = ["password", "token"]

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.fields["token"].widget.attrs.pop("autofocus", None)
        self.fields["token"].help_text = gettext_lazy("The 6-digit code your authenticator app shows now.")

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not password_confirmed(self.request, password):
            raise forms.ValidationError(_("The password is wrong."))
        return password


def _enrol(request, device: TOTPDevice, *, token: str | None, replacing: bool) -> bool:
    """Make `device` the user's authenticator; False if the enrolment link was used meanwhile.

    The user's row is locked so that two sessions posting the same link enrol once: the second one finds the
    link void (its hash counts the enrolments logged). Old authenticators and API tokens end with it (a token
    taken before the factor was turned on must not outlive it), and the session gets a new key.
    """
    user = request.user
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        if token is not None and not enrolment_links.check_token(user, token):
            return False
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        AuthToken.objects.filter(user=user).delete()
        log_access(
            request,
            AccessLog.Action.OTP_ENROLLED,
            detail="replaced the authenticator" if replacing else "first authenticator",
        )
    request.session.pop(PENDING_DEVICE_KEY, None)
    request.session.cycle_key()
    django_otp.login(request, device)
    return True


@login_required
def otp_setup(request, uidb64: str | None = None, token: str | None = None):
    """Put an authenticator on the account: the password again, then a code from the new key."""
    link_valid = False
    if token is not None:
        link_valid = uidb64 == urlsafe_base64_encode(
            force_bytes(request.user.pk)
        ) and enrolment_links.check_token(request.user, token)
        if not link_valid:
            log_access(
                request, AccessLog.Action.DENIED, detail="authenticator enrolment link invalid or used"
            )
            return render(request, "registration/otp_enrol_needed.html", {"link_invalid": True}, status=403)
    if not may_enrol(request, link_valid):
        if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
            return redirect(f"{reverse('otp_verify')}?next={request.path}")
        return render(request, "registration/otp_enrol_needed.html", {"link_invalid": False})
    replacing = TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()
    form = EnrolForm(request.POST or None, request=request)
    device = None
    if request.method == "POST":
        # Only the key shown to this session, on this visit, can be confirmed.
        device = TOTPDevice.objects.filter(
            pk=request.session.get(PENDING_DEVICE_KEY), user=request.user, confirmed=False
        ).first()
        if device is None:
            form.add_error(None, _("This page has expired: scan the new code below."))
        elif form.is_valid():
            if device.verify_token(form.cleaned_data["token"].strip()):
                if _enrol(request, device, token=token, replacing=replacing):
                    codes = issue_recovery_codes(request.user)
                    return render(
                        request,
                        "registration/otp_recovery.html",
                        {"codes": codes, "next": _next_url(request)},
                    )
                log_access(
                    request, AccessLog.Action.DENIED, detail="authenticator enrolment link used meanwhile"
                )
                return render(
                    request, "registration/otp_enrol_needed.html", {"link_invalid": True}, status=403
                )
            log_access(request, AccessLog.Action.OTP_FAILED, detail="enrolment")
            form.add_error("token", _("The code is wrong or has expired. Try the newest code."))
    if device is None:
        # A fresh key for every visit, known to this session only: a key read earlier (by someone who had
        # the password then) is worth nothing later.
        TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=request.user, name="authenticator", confirmed=False)
        request.session[PENDING_DEVICE_KEY] = device.pk
    qr = segno.make(device.config_url, micro=False).svg_inline(scale=4)
    return render(
        request,
        "registration/otp_setup.html",
        {
            "form": form,
            "qr": mark_safe(qr),  # noqa: S308 (segno's own SVG)
            "key": _base32(device),
            "next": _next_url(request),
            "replacing": replacing,
        },
    )


@login_required
def otp_verify(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = verify_code(request.user, form.cleaned_data["token"])
        if device is not None:
            request.session.cycle_key()  # a cookie copied at the password-only stage stays half a log-in
            django_otp.login(request, device)
            log_access(request, AccessLog.Action.OTP_VERIFIED, detail=type(device).__name__)
            return redirect(_next_url(request))
        log_access(request, AccessLog.Action.OTP_FAILED)
        form.add_error("token", _("The code is wrong or has expired. Try the newest code."))
    return render(request, "registration/otp_verify.html", {"form": form, "next": _next_url(request)})


@login_required
def otp_recovery_codes(request):
    """New recovery codes, for a user who has given the second factor in this session."""
    if not request.user.is_verified():
        return redirect(f"{reverse('otp_verify')}?next={request.path}")
    form = ConfirmPasswordForm(request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        codes = issue_recovery_codes(request.user)
        log_access(request, AccessLog.Action.OTP_RECOVERY)
        return render(request, "registration/otp_recovery.html", {"codes": codes})
    return render(request, "registration/otp_recovery.html", {"codes": None, "form": form})


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
