"""The dropout-control section: cases found, returned, open, and children taught at home."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from dropout_control.models import DropoutCase
from reports import figures
from reports.yearend.base import UNASSIGNED, Builder, Measure, Period, Section, Table, grouped

# --- Dropout control -------------------------------------------------------------------------------------


def dropout_section(period: Period) -> dict:
    """Dropout cases found in the period, returned to school, still open at the reference date, closed by
    outcome, and children taught at home in the period (送教上门; Ningdu autumn 2022: 145)."""

    b = Builder()
    cases = DropoutCase.objects.filter(township__county__code=period.county_code)
    if period.is_future:
        cases = cases.none()
    ref = period.reference
    closed_in_period = Q(status=DropoutCase.Status.CLOSED, outcome_on__gte=period.start, outcome_on__lte=ref)
    measures = {
        "found": Count("pk", filter=Q(found_on__gte=period.start, found_on__lte=ref)),
        "returned": Count("pk", filter=closed_in_period & Q(outcome=DropoutCase.Outcome.RETURNED)),
        "open": Count("pk", filter=Q(pk__in=figures.open_cases(cases, period).values("pk"))),
        "home_teaching": Count(
            "pk", filter=Q(pk__in=figures.home_teaching_children(cases, period).values("pk"))
        ),
    }
    total = cases.aggregate(**measures)
    b.table("summary", [{"key": k, "cases": v} for k, v in total.items()], measures=CASES_M, totals=False)
    outcomes = {
        k: v["cases"]
        for k, v in grouped(cases.filter(closed_in_period), "outcome", cases=Count("pk")).items()
    }
    b.table(
        "by_outcome",
        [{"key": o, "cases": outcomes.get(o, 0)} for o in DropoutCase.Outcome.values],
        measures=CASES_M,
    )
    b.total = total
    for level, group in (("township", "township_id"), ("school", "school_id")):
        for key, values in grouped(cases, group, **measures).items():
            b.breakdown(level, UNASSIGNED if key is None else key, values)
    return b.as_dict()


CASES_M = (Measure("cases", _("Cases")),)


def dropout_lines() -> dict[str, str]:
    return {
        "found": _("Cases found in the period"),
        "returned": _("Returned to school in the period"),
        "open": _("Open on the reference date"),
        "home_teaching": _("Children taught at home in the period (送教上门)"),
    }


def outcomes() -> dict[str, str]:

    return dict(DropoutCase.Outcome.choices)


DROPOUT_SECTION = Section(
    "dropout",
    _("Dropout control"),
    dropout_section,
    (
        Table("summary", _("Dropout cases"), _("Item"), dropout_lines, CASES_M, totals=False),
        Table("by_outcome", _("Cases closed in the period, by outcome"), _("Outcome"), outcomes, CASES_M),
    ),
    (
        Measure("found", _("Dropout cases found")),
        Measure("returned", _("Returned to school")),
        Measure("open", _("Dropout cases open")),
        Measure("home_teaching", _("Taught at home")),
    ),
    note=_("Cases count where the child lives (the township) and by the responsible school."),
    list_url=("dropout:case_list", {}),
)
