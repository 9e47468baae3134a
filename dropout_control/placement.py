"""Where a case was in a month: the township and school its history (pghistory) records for that month.

A case moves: its school changes when the child returns elsewhere or a clerk corrects it, its township when
the family moves. The monthly ledger, the zero-report status and the zero report's refusal place each case
where it was at the end of the month (as recorded then), not where it is today, so that a case moved from
school A to school B this month stays A's in A's earlier ledgers and zero reports.

A month that ended before the case was recorded at all (a case entered late) takes the place the case was
first recorded with.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils import timezone

from dropout_control.models import CasePeriod, DropoutCase
from portal.access import scope_of
from students.models import School

Event = DropoutCase.pgh_event_model


@dataclass(frozen=True)
class Place:
    township_id: int
    school_id: int | None
    # For display and order only (a place is its ids).
    township_code: str = field(default="", compare=False)
    township_name: str = field(default="", compare=False)
    school_code: str = field(default="", compare=False)
    school_name: str = field(default="", compare=False)

    @property
    def order(self) -> tuple:
        # Schools by code, a case without a school last in its township (as PostgreSQL orders NULLs).
        return (self.township_code, self.school_id is None, self.school_code)


def month_end_moment(month: dt.date) -> dt.datetime:
    """The first moment after the month (local time): the history as it stood when the month ended."""
    nxt = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return timezone.make_aware(dt.datetime.combine(nxt, dt.time.min))


def places_at(case_ids: Iterable[int], moment: dt.datetime) -> dict[int, Place]:
    """Each case's township and school as last recorded before `moment` (or as first recorded). Two queries."""
    ids = set(case_ids)
    if not ids:
        return {}
    fields = (
        "pgh_obj_id",
        "township_id",
        "school_id",
        "township__code",
        "township__name",
        "school__code",
        "school__name",
    )
    recorded = Event.objects.filter(pgh_obj_id__in=ids).exclude(pgh_label="delete")
    latest = (
        recorded.filter(pgh_created_at__lt=moment)
        .order_by("pgh_obj_id", "-pgh_created_at", "-pgh_id")
        .distinct("pgh_obj_id")
        .values_list(*fields)
    )
    places = {row[0]: Place(*row[1:3], *(v or "" for v in row[3:])) for row in latest}
    missing = ids - places.keys()
    if missing:
        first = (
            recorded.filter(pgh_obj_id__in=missing)
            .order_by("pgh_obj_id", "pgh_created_at", "pgh_id")
            .distinct("pgh_obj_id")
            .values_list(*fields)
        )
        places.update({row[0]: Place(*row[1:3], *(v or "" for v in row[3:])) for row in first})
    # A case with no history at all (history disabled, e.g. a raw import): where it is now.
    rest = ids - places.keys()
    if rest:
        for row in DropoutCase.objects.filter(pk__in=rest).values_list("pk", *fields[1:]):
            places[row[0]] = Place(*row[1:3], *(v or "" for v in row[3:]))
    return places


def periods_overlapping(start: dt.date, end: dt.date):
    """Every case period open at any time from `start` to `end` (everyone's: placing comes next)."""
    from django.db.models import Q

    return CasePeriod.objects.filter(opened_on__lte=end).filter(
        Q(closed_on__isnull=True) | Q(closed_on__gte=start)
    )


def placed_in_month(month: dt.date, periods=None) -> list[tuple[CasePeriod, Place]]:
    """The periods open in the month (a queryset may narrow or prefetch them), each with its place then."""
    end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    if periods is None:
        periods = periods_overlapping(month, end)
    periods = list(periods)
    places = places_at({p.case_id for p in periods}, month_end_moment(month))
    return [(p, places[p.case_id]) for p in periods]


def in_scope(user, places: Iterable[Place]) -> set[Place]:
    """The places the user's scope covers: the county all; a township its children (the case's township, as
    DropoutCase.objects.visible_to reads it); a principal his school."""
    scope = scope_of(user)
    places = set(places)
    if scope.county:
        return places
    if scope.township_id is not None:
        return {p for p in places if p.township_id == scope.township_id}
    if scope.school_id is not None:
        return {p for p in places if p.school_id == scope.school_id}
    return set()


def school_townships(school_ids: Iterable[int | None]) -> dict[int, int]:
    ids = {pk for pk in school_ids if pk is not None}
    return dict(School.objects.filter(pk__in=ids).values_list("pk", "township_id")) if ids else {}
