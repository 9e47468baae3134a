"""The top navigation: each area appears when its URL exists and the user may use it (portal.access)."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from portal.access import NO_SCOPE, can_read_access_log, scope_of

ITEMS = [
    ("home", _("Home"), None),
    ("students:school_list", _("Schools"), None),
    ("students:student_list", _("Students"), None),
    ("subsidies:index", _("Student aid"), None),
    ("dropout:index", _("Dropout control"), None),
    ("nutrition:index", _("Nutrition plan"), None),
    ("reports:index", _("Reports"), None),
    ("access_log", _("Access log"), can_read_access_log),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or scope_of(user) == NO_SCOPE:
        return {"nav_items": []}
    items = []
    for name, label, allowed in ITEMS:
        if allowed is not None and not allowed(user):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append(
            {
                "url": url,
                "label": label,
                "active": request.path == url or (url != "/" and request.path.startswith(url)),
            }
        )
    return {"nav_items": items}
