"""Reads shared by the pages, the API and the reports app."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Max, Prefetch, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from dropout_control.models import CareRecord, DropoutCase
from dropout_control.rules import VISIT_OVERDUE_DAYS
from students.models import Student, StudentCategory


def open_cases(user):
    """Open cases the user may see, with the day the current period opened and the latest visit."""
    return (
        DropoutCase.objects.visible_to(user)
        .open()
        .select_related("township", "school")
        .annotate(
            open_since=Max("periods__opened_on", filter=Q(periods__closed_on__isnull=True)),
            last_visit=Max("visits__visited_on"),
        )
    )


def overdue_cases(user, today: date | None = None):
    """Open cases with no persuasion visit in the last 30 days (counted from the date found if none yet)."""
    today = today or timezone.localdate()
    cutoff = today - timedelta(days=VISIT_OVERDUE_DAYS)
    return (
        open_cases(user)
        .annotate(last_contact=Coalesce(Max("visits__visited_on"), "found_on"))
        .filter(last_contact__lt=cutoff)
        .order_by("last_contact", "pk")
    )


OPEN_TOO_LONG_DAYS = 30


def open_longer_than(cases, today: date | None = None, days: int = OPEN_TOO_LONG_DAYS):
    """Open cases whose current ledger period opened more than `days` days ago (超过30天未销号): the
    dashboards' red light and the case list's "open_too_long" filter."""
    today = today or timezone.localdate()
    cutoff = today - timedelta(days=days)
    return (
        cases.open()
        .annotate(current_since=Max("periods__opened_on", filter=Q(periods__closed_on__isnull=True)))
        .filter(Q(current_since__lt=cutoff) | Q(current_since__isnull=True, found_on__lt=cutoff))
    )


@dataclass
class CaseAge:
    case: DropoutCase
    days: int


@dataclass
class TownshipOpenCases:
    township: str
    township_id: int
    cases: list[CaseAge] = field(default_factory=list)  # days open

    @property
    def count(self) -> int:
        return len(self.cases)


@dataclass
class DashboardFigures:
    open_total: int
    by_township: list[TownshipOpenCases]
    overdue: list[CaseAge]  # days since the last contact
    home_teaching: int


def dashboard_figures(user, today: date | None = None) -> DashboardFigures:
    """Open cases by township with how long each has been open, and the cases with no visit in 30 days.

    Three queries whatever the number of cases: the reports app and the home page may call it freely.
    """
    today = today or timezone.localdate()
    groups: dict[int, TownshipOpenCases] = {}
    total = 0
    for case in open_cases(user).order_by("township__code", "open_since", "pk"):
        group = groups.setdefault(
            case.township_id, TownshipOpenCases(township=case.township.name, township_id=case.township_id)
        )
        group.cases.append(CaseAge(case, (today - (case.open_since or case.found_on)).days))
        total += 1
    overdue = [CaseAge(case, (today - case.last_contact).days) for case in overdue_cases(user, today)]
    home_teaching = (
        DropoutCase.objects.visible_to(user)
        .closed()
        .filter(outcome=DropoutCase.Outcome.HOME_TEACHING)
        .count()
    )
    return DashboardFigures(
        open_total=total, by_township=list(groups.values()), overdue=overdue, home_teaching=home_teaching
    )


CARE_CATEGORIES = (StudentCategory.Category.LEFT_BEHIND, StudentCategory.Category.IN_DIFFICULTY)


def care_roster(user, on: date | None = None):
    """Enrolled left-behind children and children in difficulty (care flags valid that day), in roster order.

    Plain rows, no per-student figures: counting or paging it never touches the care records. Page it, then
    pass the page to `care_roster_rows` for the figures of that page only (at Ningdu scale annotating every
    flagged child cost ~480 ms a page).
    """
    on = on or timezone.localdate()
    flagged = StudentCategory.objects.filter(category__in=CARE_CATEGORIES).on(on).values("student_id")
    return (
        Student.objects.visible_to(user)
        .enrolled()
        .filter(pk__in=flagged)
        .order_by("school__code", "grade", "name", "pk")
    )


def care_roster_rows(students, on: date | None = None) -> list[Student]:
    """The roster's rows for a page of students (instances or ids), in the page's order, with `care_count`,
    `last_care` and `care_categories` (the care flags valid that day). Two queries whatever the page size."""
    on = on or timezone.localdate()
    ids = [getattr(s, "pk", s) for s in students]
    if not ids:
        return []
    flags = StudentCategory.objects.filter(category__in=CARE_CATEGORIES).on(on).order_by("category", "pk")
    rows = (
        Student.objects.filter(pk__in=ids)
        .select_related("school", "home_township")
        .prefetch_related(Prefetch("categories", queryset=flags, to_attr="care_categories"))
        .annotate(care_count=Count("care_records"), last_care=Max("care_records__visited_on"))
        .order_by()
    )
    position = {pk: i for i, pk in enumerate(ids)}
    return sorted(rows, key=lambda s: position[s.pk])


def care_records(user):
    return CareRecord.objects.visible_to(user).select_related("student__school")
