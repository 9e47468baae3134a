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
# `user.role == ...`, `by.role in (...)`, `request.user.role != ...`, `getattr(user, "role", ...)`.
ROLE_TEST = re.compile(
    r"""\b(?:user|by|request\.user|self\.request\.user)\.role\s*(?:==|!=|\bin\b|\bnot\s+in\b)"""
    r"""|getattr\(\s*(?:user|by|request\.user)\s*,\s*["']role["']"""
)


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
    return found


def test_the_pattern_catches_what_it_should():
    for line in ('if by.role == "township":', "x = user.role in ROLES", 'getattr(user, "role", "")'):
        assert ROLE_TEST.search(line), line
    assert not ROLE_TEST.search("return self.role in self.FIRST_RESPONSIBLE")  # a team member's role


def test_roles_are_read_only_in_portal_access():
    assert offending_lines() == []
