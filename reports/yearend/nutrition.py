"""The nutrition-plan section: pilot schools and pupils, canteen supply and its shares, funds."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.utils.translation import gettext_lazy as _

from nutrition.models import FundReceipt, PilotSchool, Purchase
from nutrition.selectors import JUNIOR_TYPES, PRIMARY_TYPES, term_for_year
from reports.yearend.base import MONEY, RATE, Builder, Measure, Period, Section, Table, grouped, rate, stages
from students.models import Stage

# --- Nutrition improvement plan --------------------------------------------------------------------------


def nutrition_section(period: Period) -> dict:
    """Pilot schools and pupils of the year's autumn term (as the papers count "2022年秋季学期"), canteen
    supply with its shares, and the central funds received and used in the period."""

    b = Builder()
    term = term_for_year(period.year)
    pilots = PilotSchool.objects.filter(school__township__county__code=period.county_code)
    pilots = pilots.filter(term=term) if term is not None else pilots.none()
    canteen = Q(supply_mode=PilotSchool.SupplyMode.CANTEEN)
    primary, junior = Q(school__school_type__in=PRIMARY_TYPES), Q(school__school_type__in=JUNIOR_TYPES)
    f = pilots.aggregate(
        primary_schools=Count("pk", filter=primary),
        junior_schools=Count("pk", filter=junior),
        primary_pupils=Sum("covered_primary", default=0),
        junior_pupils=Sum("covered_junior", default=0),
        primary_canteen_schools=Count("pk", filter=primary & canteen),
        junior_canteen_schools=Count("pk", filter=junior & canteen),
        primary_canteen_pupils=Sum("covered_primary", default=0, filter=canteen),
        junior_canteen_pupils=Sum("covered_junior", default=0, filter=canteen),
        schools=Count("pk"),
        canteen_schools=Count("pk", filter=canteen),
    )
    rows = [
        {
            "key": stage,
            "schools": f[f"{stage}_schools"],
            "pupils": f[f"{stage}_pupils"],
            "canteen_schools": f[f"{stage}_canteen_schools"],
            "canteen_pupils": f[f"{stage}_canteen_pupils"],
        }
        for stage in (Stage.PRIMARY, Stage.JUNIOR)
    ]
    b.table("pilots", rows, measures=PILOTS_M)
    pupils = f["primary_pupils"] + f["junior_pupils"]
    canteen_pupils = f["primary_canteen_pupils"] + f["junior_canteen_pupils"]
    shares = [
        {"key": "school_share", "share": rate(f["canteen_schools"], f["schools"])},
        {"key": "pupil_share", "share": rate(canteen_pupils, pupils)},
    ]
    b.table("shares", shares, measures=SHARES_M, totals=False)
    in_county = Q(pilot__school__township__county__code=period.county_code)
    used = Purchase.objects.filter(in_county, purchased_on__gte=period.start, purchased_on__lte=period.end)
    received = FundReceipt.objects.filter(
        in_county, received_on__gte=period.start, received_on__lte=period.end
    )
    funds = {
        "received": received.aggregate(s=Sum("amount"))["s"] or Decimal("0"),
        "used": used.aggregate(s=Sum("amount"))["s"] or Decimal("0"),
    }
    b.table("funds", [{"key": k, "amount": v} for k, v in funds.items()], measures=FUNDS_M, totals=False)
    b.total = {
        "pilot_schools": f["schools"],
        "pupils": pupils,
        "canteen_schools": f["canteen_schools"],
        "canteen_pupils": canteen_pupils,
        "canteen_school_share": rate(f["canteen_schools"], f["schools"]),
        "canteen_pupil_share": rate(canteen_pupils, pupils),
        "funds_received": funds["received"],
        "funds_used": funds["used"],
    }
    pilot_measures = {
        "pilot_schools": Count("pk"),
        "pupils": Sum(F_COVERED, default=0),
        "canteen_pupils": Sum(F_COVERED, default=0, filter=canteen),
    }
    for level, group in (("township", "school__township_id"), ("school", "school_id")):
        for key, values in grouped(pilots, group, **pilot_measures).items():
            b.breakdown(level, key, values)
        for key, values in grouped(used, f"pilot__{group}", funds_used=Sum("amount")).items():
            b.breakdown(level, key, values)
    return b.as_dict()


# Compulsory-education pupils a pilot school covers (the papers' pupil counts leave preschool out).
F_COVERED = F("covered_primary") + F("covered_junior")


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
    return {"received": _("Central funds received"), "used": _("Central funds used")}


NUTRITION_SECTION = Section(
    "nutrition",
    _("Nutrition plan"),
    nutrition_section,
    (
        Table("pilots", _("Pilot schools and pupils (autumn term)"), _("Stage"), stages, PILOTS_M),
        Table("shares", _("Canteen supply"), _("Item"), nutrition_shares, SHARES_M, totals=False),
        Table("funds", _("Central special funds"), _("Item"), nutrition_funds, FUNDS_M, totals=False),
    ),
    (
        Measure("pilot_schools", _("Pilot schools")),
        Measure("pupils", _("Pupils covered")),
        Measure("canteen_pupils", _("Canteen-supply pupils")),
        Measure("funds_used", _("Nutrition funds used"), MONEY),
    ),
    note=_(
        "Pilot schools and pupils are those of the year's autumn term; funds are those received and spent in the period."
    ),
    list_url=("nutrition:index", {}),
)
