"""The monthly ledger (台账) of dropout cases: for a month, every case open at any time in it.

Counted on case periods (a reopened case has several), per township and school, so that for every row and
for the total: open at the start + new − closed (销号) = open at the end. A period closed on the 1st was open
at the start of the month and is closed in it; one opened and closed in the same month is new and closed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Max, Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from openpyxl import Workbook

from dropout_control import placement
from dropout_control.models import CasePeriod, DropoutCase, PersuasionVisit, ReturnWatch, TeamMember
from dropout_control.rules import age_on
from portal.excel import write_sheet
from students import id_numbers
from students.models import Student


@dataclass
class LedgerRow:
    township: str
    school: str
    open_at_start: int = 0
    new: int = 0
    closed: int = 0
    open_at_end: int = 0

    @property
    def reconciles(self) -> bool:
        return self.open_at_start + self.new - self.closed == self.open_at_end


@dataclass
class LedgerLine:
    """A case in the month: the detail sheet of the ledger, at the township and school it had then."""

    period: CasePeriod
    state: str  # "new", "closed", "new_closed" or "carried"
    place: placement.Place | None = None


@dataclass
class Ledger:
    year: int
    month: int
    start: date
    end: date
    rows: list[LedgerRow] = field(default_factory=list)
    total: LedgerRow = field(default_factory=lambda: LedgerRow(township="", school=""))

    def by_township(self) -> list[LedgerRow]:
        totals: dict[str, LedgerRow] = {}
        for row in self.rows:
            t = totals.setdefault(row.township, LedgerRow(township=row.township, school=""))
            t.open_at_start += row.open_at_start
            t.new += row.new
            t.closed += row.closed
            t.open_at_end += row.open_at_end
        return list(totals.values())


def month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _placed(user, start: date, periods=None) -> list[tuple[CasePeriod, placement.Place]]:
    """The periods open in the month, each at the place its case had then, within the user's scope then.

    The scope is read on that place, not on where the case is now: a case moved from school A to school B
    stays in A's ledger for the months it was A's (and is not in B's).
    """
    placed = placement.placed_in_month(start, periods)
    allowed = placement.in_scope(user, {place for _, place in placed})
    return [(p, place) for p, place in placed if place in allowed]


def monthly_ledger(*, year: int, month: int, user, lines: list[LedgerLine] | None = None) -> Ledger:
    """Counts for a month by township and school (where each case was then), within what the user may see.

    `lines`: the month's ledger_lines when the caller has them (the export and the print), not read again.
    """
    start, end = month_bounds(year, month)
    if lines is not None:
        placed = [(line.period, line.place) for line in lines]
    else:
        periods = placement.periods_overlapping(start, end).only("pk", "case_id", "opened_on", "closed_on")
        placed = _placed(user, start, periods)
    rows: dict[placement.Place, LedgerRow] = {}
    for p, place in sorted(placed, key=lambda item: item[1].order):
        row = rows.setdefault(
            place, LedgerRow(township=place.township_name, school=place.school_name or _("(no school)"))
        )
        # Every period here overlaps the month (opened by its end, not closed before its start).
        row.open_at_start += p.opened_on < start
        row.new += p.opened_on >= start
        row.closed += p.closed_on is not None and p.closed_on <= end
        row.open_at_end += p.closed_on is None or p.closed_on > end
    ledger = Ledger(year=year, month=month, start=start, end=end)
    for row in rows.values():
        ledger.rows.append(row)
        ledger.total.open_at_start += row.open_at_start
        ledger.total.new += row.new
        ledger.total.closed += row.closed
        ledger.total.open_at_end += row.open_at_end
    ledger.total.township = _("Total")
    return ledger


def ledger_lines(*, year: int, month: int, user) -> list[LedgerLine]:
    """The cases of the month with what the province's ledger shows of each: the child (from the registry
    when linked), the 六对一 team, the persuasion visits and the watch, at the township and school each case
    had in the month. A fixed number of queries whatever the number of cases."""
    start, end = month_bounds(year, month)
    periods = (
        placement.periods_overlapping(start, end)
        .select_related("case__township", "case__school", "case__student")
        .prefetch_related(
            "case__team",
            Prefetch("case__visits", queryset=PersuasionVisit.objects.order_by("visited_on", "pk")),
            Prefetch(
                "case__watches",
                queryset=ReturnWatch.objects.filter(status=ReturnWatch.Status.WATCHING),
                to_attr="running_watches",
            ),
        )
        .annotate(last_visit=Max("case__visits__visited_on"))
    )
    placed = _placed(user, start, periods)
    placed.sort(key=lambda item: (*item[1].order, item[0].opened_on, item[0].pk))
    lines = []
    for p, place in placed:
        is_new = p.opened_on >= start
        is_closed = p.closed_on is not None and p.closed_on <= end
        state = {(True, True): "new_closed", (True, False): "new", (False, True): "closed"}.get(
            (is_new, is_closed), "carried"
        )
        lines.append(LedgerLine(period=p, state=state, place=place))
    return lines


STATE_LABELS = {
    "new": gettext_lazy("New"),
    "closed": gettext_lazy("Closed"),
    "new_closed": gettext_lazy("New and closed"),
    "carried": gettext_lazy("Still open"),
}


PROVINCE_HEADERS = (
    gettext_lazy("Township"),
    gettext_lazy("School"),
    gettext_lazy("Name"),
    gettext_lazy("ID number"),
    gettext_lazy("Sex"),
    gettext_lazy("Age"),
    gettext_lazy("Grade"),
    gettext_lazy("Village"),
    gettext_lazy("Guardian"),
    gettext_lazy("Guardian phone"),
    gettext_lazy("Responsibility team (六对一)"),
    gettext_lazy("Date found"),
    pgettext_lazy("dropout", "Reason"),
    gettext_lazy("Persuasion visits"),
    gettext_lazy("Measures taken"),
    gettext_lazy("Current state"),
    gettext_lazy("In the month"),
    gettext_lazy("Closed on"),
    gettext_lazy("Days open"),
)
PROVINCE_DATE_COLUMNS = (11, 17)


def _state(case: DropoutCase) -> str:
    if not case.is_open:
        return _("Closed: %(outcome)s") % {"outcome": case.get_outcome_display()}
    if case.running_watches:
        return _("Returned, watched until %(date)s") % {
            "date": case.running_watches[0].watch_until.isoformat()
        }
    return str(DropoutCase.Stage.FOUND.label)


def _grade(case: DropoutCase) -> str:
    student = case.student
    if student is None:
        return ""
    return _("%(stage)s grade %(grade)s") % {"stage": student.get_stage_display(), "grade": student.grade}


def revealable_cases(lines: list[LedgerLine], user) -> list[DropoutCase]:
    """The cases of these lines whose whole ID number the user may see (the cases the user works on)."""
    return list(
        DropoutCase.objects.editable_by(user)
        .filter(pk__in=[line.period.case_id for line in lines])
        .only("pk")
        .order_by("pk")
    )


def province_rows(
    *,
    year: int,
    month: int,
    user,
    full_ids: bool = False,
    lines: list[LedgerLine] | None = None,
    revealed: list[DropoutCase] | None = None,
) -> list[list]:
    """The lines of the province's ledger (台账) for a month, in PROVINCE_HEADERS' order.

    Whole ID numbers only with `full_ids` and only for the cases the user works on (`revealed`, as
    `revealable_cases` gives them); the caller logs each of them (portal.audit.log_reveals). Everyone else gets
    the masked number.
    """
    _start, end = month_bounds(year, month)
    today = timezone.localdate()
    if lines is None:
        lines = ledger_lines(year=year, month=month, user=user)
    if revealed is None:
        revealed = revealable_cases(lines, user) if full_ids else []
    revealable = {case.pk for case in revealed} if full_ids else set()
    roles = dict(TeamMember.Role.choices)
    rows = []
    for line in lines:
        p = line.period
        case: DropoutCase = p.case
        parsed = id_numbers.parse(case.id_number)
        student = case.student
        visits = list(case.visits.all())
        end_day = min(p.closed_on or today, end)
        closed_in_month = p.closed_on is not None and p.closed_on <= end
        rows.append(
            [
                line.place.township_name,
                line.place.school_name,
                case.name,
                case.id_number if case.pk in revealable else case.masked_id_number,
                str(student.get_sex_display() if student else dict(Student.Sex.choices)[parsed.sex]),
                age_on(parsed.birth_date, min(end, today)),
                _grade(case),
                case.village,
                case.guardian_name or (student.guardian_name if student else ""),
                case.guardian_phone or (student.guardian_phone if student else ""),
                "；".join(
                    f"{roles[m.role]}：{m.name}" for m in sorted(case.team.all(), key=lambda m: m.role)
                ),
                case.found_on,
                case.get_reason_display(),
                len(visits),
                "；".join(f"{v.visited_on:%m-%d} {v.result}" for v in visits),
                _state(case),
                str(STATE_LABELS[line.state]),
                p.closed_on if closed_in_month else None,
                (end_day - p.opened_on).days,
            ]
        )
    return rows


def ledger_workbook(
    *,
    year: int,
    month: int,
    user,
    full_ids: bool = False,
    lines: list[LedgerLine] | None = None,
    revealed: list[DropoutCase] | None = None,
) -> Workbook:
    """The ledger as the bureau files it: a summary by township and school with a totals row, then the cases
    in the province's columns."""
    if lines is None:
        lines = ledger_lines(year=year, month=month, user=user)
    ledger = monthly_ledger(year=year, month=month, user=user, lines=lines)
    wb = Workbook()
    ws = wb.active
    ws.title = pgettext("ledger sheet", "Summary")
    rows = [[r.township, r.school, r.open_at_start, r.new, r.closed, r.open_at_end] for r in ledger.rows]
    rows.append(
        [
            _("Total"),
            "",
            ledger.total.open_at_start,
            ledger.total.new,
            ledger.total.closed,
            ledger.total.open_at_end,
        ]
    )
    write_sheet(
        ws,
        [
            _("Township"),
            _("School"),
            _("Open at the start"),
            _("New in the month"),
            _("Closed in the month"),
            _("Open at the end"),
        ],
        rows,
        title=_("Dropout control ledger, %(year)s-%(month)02d") % {"year": year, "month": month},
        widths=[16, 28, 12, 10, 10, 12],
    )
    detail = wb.create_sheet(_("Cases"))
    write_sheet(
        detail,
        [str(h) for h in PROVINCE_HEADERS],
        province_rows(year=year, month=month, user=user, full_ids=full_ids, lines=lines, revealed=revealed),
        widths=[12, 22, 10, 22, 6, 6, 12, 12, 10, 14, 40, 12, 12, 8, 40, 22, 12, 12, 8],
        formats=dict.fromkeys(PROVINCE_DATE_COLUMNS, "yyyy-mm-dd"),
    )
    return wb
