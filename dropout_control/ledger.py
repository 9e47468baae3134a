"""The monthly ledger (台账) of dropout cases: for a month, every case open at any time in it.

Counted on case periods (a reopened case has several), per township and school, so that for every row and
for the total: open at the start + new − closed (销号) = open at the end. A period closed on the 1st was open
at the start of the month and is closed in it; one opened and closed in the same month is new and closed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from openpyxl import Workbook

from dropout_control.models import CasePeriod, DropoutCase
from portal.excel import write_sheet


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
    """A case in the month: the detail sheet of the ledger."""

    period: CasePeriod
    state: str  # "new", "closed", "new_closed" or "carried"


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


def _periods_in(user, start: date, end: date):
    return (
        CasePeriod.objects.visible_to(user)
        .filter(opened_on__lte=end)
        .filter(Q(closed_on__isnull=True) | Q(closed_on__gte=start))
    )


def monthly_ledger(*, year: int, month: int, user) -> Ledger:
    """Counts for a month by township and school, within what the user may see."""
    start, end = month_bounds(year, month)
    counts = (
        _periods_in(user, start, end)
        .values("case__township__code", "case__township__name", "case__school__code", "case__school__name")
        .annotate(
            # Every period here overlaps the month (opened by its end, not closed before its start).
            open_at_start=Count("pk", filter=Q(opened_on__lt=start)),
            new=Count("pk", filter=Q(opened_on__gte=start)),
            closed=Count("pk", filter=Q(closed_on__lte=end)),
            open_at_end=Count("pk", filter=Q(closed_on__isnull=True) | Q(closed_on__gt=end)),
        )
        .order_by("case__township__code", "case__school__code")
    )
    ledger = Ledger(year=year, month=month, start=start, end=end)
    for c in counts:
        row = LedgerRow(
            township=c["case__township__name"],
            school=c["case__school__name"] or _("(no school)"),
            open_at_start=c["open_at_start"],
            new=c["new"],
            closed=c["closed"],
            open_at_end=c["open_at_end"],
        )
        ledger.rows.append(row)
        ledger.total.open_at_start += row.open_at_start
        ledger.total.new += row.new
        ledger.total.closed += row.closed
        ledger.total.open_at_end += row.open_at_end
    ledger.total.township = _("Total")
    return ledger


def ledger_lines(*, year: int, month: int, user) -> list[LedgerLine]:
    start, end = month_bounds(year, month)
    periods = (
        _periods_in(user, start, end)
        .select_related("case__township", "case__school")
        .annotate(last_visit=Max("case__visits__visited_on"))
        .order_by("case__township__code", "case__school__code", "opened_on", "pk")
    )
    lines = []
    for p in periods:
        is_new = p.opened_on >= start
        is_closed = p.closed_on is not None and p.closed_on <= end
        state = {(True, True): "new_closed", (True, False): "new", (False, True): "closed"}.get(
            (is_new, is_closed), "carried"
        )
        lines.append(LedgerLine(period=p, state=state))
    return lines


STATE_LABELS = {
    "new": gettext_lazy("New"),
    "closed": gettext_lazy("Closed"),
    "new_closed": gettext_lazy("New and closed"),
    "carried": gettext_lazy("Still open"),
}


def ledger_workbook(*, year: int, month: int, user) -> Workbook:
    """The ledger as the bureau files it: a summary by township and school with a totals row, then the cases."""
    ledger = monthly_ledger(year=year, month=month, user=user)
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
    today = timezone.localdate()
    case_rows = []
    for line in ledger_lines(year=year, month=month, user=user):
        p = line.period
        case: DropoutCase = p.case
        end_day = min(p.closed_on or today, ledger.end)
        case_rows.append(
            [
                case.township.name,
                case.school.name if case.school else "",
                case.name,
                case.masked_id_number,
                case.village,
                case.found_on,
                case.get_reason_display(),
                p.opened_on,
                str(STATE_LABELS[line.state]),
                p.get_outcome_display() if p.closed_on and p.closed_on <= ledger.end else "",
                p.closed_on if p.closed_on and p.closed_on <= ledger.end else None,
                (end_day - p.opened_on).days,
                p.last_visit,
            ]
        )
    write_sheet(
        detail,
        [
            _("Township"),
            _("School"),
            _("Name"),
            _("ID number"),
            _("Village"),
            _("Date found"),
            pgettext("dropout", "Reason"),
            _("Opened on"),
            _("In the month"),
            _("Outcome"),
            _("Closed on"),
            _("Days open"),
            _("Last persuasion visit"),
        ],
        case_rows,
        widths=[14, 24, 10, 22, 12, 12, 12, 12, 12, 20, 12, 10, 14],
        formats={5: "yyyy-mm-dd", 7: "yyyy-mm-dd", 10: "yyyy-mm-dd", 12: "yyyy-mm-dd"},
    )
    return wb
