"""The top navigation: each area appears when its URL exists and the user's role may use it."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from portal.access import NO_SCOPE, scope_of

ITEMS = [
    ("home", _("Home"), None),
    ("students:school_list", _("Schools"), None),
    ("students:student_list", _("Students"), None),
    ("subsidies:index", _("Student aid"), None),
    ("dropout:index", _("Dropout control"), None),
    ("nutrition:index", _("Nutrition plan"), None),
    ("reports:index", _("Reports"), None),
    ("access_log", _("Access log"), ("bureau",)),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or scope_of(user) == NO_SCOPE:
        return {"nav_items": []}
    items = []
    for name, label, roles in ITEMS:
        if roles and user.role not in roles and not user.is_superuser:
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
