"""Reading the change history that django-pghistory's triggers write (who, when, what)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import pghistory.models
from django.contrib.auth import get_user_model


@dataclass
class Change:
    when: datetime
    who: str
    label: str
    model: str
    diff: dict


def history_for(*objects, limit: int = 200) -> list[Change]:
    """Changes to the given rows, newest first. Triggers record bulk imports and update() calls too.

    One event query per model, however many rows (a case page with 20 visits would otherwise run 20).
    """
    by_model = defaultdict(list)
    for obj in objects:
        by_model[type(obj)].append(obj)
    events = []
    for rows in by_model.values():
        events.extend(pghistory.models.Events.objects.tracks(*rows).order_by("-pgh_created_at")[:limit])
    events.sort(key=lambda e: e.pgh_created_at, reverse=True)
    user_ids = {int(e.pgh_context["user"]) for e in events if e.pgh_context and e.pgh_context.get("user")}
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    changes = []
    for e in events[:limit]:
        user_id = (e.pgh_context or {}).get("user")
        changes.append(
            Change(
                when=e.pgh_created_at,
                who=names.get(int(user_id), "") if user_id else "",
                label=e.pgh_label,
                model=e.pgh_model.split(".")[-1],
                diff={k: v for k, v in (e.pgh_diff or {}).items() if k not in ("updated_at", "created_at")},
            )
        )
    return changes
