"""The nutrition-plan section: pilot schools and pupils, canteen supply and its shares, funds."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Case, Count, F, Q, Sum, When
from django.utils.translation import gettext_lazy as _

from nutrition.models import FundReceipt, MealRecord, PilotSchool, Purchase
from nutrition.selectors import CANTEEN, PILOT_STAGES, pilot_figures, spending
from reports import figures
from reports.yearend.base import MONEY, RATE, Builder, Measure, Period, Section, Table, grouped, rate
from students.models import Stage

# --- Nutrition improvement plan --------------------------------------------------------------------------


def nutrition_section(period: Period) -> dict:
    """Pilot schools and pupils of the period's term (`figures.nutrition_term`: the autumn term, as the
    papers count "2022年秋季学期"), by stage line with preschool pilots on a line of their own, canteen supply
    with its shares, the central funds received and used in the period (used for food and diverted apart),
    and the meals served in the period."""

    b = Builder()
    in_county = Q(school__township__county__code=period.county_code)
    pilots = figures.pilot_schools(PilotSchool.objects.filter(in_county), period)
    f = pilot_figures(figures.schools_as_of(pilots, period, figures.SCHOOL_TYPE), figures.SCHOOL_TYPE)
    b.table("pilots", [{"key": stage, **f[stage]} for stage in PILOT_STAGES], measures=PILOTS_M)
    everyone = f["all"]
    shares = [
        {"key": "school_share", "share": rate(everyone["canteen_schools"], everyone["schools"])},
        {"key": "pupil_share", "share": rate(everyone["canteen_pupils"], everyone["pupils"])},
    ]
    b.table("shares", shares, measures=SHARES_M, totals=False)
    in_county = Q(pilot__school__township__county__code=period.county_code)
    used = Purchase.objects.filter(in_county, purchased_on__gte=period.start, purchased_on__lte=period.end)
    received = FundReceipt.objects.filter(
        in_county, received_on__gte=period.start, received_on__lte=period.end
    )
    meals = figures.meals_served(MealRecord.objects.filter(in_county), period)
    spent = spending(used)
    funds = {
        "received": received.aggregate(s=Sum("amount"))["s"] or Decimal("0"),
        "used": spent["used"],
        "food": spent["food"],
        "diverted": spent["diverted"],
    }
    b.table("funds", [{"key": k, "amount": v} for k, v in funds.items()], measures=FUNDS_M, totals=False)
    b.total = {
        "pilot_schools": everyone["schools"],
        "pupils": everyone["pupils"],
        "canteen_schools": everyone["canteen_schools"],
        "canteen_pupils": everyone["canteen_pupils"],
        "canteen_school_share": shares[0]["share"],
        "canteen_pupil_share": shares[1]["share"],
        "funds_received": funds["received"],
        "funds_used": funds["used"],
        "funds_food": funds["food"],
        "funds_diverted": funds["diverted"],
        "meals": meals.aggregate(n=Sum("meals", default=0))["n"],
    }
    fed = (
        F("covered_primary")
        + F("covered_junior")
        + Case(When(preschool_plan=True, then="covered_preschool"), default=0)
    )
    pilot_measures = {
        "pilot_schools": Count("pk"),
        "pupils": Sum(fed, default=0),
        "canteen_pupils": Sum(fed, default=0, filter=CANTEEN),
    }
    for rows, school, measures in (
        (pilots, "school", pilot_measures),
        (used, "pilot__school", {"funds_used": Sum("amount")}),
        (meals, "pilot__school", {"meals": Sum("meals")}),
    ):
        for level, grouped_rows, group in figures.by_township_and_school(rows, period, school=school):
            for key, values in grouped(grouped_rows, group, **measures).items():
                b.breakdown(level, key, values)
    return b.as_dict()


PILOTS_M = (
    Measure("schools", _("Pilot schools")),
    Measure("pupils", _("Pupils covered")),
    Measure("canteen_schools", _("Canteen-supply schools")),
    Measure("canteen_pupils", _("Canteen-supply pupils")),
)
SHARES_M = (Measure("share", _("Share"), RATE),)
FUNDS_M = (Measure("amount", _("Amount"), MONEY),)


def nutrition_shares() -> dict[str, str]:
    return {
        "school_share": _("Canteen-supply schools, share of pilot schools"),
        "pupil_share": _("Canteen-supply pupils, share of pupils covered"),
    }


def nutrition_funds() -> dict[str, str]:
    return {
        "received": _("Central funds received"),
        "used": _("Central funds used"),
        "food": _("  of which on food for pupils"),
        "diverted": _("  of which diverted to forbidden categories (挤占挪用)"),
    }


def pilot_stages() -> dict[str, str]:
    return {
        Stage.PRESCHOOL: _("Preschool (kindergartens of the preschool plan)"),
        Stage.PRIMARY: _("Primary (primary schools and teaching points)"),
        Stage.JUNIOR: _("Junior (schools with a junior section)"),
    }


NUTRITION_SECTION = Section(
    "nutrition",
    _("Nutrition plan"),
    nutrition_section,
    (
        Table("pilots", _("Pilot schools and pupils (autumn term)"), _("Stage"), pilot_stages, PILOTS_M),
        Table("shares", _("Canteen supply"), _("Item"), nutrition_shares, SHARES_M, totals=False),
        Table("funds", _("Central special funds"), _("Item"), nutrition_funds, FUNDS_M, totals=False),
    ),
    (
        Measure("pilot_schools", _("Pilot schools")),
        Measure("pupils", _("Pupils covered")),
        Measure("canteen_pupils", _("Canteen-supply pupils")),
        Measure("funds_used", _("Nutrition funds used"), MONEY),
        Measure("meals", _("Meals served")),
    ),
    note=_(
        "Pilot schools and pupils are those of the year's autumn term; preschool pupils count where the "
        "preschool plan runs. Funds are those received and spent in the period; money spent on staff meals, "
        "equipment or other non-food items is shown apart as diverted."
    ),
    list_url=("nutrition:index", {}),
)
