"""Reads of the nutrition plan shared by the pages, the API, the services and the reports app.

County figures, as the year-end report prints them (Ningdu, autumn 2022):

    224 pilot schools (198 primary, 26 junior), 37,808 pupils (24,680 primary / 13,128 junior);
    canteen supply in 217 schools with 25,526 pupils = 96.9% of schools, 67.5% of pupils;
    central special funds used in 2022: 2,845.1573 万元.

The reports app calls `county_figures(term_or_year, user)`. Schools and pupils are those of one term
(for a year: its autumn term, else its spring term, as the papers count "2022年秋季学期"); funds are
those of the term, or for a year the calendar year's purchases and receipts. A school counts as primary or
junior by its type (nine-year and other schools with a junior section count as junior); pupils count by
their stage. Canteen supply means supply mode "canteen"; mixed-supply schools are counted apart.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Round

from nutrition import rules
from nutrition.models import FundReceipt, MealRecord, NutritionTerm, PilotSchool, Purchase
from students.models import COMPULSORY_STAGES, School, Stage, Student

PRIMARY_TYPES = (School.Type.PRIMARY, School.Type.TEACHING_POINT)
JUNIOR_TYPES = (
    School.Type.JUNIOR,
    School.Type.NINE_YEAR,
    School.Type.TWELVE_YEAR,
    School.Type.COMPLETE_MIDDLE,
    School.Type.SPECIAL,
)
WAN = Decimal("10000")


def count_covered(*, school: School, preschool_plan: bool) -> dict[str, int]:
    """Enrolled pupils of the school by the stages the plan feeds, from the registry."""
    stages = [*COMPULSORY_STAGES, *([Stage.PRESCHOOL] if preschool_plan else [])]
    counts = dict(
        Student.objects.enrolled()
        .filter(school=school, stage__in=stages)
        .values_list("stage")
        .annotate(n=Count("pk"))
        .values_list("stage", "n")
    )
    return {stage: counts.get(stage, 0) for stage in (Stage.PRESCHOOL, Stage.PRIMARY, Stage.JUNIOR)}


PILOT_STAGES = (Stage.PRESCHOOL, Stage.PRIMARY, Stage.JUNIOR)


def stage_of_school(stage: str, school_type: str = "school__school_type") -> Q:
    """Which pilot schools count on a stage's line: kindergartens on preschool's (the 农村普惠园 plan),
    schools with a junior section on junior's, every other school on primary's, so the lines add up to all
    pilot schools. `school_type`: the field holding the school's type (the year-end report's: the type on
    its reference date)."""
    if stage == Stage.PRESCHOOL:
        return Q(**{school_type: School.Type.KINDERGARTEN})
    if stage == Stage.JUNIOR:
        return Q(**{f"{school_type}__in": JUNIOR_TYPES})
    return ~Q(**{school_type: School.Type.KINDERGARTEN}) & ~Q(**{f"{school_type}__in": JUNIOR_TYPES})


CANTEEN = Q(supply_mode=PilotSchool.SupplyMode.CANTEEN)


def pilot_figures(pilots, school_type: str = "school__school_type") -> dict[str, dict[str, int]]:
    """Pilot schools and pupils per stage line, all and with canteen supply, and their totals (key "all"),
    in one query: the year-end report's nutrition sheet and the plan's own page count with it."""
    aggregates = {}
    for stage in PILOT_STAGES:
        aggregates[f"{stage}_schools"] = Count("pk", filter=stage_of_school(stage, school_type))
        aggregates[f"{stage}_canteen_schools"] = Count(
            "pk", filter=stage_of_school(stage, school_type) & CANTEEN
        )
        field = {Stage.PRESCHOOL: "covered_preschool", Stage.PRIMARY: "covered_primary"}.get(
            stage, "covered_junior"
        )
        fed = Q(preschool_plan=True) if stage == Stage.PRESCHOOL else Q()
        aggregates[f"{stage}_pupils"] = Sum(field, default=0, filter=fed)
        aggregates[f"{stage}_canteen_pupils"] = Sum(field, default=0, filter=fed & CANTEEN)
    row = pilots.aggregate(**aggregates)
    out = {
        stage: {
            key: row[f"{stage}_{key}"] for key in ("schools", "pupils", "canteen_schools", "canteen_pupils")
        }
        for stage in PILOT_STAGES
    }
    out["all"] = {key: sum(out[s][key] for s in PILOT_STAGES) for key in out[Stage.PRIMARY]}
    return out


def term_for_year(year: int) -> NutritionTerm | None:
    terms = NutritionTerm.objects.filter(school_year=year)
    return terms.filter(season=NutritionTerm.Season.AUTUMN).first() or terms.first()


def county_figures(term_or_year: NutritionTerm | int, user) -> dict:
    """The plan's county figures over the pilots `user` may see: ints for counts, Decimals for money."""
    by_term = isinstance(term_or_year, NutritionTerm)
    term = term_or_year if by_term else term_for_year(int(term_or_year))

    pilots = PilotSchool.objects.visible_to(user).filter(term=term) if term else PilotSchool.objects.none()
    canteen = Q(supply_mode=PilotSchool.SupplyMode.CANTEEN)
    pilot_counts = {
        "schools": Count("pk"),
        "primary_schools": Count("pk", filter=Q(school__school_type__in=PRIMARY_TYPES)),
        "junior_schools": Count("pk", filter=Q(school__school_type__in=JUNIOR_TYPES)),
        "preschool_schools": Count("pk", filter=Q(school__school_type=School.Type.KINDERGARTEN)),
        "pupils_primary": Sum("covered_primary", default=0),
        "pupils_junior": Sum("covered_junior", default=0),
        "pupils_preschool": Sum("covered_preschool", default=0, filter=Q(preschool_plan=True)),
        "canteen_schools": Count("pk", filter=canteen),
        "canteen_primary": Sum("covered_primary", default=0, filter=canteen),
        "canteen_junior": Sum("covered_junior", default=0, filter=canteen),
        "mixed_schools": Count("pk", filter=Q(supply_mode=PilotSchool.SupplyMode.MIXED)),
        "catered_schools": Count("pk", filter=Q(supply_mode=PilotSchool.SupplyMode.CATERED)),
    }
    zero = Decimal("0.00")
    if by_term:
        # A term's money and meals are its pilots' own (`with_totals`): one query with the counts.
        counts = pilots.with_totals().aggregate(
            **pilot_counts,
            used=Sum("total_spent", default=zero),
            forbidden=Sum("total_forbidden", default=zero),
            received=Sum("total_received", default=zero),
            compulsory=Sum("compulsory_meals", default=0),
            preschool=Sum("preschool_meals", default=0),
        )
        spending = {"used": counts["used"], "forbidden": counts["forbidden"]}
        received = counts["received"]
        meals = {"compulsory": counts["compulsory"], "preschool": counts["preschool"]}
    else:
        # A calendar year's money is what was bought and received in it, whatever the term.
        year = int(term_or_year)
        counts = pilots.aggregate(**pilot_counts)
        visible = PilotSchool.objects.visible_to(user)
        purchases = Purchase.objects.filter(pilot__in=visible, purchased_on__year=year)
        spending = purchases.aggregate(
            used=Sum("amount", default=zero),
            forbidden=Sum("amount", default=zero, filter=Q(category__in=Purchase.FORBIDDEN_CATEGORIES)),
        )
        received = FundReceipt.objects.filter(pilot__in=visible, received_on__year=year).aggregate(
            s=Sum("amount", default=zero)
        )["s"]
        meals = MealRecord.objects.filter(pilot__in=pilots).aggregate(
            compulsory=Sum("meals", default=0, filter=Q(stage__in=(Stage.PRIMARY, Stage.JUNIOR))),
            preschool=Sum("meals", default=0, filter=Q(stage=Stage.PRESCHOOL)),
        )

    pupils = counts["pupils_primary"] + counts["pupils_junior"]
    canteen_pupils = counts["canteen_primary"] + counts["canteen_junior"]
    return {
        "term": str(term) if term else "",
        "pilot_schools": counts["schools"],
        "pilot_schools_primary": counts["primary_schools"],
        "pilot_schools_junior": counts["junior_schools"],
        "pilot_schools_preschool": counts["preschool_schools"],
        "pupils": pupils,
        "pupils_primary": counts["pupils_primary"],
        "pupils_junior": counts["pupils_junior"],
        "pupils_preschool": counts["pupils_preschool"],
        "canteen_schools": counts["canteen_schools"],
        "canteen_pupils": canteen_pupils,
        "canteen_school_share": rules.share(counts["canteen_schools"], counts["schools"]),
        "canteen_pupil_share": rules.share(canteen_pupils, pupils),
        "mixed_schools": counts["mixed_schools"],
        "catered_schools": counts["catered_schools"],
        "meals_compulsory": meals["compulsory"],
        "meals_preschool": meals["preschool"],
        "funds_received": received,
        "funds_used": spending["used"],
        "funds_used_wan": spending["used"] / WAN,
        "funds_diverted": spending["forbidden"],
    }


# --- The reconciliation flags as queries (red lights and the pilot list's "flag" filter) -----------------

NEGATIVE_BALANCE = "negative_balance"
FLAGS = (rules.OVERSPEND, rules.UNDERSPEND, rules.DIVERSION, rules.SHORT_FUNDED, NEGATIVE_BALANCE)


def with_entitlement(pilots):
    """Pilots with `rules.reconcile`'s money as annotations: received, spent, forbidden and entitled."""
    if "total_received" not in pilots.query.annotations:
        pilots = pilots.with_totals()
    preschool_daily = Round(F("preschool_yearly_standard") / rules.ANNUAL_MEAL_DAYS, 2)
    return pilots.annotate(
        entitled=ExpressionWrapper(
            F("compulsory_meals") * F("daily_standard") + F("preschool_meals") * preschool_daily,
            output_field=DecimalField(max_digits=14, decimal_places=2),
        )
    )


def flag_condition(flag: str) -> Q:
    """The database's reading of `rules.flags_for` (and of a negative balance: more spent than received)."""
    keep = Value(1 - rules.underspend_tolerance(), output_field=DecimalField(max_digits=6, decimal_places=4))
    conditions = {
        rules.OVERSPEND: Q(total_spent__gt=F("entitled")),
        rules.UNDERSPEND: Q(food_spent__lt=F("entitled") * keep),
        rules.DIVERSION: Q(total_forbidden__gt=0),
        rules.SHORT_FUNDED: Q(total_received__lt=F("entitled")),
        NEGATIVE_BALANCE: Q(total_spent__gt=F("total_received")),
    }
    return conditions[flag]


def flagged(pilots, flag: str):
    """The pilots carrying `flag`: what a red light counts and what its list shows."""
    return (
        with_entitlement(pilots)
        .annotate(food_spent=F("total_spent") - F("total_forbidden"))
        .filter(flag_condition(flag))
    )


def spending(purchases) -> dict[str, Decimal]:
    """Money spent: all of it, on food for pupils, and diverted to forbidden categories (挤占挪用)."""
    totals = purchases.aggregate(
        used=Sum("amount", default=Decimal("0.00")),
        diverted=Sum("amount", default=Decimal("0.00"), filter=Q(category__in=Purchase.FORBIDDEN_CATEGORIES)),
    )
    return {**totals, "food": totals["used"] - totals["diverted"]}


def flag_counts(pilots, **more) -> dict[str, int]:
    """How many of `pilots` carry each flag, in one query (the same conditions as `flagged`); `more` adds
    aggregates of the same rows to that query (a dashboard's count of the pilots)."""
    annotated = with_entitlement(pilots).annotate(food_spent=F("total_spent") - F("total_forbidden"))
    return annotated.aggregate(**{flag: Count("pk", filter=flag_condition(flag)) for flag in FLAGS}, **more)
