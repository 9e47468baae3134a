"""The monthly zero report (零报告): a school, or a township, with no dropout case says so for the month.

A school with a case open at any time in the month reports it in the ledger instead, so its zero report is
refused; the bureau reads who has reported and who has not (dropout_control.selectors.zero_report_status).
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dropout_control import placement
from dropout_control.models import CasePeriod, ZeroReport
from dropout_control.rules import ZERO_REPORT_TYPES
from dropout_control.services.common import add_months, first_of_month, today
from portal.access import can_file_zero_report, is_township_officer
from portal.services import service
from students.models import School, Township


def periods_in_month(month: date):
    """Case periods open at any time in the month (every user's: the rule is about the school, not who asks)."""
    end = add_months(month, 1)
    return CasePeriod.objects.filter(opened_on__lt=end).filter(
        Q(closed_on__isnull=True) | Q(closed_on__gte=month)
    )


def places_with_cases(month: date) -> tuple[set[int], set[int]]:
    """The schools and the townships with a case open in the month, where each case was then (its history):
    a township counts its children's cases and the cases at its schools."""
    places = [
        place for _, place in placement.placed_in_month(month, periods_in_month(month).only("pk", "case_id"))
    ]
    schools = {place.school_id for place in places if place.school_id is not None}
    of_school = placement.school_townships(schools)
    townships = {place.township_id for place in places} | {of_school[pk] for pk in schools}
    return schools, townships


def withdraw_contradicted(case) -> list[ZeroReport]:
    """Withdraw the standing zero reports a case now contradicts (called inside the service that wrote it).

    For each month the case is open in (every period of it, up to today), a zero report of the school or the
    township where the case was that month (dropout_control.placement) no longer stands: it is kept,
    marked withdrawn with the reason and the case; its history logs the change.
    """
    periods = list(CasePeriod.objects.filter(case=case))
    months: set[date] = set()
    now = today()
    for period in periods:
        month, last = first_of_month(period.opened_on), first_of_month(period.closed_on or now)
        while month <= last:
            months.add(month)
            month = add_months(month, 1)
    if not months:
        return []
    candidates = list(
        ZeroReport.objects.standing()
        .filter(month__in=months)
        .select_related("school")
        .order_by("month", "pk")
    )
    withdrawn = []
    checked: dict[date, tuple[set[int], set[int]]] = {}
    for report in candidates:
        if report.month not in checked:
            checked[report.month] = places_with_cases(report.month)
        schools, townships = checked[report.month]
        contradicted = report.school_id in schools if report.school_id else report.township_id in townships
        if not contradicted:
            continue
        report.withdrawn_at = timezone.now()
        report.withdrawn_case = case
        report.withdrawn_reason = _(
            "A dropout case open in %(month)s was recorded on %(date)s: the zero report no longer stands."
        ) % {"month": f"{report.month:%Y-%m}", "date": now.isoformat()}
        report.save(update_fields=["withdrawn_at", "withdrawn_case", "withdrawn_reason"])
        withdrawn.append(report)
    return withdrawn


@service(
    allowed=can_file_zero_report,
    refusal=gettext_lazy("Schools and townships file the zero report; the bureau reads it."),
)
def zero_report_file(
    *, month: date, by, school: School | None = None, township: Township | None = None
) -> ZeroReport:
    """Confirm "无辍学" for a month, for one school or one township in the user's scope."""
    if (school is None) == (township is None):
        raise ValidationError(_("A zero report is for one school or for one township."))
    if school is not None and not School.objects.editable_by(by).filter(pk=school.pk).exists():
        raise PermissionDenied(_("You may not report for this school."))
    if township is not None and not (
        is_township_officer(by) and Township.objects.editable_by(by).filter(pk=township.pk).exists()
    ):
        # A township's report is its officer's (a principal reports for his school only).
        raise PermissionDenied(_("You may not report for this township."))
    if school is not None and school.school_type not in ZERO_REPORT_TYPES:
        raise ValidationError(
            {"school": [_("Only schools of compulsory education file the dropout zero report.")]}
        )
    month = first_of_month(month)
    if month > today():
        raise ValidationError({"month": [_("A month is reported once it has begun.")]})
    floor = first_of_month(settings.DROPOUT_ZERO_REPORTS_FROM)
    if month < floor:
        raise ValidationError(
            {"month": [_("Zero reports are filed from %(month)s on.") % {"month": f"{floor:%Y-%m}"}]}
        )
    label = f"{month:%Y-%m}"
    place = school.name if school is not None else township.name
    schools, townships = places_with_cases(month)
    has_case = school.pk in schools if school is not None else township.pk in townships
    if has_case:
        raise ValidationError(
            {
                "month": [
                    _(
                        "%(place)s has a dropout case open in %(month)s: it is reported in the ledger, not as zero."
                    )
                    % {"place": place, "month": label}
                ]
            }
        )
    # Filed twice at once (a double click): the place's row is locked, so the second filing waits for the first
    # and is refused below as a duplicate rather than failing on the unique constraint.
    place_model = School if school is not None else Township
    place_model.objects.select_for_update().filter(pk=(school or township).pk).first()
    reports = ZeroReport.objects.standing().filter(month=month)
    if (school and reports.filter(school=school).exists()) or (
        township and reports.filter(township=township).exists()
    ):
        raise ValidationError(
            {"month": [_("%(place)s has already reported %(month)s.") % {"place": place, "month": label}]}
        )
    report = ZeroReport(month=month, school=school, township=township, reported_by=by)
    report.full_clean()
    report.save()
    return report
