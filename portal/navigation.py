"""The top navigation: each area appears when its URL exists and the user may use it (portal.access)."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from portal import access
from portal.access import NO_SCOPE, can_read_access_log, scope_of

ITEMS = [
    ("home", _("Home"), None),
    ("students:school_list", _("Schools"), None),
    ("students:student_list", _("Students"), None),
    ("subsidies:index", _("Student aid"), None),
    ("subsidies:identification_list", _("Needy-student identification"), None),
    ("dropout:index", _("Dropout control"), None),
    ("nutrition:index", _("Nutrition plan"), None),
    ("reports:index", _("Reports"), None),
    ("students:rollover", _("School year roll-over"), access.can_roll_over),
    ("students:rollover_mine", _("Confirm the school list"), access.can_confirm_school_list),
    ("access_log", _("Access log"), can_read_access_log),
]


class Capabilities:
    """`can` in templates: `{% if can.run_data_matching %}` asks `portal.access.can_run_data_matching(user)`,
    `{% if can.bureau_staff %}` asks `is_bureau_staff`, so that no template tests a role by name."""

    def __init__(self, user):
        self._user = user

    def __getattr__(self, name: str) -> bool:
        check = getattr(access, f"can_{name}", None) or getattr(access, f"is_{name}", None)
        if check is None or name.startswith("_"):
            raise AttributeError(name)
        return bool(self._user is not None and check(self._user))


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or scope_of(user) == NO_SCOPE:
        return {"nav_items": [], "can": Capabilities(None)}
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
    return {"nav_items": items, "can": Capabilities(user)}
