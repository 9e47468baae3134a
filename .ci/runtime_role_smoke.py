"""CI: the app's connection (DATABASE_URL) writes an access-log entry and cannot change or delete it, not even
with the triggers skipped."""

from __future__ import annotations

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()

import pgtrigger  # noqa: E402
from django.db import ProgrammingError, connection  # noqa: E402

from portal.models import AccessLog  # noqa: E402

with connection.cursor() as cursor:
    cursor.execute("SELECT current_user")
    role = cursor.fetchone()[0]
entry = AccessLog.objects.create(
    username="ci", action=AccessLog.Action.LOGIN, detail="runtime role smoke test"
)
changed = []
for name, change in {
    "update": lambda: AccessLog.objects.filter(pk=entry.pk).update(detail="changed"),
    "delete": lambda: AccessLog.objects.filter(pk=entry.pk).delete(),
}.items():
    try:
        with pgtrigger.ignore(
            "portal.AccessLog:access_log_append_only", "portal.AccessLog:access_log_kept_180_days"
        ):
            change()
        changed.append(name)
    except ProgrammingError as error:
        assert "permission denied" in str(error), error
if changed or not AccessLog.objects.filter(pk=entry.pk, detail="runtime role smoke test").exists():
    sys.exit(f"the app's database role {role} could change the access log: {changed}")
print(f"runtime role {role}: writes the access log, cannot change it")
