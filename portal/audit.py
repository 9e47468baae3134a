"""Writing the access log (portal.models.AccessLog): one call per thing a person saw or took."""

from __future__ import annotations

import ipaddress
import re

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from portal.models import AccessLog
from students.id_numbers import mask


def client_ip(request) -> str | None:
    """The client's address, as far as it can be trusted.

    X-Forwarded-For is written by the client as much as by proxies: only the entries appended by our own
    proxies (TRUSTED_PROXY_COUNT of them, counted from the right) are believed, so that nobody escapes the
    lookup rate limit or the access log by sending a forged header.
    """
    if request is None:
        return None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
        ]
        # Something that is not an address (a forged header reaching the app past the proxy) is not believed.
        if len(forwarded) >= proxies and _is_address(forwarded[-proxies]):
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# An ID number (18 characters) inside a logged path or query is kept masked: the log is append-only.
_ID_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


def masked_detail(text: str) -> str:
    return _ID_IN_TEXT.sub(lambda found: mask(found.group(0)), text)


def log_access(request, action: str, obj=None, *, detail: str = "", user=None) -> AccessLog:
    if request is not None:
        request._access_logged = True  # the download/upload middleware need not log it again
        if action == AccessLog.Action.DENIED:
            request._denied_logged = True  # nor the refusal middleware
    user = user or (getattr(request, "user", None) if request is not None else None)
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return AccessLog.objects.create(
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "",
        ip=client_ip(request),
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        detail=masked_detail(detail)[:300],
    )


def log_reveals(request, objs, *, detail: str = "") -> list[AccessLog]:
    """One REVEAL_ID entry per record whose whole ID number a list or export showed, each naming the record,
    as the reveal of a single record does (`log_access(request, REVEAL_ID, obj)`). One query."""
    objs = list(objs)
    if request is not None:
        request._access_logged = True
    user = getattr(request, "user", None)
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    ip = client_ip(request)
    return AccessLog.objects.bulk_create(
        AccessLog(
            user=user if authenticated else None,
            username=user.get_username() if authenticated else "",
            ip=ip,
            action=AccessLog.Action.REVEAL_ID,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            detail=masked_detail(detail)[:300],
        )
        for obj in objs
    )


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    from portal.security import needs_verification

    # For a role that needs a second factor the password is only half a log-in: the other half is logged as
    # OTP_VERIFIED (or OTP_FAILED) by the verification page.
    action = AccessLog.Action.LOGIN_PASSWORD if needs_verification(user) else AccessLog.Action.LOGIN
    log_access(request, action, user=user)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        log_access(request, AccessLog.Action.LOGOUT, user=user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    # The attempted user name is kept (it is what an inspector asks about); never the password.
    AccessLog.objects.create(
        username=str(credentials.get("username", ""))[:150],
        ip=client_ip(request),
        action=AccessLog.Action.LOGIN_FAILED,
        detail="password asked again" if getattr(request, "_password_reprompt", False) else "",
    )


class DeniedAccessLogMiddleware:
    """Every refusal is in the access log: a 401 or 403 for anyone, and a 404 for a signed-in user.

    Another school's record answers 404 like a missing one (it must not tell them apart), so a signed-in
    user's 404 is logged too: a principal walking through other schools' record numbers leaves a trail.
    Anonymous 404s are left out (crawlers). Placed outside the second-factor gate, whose refusals count too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if self._refused(request, response) and not getattr(request, "_denied_logged", False):
            log_access(
                request,
                AccessLog.Action.DENIED,
                detail=f"{response.status_code} {request.method} {request.path}"[:300],
            )
        return response

    @staticmethod
    def _refused(request, response) -> bool:
        if response.status_code in (401, 403):
            return True  # 401: a bad, expired or ended API token
        user = getattr(request, "user", None)
        return response.status_code == 404 and user is not None and user.is_authenticated


API_WITHOUT_PERSONAL_DATA = ("/api/schema/", "/api/docs/")


class FileAccessLogMiddleware:
    """Logs every file handed out (a response sent as an attachment), every file received (a POST with
    uploads) and every API read that the view did not log itself: one place, so that no export, download,
    import or bulk read of any area escapes the access log.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "_access_logged", False) or response.status_code >= 400:
            return response
        disposition = response.get("Content-Disposition", "")
        if "attachment" in disposition:
            log_access(request, AccessLog.Action.DOWNLOAD, detail=f"{request.path} {disposition}"[:300])
        elif request.method == "POST" and request.FILES:
            names = ", ".join(f.name for f in request.FILES.values())
            log_access(request, AccessLog.Action.IMPORT, detail=f"{request.path} {names}"[:300])
        elif (
            request.method == "GET"
            and request.path.startswith("/api/")
            and not request.path.startswith(API_WITHOUT_PERSONAL_DATA)
            and response.status_code == 200
        ):
            # A program paging through /api/students/ reads what an export would hand out: each page read
            # is a line, as an export is (detail reads that the view logs against the child are not repeated).
            log_access(request, AccessLog.Action.API_READ, detail=request.get_full_path()[:300])
        return response
