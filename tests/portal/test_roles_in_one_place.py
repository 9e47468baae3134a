"""Roles are read only in portal/access.py (and the user model): everything else asks a named capability.

Issue 16, item 1: a role tested by name in a view, service, form or task is where the next access bug comes
from (the page refuses what the API allows). This test reads the source and fails on such a test.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

APPS = ("portal", "students", "subsidies", "dropout_control", "nutrition", "reports")
ALLOWED = {Path("portal/access.py"), Path("portal/models.py")}
# `<anything>.role == ...`, `x.role in (...)`, `getattr(x, "role", ...)`, and the model's `is_bureau` role
# property used as a permission. `self.role` is a model's own field (a dropout team member's role), not a user's.
ROLE_TEST = re.compile(
    r"""(?<!\bself)\.role\s*(?:==|!=|\bin\b|\bnot\s+in\b)"""
    r"""|getattr\(\s*[\w.]+\s*,\s*["'](?:role|is_bureau)["']"""
    r"""|\.is_bureau\b"""
)
# In templates: `user.role`, `user.is_bureau`, `request.user.role` ... (templates ask `can.<capability>`).
TEMPLATE_ROLE_TEST = re.compile(r"""\buser\.(?:role|is_bureau)\b""")


def offending_lines() -> list[str]:
    base = Path(settings.BASE_DIR)
    found = []
    for app in APPS:
        for path in sorted((base / app).rglob("*.py")):
            relative = path.relative_to(base)
            if relative in ALLOWED or "migrations" in relative.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if ROLE_TEST.search(line):
                    found.append(f"{relative}:{number}: {line.strip()}")
    for folder in (*APPS, "templates"):
        for path in sorted((base / folder).rglob("*.html")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if TEMPLATE_ROLE_TEST.search(line):
                    found.append(f"{path.relative_to(base)}:{number}: {line.strip()}")
    return found


def test_the_pattern_catches_what_it_should():
    for line in (
        'if by.role == "township":',
        "x = user.role in ROLES",
        'getattr(user, "role", "")',
        'if self.user.role == "bureau":',
        "ok = officer.role not in ALLOWED",
        "if request.user.is_bureau:",
        'getattr(by, "is_bureau", False)',
    ):
        assert ROLE_TEST.search(line), line
    assert not ROLE_TEST.search("return self.role in self.FIRST_RESPONSIBLE")  # a team member's role
    for line in ("{% if user.is_bureau %}", "{% if request.user.role == 'bureau' %}"):
        assert TEMPLATE_ROLE_TEST.search(line), line
    assert not TEMPLATE_ROLE_TEST.search("{% if can.run_data_matching %}")


def test_roles_are_read_only_in_portal_access():
    assert offending_lines() == []
