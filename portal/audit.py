"""Writing the access log (portal.models.AccessLog): one call per thing a person saw or took; and reading
it back for staff (`readable`): names instead of "students.student:3001", file names decoded."""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import unquote

from django.apps import apps
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils.translation import gettext, gettext_noop

from portal.access import can_reveal_personal
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


# --- Reading the log ---------------------------------------------------------------------------------------

# A Content-Disposition header as FileAccessLogMiddleware wrote it: the name, decoded (RFC 6266 filename*).
_DISPOSITION = re.compile(
    r"\b(?:attachment|inline)"
    r"(?:;\s*filename=\"?(?P<plain>[^\";]*)\"?)?"
    r"(?:;\s*filename\*=(?:utf-8|UTF-8)''(?P<encoded>[^;\s]+))?"
)


# The details our own code writes (in English, as stored; old entries too), in the page's language. The first
# whole match wins; a detail none matches (a file name, a path) is shown as it is.
_DETAILS = [
    (re.compile(p), msgid)
    for p, msgid in (
        (r"import errors", gettext_noop("import errors file")),
        (r"import results", gettext_noop("import results file")),
        (
            r"bank payroll file, batch (?P<batch>\d+), file (?P<file>\d+) again",
            gettext_noop("bank payroll file, batch %(batch)s, file %(file)s again"),
        ),
        (r"bank payroll file, batch (?P<batch>\d+)", gettext_noop("bank payroll file, batch %(batch)s")),
        (r"students x(?P<count>\d+) masked", gettext_noop("%(count)s students, ID numbers masked")),
        (r"students x(?P<count>\d+) full ID numbers", gettext_noop("%(count)s students, whole ID numbers")),
        (r"edit form", gettext_noop("edit form")),
        (r"aid received", gettext_noop("aid received")),
        (r"care records", gettext_noop("care records")),
        (r"identification", gettext_noop("identification")),
        (r"data matching results, run (?P<run>\d+)", gettext_noop("data matching results, run %(run)s")),
        (r"past payments file (?P<file>\d+)", gettext_noop("past payments file %(file)s")),
        (r"password asked again", gettext_noop("password asked again")),
        (r"set by an administrator", gettext_noop("set by an administrator")),
        (r"first authenticator", gettext_noop("first authenticator")),
        (r"replaced the authenticator", gettext_noop("replaced the authenticator")),
    )
]


def readable_detail(text: str) -> str:
    """ "/students/export/ attachment; filename*=utf-8''%E5%AD%A6..." → "/students/export/ 学生名单.xlsx";
    "import errors" → "导入错误文件" (`_DETAILS`)."""
    for pattern, msgid in _DETAILS:
        match = pattern.fullmatch(text)
        if match:
            return gettext(msgid) % match.groupdict()

    def name(match: re.Match) -> str:
        if match.group("encoded"):
            return unquote(match.group("encoded"))
        return match.group("plain") or match.group(0)

    return _DISPOSITION.sub(name, text)


@dataclass
class ReadableEntry:
    entry: AccessLog
    person: str  # the user's name (and log-in name), or the name typed at a failed log-in
    record: str  # what the entry is about, as the pages name it; "" for none
    detail: str


def _person(user, username: str) -> str:
    if user is None:
        return username or "—"
    full = f"{user.last_name}{user.first_name}".strip()  # a Chinese name: family name first, no space
    return f"{full}（{user.username}）" if full and full != user.username else user.username


def readable(entries, *, viewer) -> list[ReadableEntry]:
    """The page's entries with names: one query per kind of record on the page (entries come with their
    user: `select_related("user")`). A record's name is its own `str` (a child: name and masked ID number);
    for a viewer without the reveal right (portal.access.can_reveal_personal) a child is named by the
    masked number only. A record deleted since reads as its type and id."""
    entries = list(entries)
    wanted: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        if e.object_type and e.object_id:
            wanted[e.object_type].add(e.object_id)
    personal = can_reveal_personal(viewer)
    names: dict[tuple[str, str], str] = {}
    for label, ids in wanted.items():
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        rows = model._base_manager.all()
        if any(f.name == "student" and f.is_relation for f in model._meta.get_fields()):
            rows = rows.select_related("student")  # a record named after its child
        pk = model._meta.pk
        try:
            found = rows.in_bulk([pk.to_python(i) for i in ids])
        except Exception:  # an id that is not one of this model's (an old or hand-made entry)
            continue
        for key, obj in found.items():
            masked = getattr(obj, "masked_id_number", None)
            text = str(obj) if personal or masked is None else f"{model._meta.verbose_name} {masked}"
            if label == "portal.user":
                text = _person(obj, obj.username)
            names[(label, str(key))] = text
    readable_entries = []
    for e in entries:
        record = ""
        if e.object_type:
            record = names.get((e.object_type, e.object_id))
            if record is None:
                try:
                    kind = apps.get_model(e.object_type)._meta.verbose_name
                except (LookupError, ValueError):
                    kind = e.object_type
                record = f"{kind} #{e.object_id}"
        readable_entries.append(
            ReadableEntry(
                entry=e,
                person=_person(e.user, e.username),
                record=record,
                detail=readable_detail(e.detail),
            )
        )
    return readable_entries
