"""Reading the change history that django-pghistory's triggers write (who, when, what)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import pghistory.models
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _

from students import national_numbers
from students.id_numbers import mask


@dataclass
class Change:
    when: datetime
    who: str
    label: str  # insert / update / delete
    model: str  # the record's kind, as the UI names it
    diff: dict  # field name -> [before, after]
    model_class: type | None = None

    @property
    def action(self) -> str:
        return str(LABELS.get(self.label, self.label))

    @property
    def fields(self) -> list[tuple[str, object, object]]:
        """(the field as the form calls it, before, after), for the page."""
        return [(_field_label(self.model_class, name), *values) for name, values in self.diff.items()]


# Whole numbers are shown only through the logged reveal, never in a diff: masked for everyone.
MASKED_FIELDS = frozenset({"id_number", "national_student_number", "account_number", "holder_id_number"})
# With the masked number these rebuild the whole one: shown only to a viewer with the reveal right.
PERSONAL_FIELDS = frozenset({"birth_date", "household_county_code"})


def _shown(name: str, value, personal: bool):
    if value in (None, ""):
        return value
    if name == "national_student_number":
        return national_numbers.mask(str(value))
    if name in MASKED_FIELDS:
        return mask(str(value))
    if name in PERSONAL_FIELDS and not personal:
        # The birth year is what lists show; a household county is not shown at all.
        return str(value)[:4] if name == "birth_date" else "******"
    return value


def history_for(*objects, personal: bool = False, limit: int = 200) -> list[Change]:
    """Changes to the given rows, newest first. Triggers record bulk imports and update() calls too.

    One event query per model, however many rows (a case page with 20 visits would otherwise run 20).
    ID and account numbers are masked in every diff; the birth date and household county are shown only
    when `personal` (the viewer's `portal.access.can_reveal_personal` for the record).
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
    events = events[:limit]
    tracked_of = {e.pgh_model: apps.get_model(e.pgh_model).pgh_tracked_model for e in events}
    rows = _related_names(
        (tracked_of[e.pgh_model], name, values) for e in events for name, values in (e.pgh_diff or {}).items()
    )
    changes = []
    for e in events:
        user_id = (e.pgh_context or {}).get("user")
        tracked = tracked_of[e.pgh_model]
        changes.append(
            Change(
                when=e.pgh_created_at,
                who=names.get(int(user_id), "") if user_id else "",
                label=e.pgh_label,
                model=str(tracked._meta.verbose_name),
                diff={
                    k: [_readable(tracked, k, _shown(k, value, personal), rows) for value in v]
                    for k, v in (e.pgh_diff or {}).items()
                    if k not in ("updated_at", "created_at")
                },
                model_class=tracked,
            )
        )
    return changes


def _model_field(model, name: str):
    try:
        return model._meta.get_field(name.removesuffix("_id"))
    except FieldDoesNotExist:
        return None


def _related_names(diffs) -> dict:
    """{(related model, pk): its name} for every row a foreign key in the diffs points to: one query a model."""
    wanted = defaultdict(set)
    for model, name, values in diffs:
        field = _model_field(model, name)
        if field is not None and field.many_to_one:
            wanted[field.related_model].update(v for v in values if v not in (None, ""))
    return {
        (related, pk): str(row)
        for related, pks in wanted.items()
        for pk, row in related._base_manager.in_bulk(pks).items()
    }


def _readable(model, name: str, value, rows: dict):
    """A value as the pages show it: a choice's label, the name of the row a key points to, 是/否."""
    field = _model_field(model, name)
    if field is None or value in (None, ""):
        return value
    if field.many_to_one:
        return rows.get((field.related_model, value), value)
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return value


# The events that portal.tracking.track_changes records, as a clerk reads them.
LABELS = {"insert": _("created"), "update": _("changed"), "delete": _("deleted")}


def _field_label(model, name: str) -> str:
    """A column of the history as the form calls it (`name` -> 姓名), or its own name when it has none."""
    if model is None:
        return name
    field = _model_field(model, name)
    return str(field.verbose_name) if field is not None else name
