"""Reads shared by the pages, the API and the reports app."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Max, Prefetch, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from dropout_control.models import (
    CareRecord,
    ClosingRequest,
    DropoutCase,
    ReturnWatch,
    SuspectedDropout,
    WatchConfirmation,
    ZeroReport,
)
from dropout_control.rules import VISIT_OVERDUE_DAYS, ZERO_REPORT_TYPES
from dropout_control.services.common import add_months, is_backdated, recorded_on, watch_months
from dropout_control.services.zero_reports import places_with_cases
from students.models import MissingFromRoll, School, Student, StudentCategory, Township
from subsidies.models import term_end, term_of, term_start  # the county's terms, one definition


def missing_from_roll(user):
    """Children of compulsory age a full roll did not list and nobody has accounted for yet: suspected
    dropouts beside the household-register comparison's (students keeps the record; it resolves it)."""
    return (
        MissingFromRoll.objects.visible_to(user)
        .pending()
        .compulsory()
        .select_related("student", "school")
        .order_by("school__code", "stage", "grade", "student__name", "pk")
    )


def _count_sql(queryset) -> tuple[str, list]:
    if queryset.query.is_empty():
        return "SELECT 0", []
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    return f"SELECT count(*) FROM ({sql}) q", list(params)


def pending_suspect_counts(user) -> tuple[int, int]:
    """The children to check: the household-register comparison's pending suspects, and the compulsory-age
    children missing from the roll. One query, so the dashboard's count stays flat."""
    suspects_sql, suspects_params = _count_sql(SuspectedDropout.objects.visible_to(user).pending())
    missing_sql, missing_params = _count_sql(missing_from_roll(user))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ({suspects_sql}), ({missing_sql})", [*suspects_params, *missing_params])
        suspects, missing = cursor.fetchone()
    return suspects, missing


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


def visits_due(cases, today: date | None = None):
    """Open cases of `cases` due a persuasion visit: none in the last 30 days (counted from the date found if
    none yet); the conditions of the case list's "overdue" filter (the principal's home page links there)."""
    today = today or timezone.localdate()
    cutoff = today - timedelta(days=VISIT_OVERDUE_DAYS)
    return cases.annotate(last_contact=Coalesce(Max("visits__visited_on"), "found_on")).filter(
        status=DropoutCase.Status.OPEN, last_contact__lt=cutoff
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


def zero_report_status(user, month: date) -> list[dict]:
    """For a month, each school and township the user sees: `reported` (zero report filed), `has_cases` (a
    case open in the month: the ledger reports it) or `missing` (neither); `withdrawn`: a zero report was
    filed and withdrawn since, a case open in the month having been recorded after it."""
    # Where each case was in the month (its history), not where it is now.
    school_cases, township_cases = places_with_cases(month)
    reports = ZeroReport.objects.filter(month=month)
    schools_reported, townships_reported, schools_withdrawn, townships_withdrawn = set(), set(), set(), set()
    for school_id, township_id, withdrawn_at in reports.values_list(
        "school_id", "township_id", "withdrawn_at"
    ):
        if school_id:
            (schools_withdrawn if withdrawn_at else schools_reported).add(school_id)
        else:
            (townships_withdrawn if withdrawn_at else townships_reported).add(township_id)

    def state(pk, cases, reported) -> str:
        if pk in reported:
            return "reported"
        return "has_cases" if pk in cases else "missing"

    rows = [
        {
            "kind": "township",
            "id": t.pk,
            "name": t.name,
            "township": t.name,
            "state": state(t.pk, township_cases, townships_reported),
            "withdrawn": t.pk in townships_withdrawn,
        }
        for t in Township.objects.visible_to(user).distinct().order_by("code")
    ]
    rows += [
        {
            "kind": "school",
            "id": s.pk,
            "name": s.name,
            "township": s.township.name,
            "state": state(s.pk, school_cases, schools_reported),
            "withdrawn": s.pk in schools_withdrawn,
        }
        for s in School.objects.visible_to(user)
        .active()
        .filter(school_type__in=ZERO_REPORT_TYPES)
        .select_related("township")
        .order_by("township__code", "code")
    ]
    return rows


@dataclass
class HomeTeachingLine:
    """A child taught at home (送教上门) this term: visits due by the schedule, hours against the plan."""

    case: DropoutCase
    since: date  # the later of the term's start and the start of home teaching
    next_due: date
    term_visits: int
    term_hours: Decimal
    planned_hours: Decimal | None
    expected_hours: Decimal | None  # what the plan asks for by today
    overdue: bool  # the next visit's day has passed

    @property
    def behind_plan(self) -> bool:
        return self.expected_hours is not None and self.term_hours < self.expected_hours


def home_teaching_monitor(user, today: date | None = None) -> list[HomeTeachingLine]:
    """Every case in home-delivered teaching the user sees, for the current term. One query.

    A visit is due every 30 / (visits a month) days after the last one (or after the start); the hours
    expected by today are the term's plan times the part of the term gone by.
    """
    today = today or timezone.localdate()
    school_year, term = term_of(today)
    start, end = term_start(school_year, term), term_end(school_year, term)
    in_term = Q(home_visits__visited_on__gte=start, home_visits__visited_on__lte=today)
    cases = (
        DropoutCase.objects.visible_to(user)
        .closed()
        .filter(outcome=DropoutCase.Outcome.HOME_TEACHING)
        .select_related("township", "school")
        .annotate(
            last_home_visit=Max("home_visits__visited_on"),
            term_visits=Count("home_visits", filter=in_term),
            term_hours=Coalesce(Sum("home_visits__hours", filter=in_term), Decimal("0")),
        )
        .order_by("township__code", "name", "pk")
    )
    lines = []
    for case in cases:
        per_month = case.home_visits_per_month or 1
        interval = timedelta(days=max(1, 30 // per_month))
        since = max(start, case.outcome_on or start)
        last = case.last_home_visit or case.outcome_on or start
        expected = None
        if case.home_hours_per_term is not None:
            share = Decimal(max(0, (today - since).days)) / Decimal(max(1, (end - since).days))
            expected = (case.home_hours_per_term * min(share, Decimal(1))).quantize(Decimal("0.1"))
        lines.append(
            HomeTeachingLine(
                case=case,
                since=since,
                next_due=last + interval,
                term_visits=case.term_visits,
                term_hours=case.term_hours,
                planned_hours=case.home_hours_per_term,
                expected_hours=expected,
                overdue=last + interval < today,
            )
        )
    return lines


def pending_closings(user):
    return (
        ClosingRequest.objects.visible_to(user)
        .pending()
        .select_related("case__township", "case__school", "outcome_school", "requested_by")
        .order_by("requested_at", "pk")
    )


def watches(user):
    """Running watches the user sees (the watch list's rows, before sorting and paging)."""
    return ReturnWatch.objects.visible_to(user).watching().select_related("case", "school")


def with_months_due(page, today: date | None = None) -> list[ReturnWatch]:
    """The watches of a page with the months still to confirm up to this one: one query for all of them."""
    today = today or timezone.localdate()
    rows = list(page)
    confirmed: dict[int, set[date]] = {watch.pk: set() for watch in rows}
    for watch_id, month in WatchConfirmation.objects.filter(watch__in=rows).values_list("watch_id", "month"):
        confirmed[watch_id].add(month)
    for watch in rows:
        watch.months_due = [m for m in watch_months(watch) if m <= today and m not in confirmed[watch.pk]]
    return rows


@dataclass
class ClaimedDate:
    """A date a case's record claims, beside the day it was written: the bureau checks both before 销号."""

    what: str  # found_on, returned_on, watch_month, closing_on
    label: str
    claimed: date
    recorded: date
    reason: str = ""

    @property
    def backdated(self) -> bool:
        return is_backdated(self.claimed, self.recorded)


def closing_dates(closing: ClosingRequest, watches: list[ReturnWatch] | None = None) -> list[ClaimedDate]:
    """What the bureau sees before confirming a closing: each date of the case's walk, claimed and recorded.

    `watches`: the case's watches with their confirmations prefetched (the case's page has them already).
    """
    case = closing.case
    if watches is None:
        watches = list(case.watches.prefetch_related("confirmations"))
    rows = [
        ClaimedDate("found_on", _("Date found"), case.found_on, recorded_on(case), case.found_late_reason)
    ]
    watch = next((w for w in watches if w.is_watching), None) or next(iter(watches), None)
    if watch is not None:
        rows.append(
            ClaimedDate(
                "returned_on", _("Returned on"), watch.returned_on, recorded_on(watch), watch.late_reason
            )
        )
        for confirmation in sorted(watch.confirmations.all(), key=lambda c: c.month):
            rows.append(
                ClaimedDate(
                    "watch_month",
                    _("Attendance in %(month)s") % {"month": f"{confirmation.month:%Y-%m}"},
                    add_months(confirmation.month, 1) - timedelta(days=1),
                    timezone.localdate(confirmation.confirmed_at),
                )
            )
    rows.append(
        ClaimedDate("closing_on", _("Outcome date"), closing.on, timezone.localdate(closing.requested_at))
    )
    return rows
