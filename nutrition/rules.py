"""The plan's rules: school days, entitlement (meals × standard) and the reconciliation flags.

Entitlement: each compulsory-education meal is worth the pilot's daily standard (5 yuan); each preschool
meal is worth the preschool yearly standard (800 yuan) spread over the 200 meal days of a year (4 yuan).

Reconciliation of a pilot school (and of the county, by summing):
- overspend (超支): more spent than the meals served entitle the school to;
- underspend (结余过多): food spending below the entitlement by more than the tolerance
  (settings.NUTRITION_UNDERSPEND_TOLERANCE, a fraction, default 0.05): pupils did not get what was paid for;
- diversion (挤占挪用): any spending in a category the plan forbids (staff meals, equipment, non-food);
- short funding: less received than entitled (the county owes the school).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from nutrition.models import NutritionTerm, PilotSchool

FEN = Decimal("0.01")
ANNUAL_MEAL_DAYS = 200
DEFAULT_TOLERANCE = Decimal("0.05")


def underspend_tolerance() -> Decimal:
    value = Decimal(str(getattr(settings, "NUTRITION_UNDERSPEND_TOLERANCE", DEFAULT_TOLERANCE)))
    if not Decimal("0") <= value < Decimal("1"):
        raise ImproperlyConfigured("NUTRITION_UNDERSPEND_TOLERANCE must be a fraction between 0 and 1.")
    return value


def school_days(term: NutritionTerm, holidays: Iterable[date], until: date | None = None) -> list[date]:
    """Weekdays of the term that are not holidays, up to `until` (inclusive) if given."""
    closed = set(holidays)
    last = min(term.end, until) if until else term.end
    days = []
    day = term.start
    while day <= last:
        if day.weekday() < 5 and day not in closed:
            days.append(day)
        day += timedelta(days=1)
    return days


def school_day_problem(term: NutritionTerm, day: date, holidays: Iterable[date]) -> str | None:
    """Why no meals can be served on `day` in `term`, or None if it is a school day."""
    if not term.contains(day):
        return _("%(day)s is outside the term (%(start)s to %(end)s).") % {
            "day": day,
            "start": term.start,
            "end": term.end,
        }
    if day.weekday() >= 5:
        return _("%(day)s is a weekend day, not a school day.") % {"day": day}
    if day in set(holidays):
        return _("%(day)s is a holiday, not a school day.") % {"day": day}
    return None


def preschool_daily_standard(pilot: PilotSchool) -> Decimal:
    return (pilot.preschool_yearly_standard / ANNUAL_MEAL_DAYS).quantize(FEN, ROUND_HALF_UP)


def entitlement(pilot: PilotSchool, *, compulsory_meals: int, preschool_meals: int) -> Decimal:
    amount = compulsory_meals * pilot.daily_standard + preschool_meals * preschool_daily_standard(pilot)
    return Decimal(amount).quantize(FEN, ROUND_HALF_UP)


@dataclass
class Reconciliation:
    received: Decimal = Decimal("0.00")
    entitled: Decimal = Decimal("0.00")
    spent: Decimal = Decimal("0.00")
    forbidden: Decimal = Decimal("0.00")
    meals: int = 0
    flags: list[str] = field(default_factory=list)

    @property
    def food_spent(self) -> Decimal:
        return self.spent - self.forbidden

    @property
    def balance(self) -> Decimal:
        return self.received - self.spent

    @property
    def overspend(self) -> bool:
        return OVERSPEND in self.flags

    @property
    def underspend(self) -> bool:
        return UNDERSPEND in self.flags

    @property
    def diversion(self) -> bool:
        return DIVERSION in self.flags

    @property
    def short_funded(self) -> bool:
        return SHORT_FUNDED in self.flags


OVERSPEND = "overspend"
UNDERSPEND = "underspend"
DIVERSION = "diversion"
SHORT_FUNDED = "short_funded"


def flags_for(*, received: Decimal, entitled: Decimal, spent: Decimal, forbidden: Decimal) -> list[str]:
    flags = []
    if spent > entitled:
        flags.append(OVERSPEND)
    if spent - forbidden < entitled * (1 - underspend_tolerance()):
        flags.append(UNDERSPEND)
    if forbidden > 0:
        flags.append(DIVERSION)
    if received < entitled:
        flags.append(SHORT_FUNDED)
    return flags


def reconcile(pilot: PilotSchool) -> Reconciliation:
    """A pilot's accounts. Uses the annotations of `PilotSchool.objects.with_totals()` when present."""
    if not hasattr(pilot, "total_received"):
        pilot = PilotSchool.objects.with_totals().get(pk=pilot.pk)
    entitled = entitlement(
        pilot, compulsory_meals=pilot.compulsory_meals, preschool_meals=pilot.preschool_meals
    )
    result = Reconciliation(
        received=pilot.total_received,
        entitled=entitled,
        spent=pilot.total_spent,
        forbidden=pilot.total_forbidden,
        meals=pilot.compulsory_meals + pilot.preschool_meals,
    )
    result.flags = flags_for(
        received=result.received, entitled=entitled, spent=result.spent, forbidden=result.forbidden
    )
    return result


@dataclass
class CountyReconciliation(Reconciliation):
    schools: int = 0
    overspend_schools: int = 0
    underspend_schools: int = 0
    diversion_schools: int = 0
    short_funded_schools: int = 0


def reconcile_all(pilots: Iterable[PilotSchool]) -> CountyReconciliation:
    """The county's accounts: the sums of its pilots', and how many schools carry each flag."""
    total = CountyReconciliation()
    for pilot in pilots:
        one = reconcile(pilot)
        total.schools += 1
        total.received += one.received
        total.entitled += one.entitled
        total.spent += one.spent
        total.forbidden += one.forbidden
        total.meals += one.meals
        total.overspend_schools += one.overspend
        total.underspend_schools += one.underspend
        total.diversion_schools += one.diversion
        total.short_funded_schools += one.short_funded
    total.flags = flags_for(
        received=total.received, entitled=total.entitled, spent=total.spent, forbidden=total.forbidden
    )
    return total


def share(part: int | Decimal, whole: int | Decimal) -> Decimal:
    """A percentage with one decimal, as the papers print it (217 of 224 schools: 96.9)."""
    if not whole:
        return Decimal("0.0")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)
