"""The register through time (students.models.Enrollment): how writers date their changes to it.

The database keeps the register from the Student row (a trigger; see the comment above `REGISTER_COLUMNS` in
students/models.py). A change is effective today unless the writing transaction names another day:

    with register.effective(transfer_date, source="transfer"):
        student.save()

A writer that builds spells itself (the roll-over, a past year's roll) switches the trigger off for its
writes with `register.unsynced()` and keeps the Student row and the register in step itself.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _


def _set(name: str, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def _get(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(current_setting(%s, true), '')", [name])
        return cursor.fetchone()[0]


@contextmanager
def _setting(name: str, value: str):
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError("The register's settings hold for a transaction only.")
    before = _get(name)
    _set(name, value)
    try:
        yield
    finally:
        _set(name, before)


@contextmanager
def effective(on: date, *, source: str = ""):
    """Changes to students written inside take effect on `on` (and are marked with `source`)."""
    with _setting("portal.register_on", on.isoformat()), _setting("portal.register_source", source[:40]):
        yield


@contextmanager
def unsynced():
    """Writes to students inside do not touch the register: the caller writes the spells itself."""
    with _setting("portal.register_sync", "off"):
        yield


def check_effective(on: date, *, field: str = "on", today: date | None = None) -> None:
    """Refuse a clerk's change dated outside the running school year: a school year that has ended is what its
    register said (rebuilt reports must not move), and its register changes only through that year's roll
    (students.roll); a date to come has not happened yet."""
    today = today or timezone.localdate()
    if on > today:
        raise ValidationError({field: [_("The date cannot be in the future.")]})
    errors = ended_year_errors(on, field=field, today=today)
    if errors:
        raise ValidationError(errors)


def ended_year_errors(on: date, *, field: str = "on", today: date | None = None) -> dict:
    """A change dated before the first day of the running school year would rewrite a year that has ended (its
    rebuilt reports would move): the refusal, keyed by `field`, or nothing."""
    from students.models import school_year_of

    today = today or timezone.localdate()
    start = date(school_year_of(today), 9, 1)
    if on < start:
        return {
            field: [
                _(
                    "%(on)s falls in a school year that has ended: date it on or after %(start)s, the first "
                    "day of this school year. An ended year's register changes only through that year's "
                    "roll import."
                )
                % {"on": on.isoformat(), "start": start.isoformat()}
            ]
        }
    return {}
