"""Writes of the nutrition plan: `@service` checks who may write (a capability), then the row, the term and
the rules, and writes atomically.

Principals record for their own school (meals, purchases, accompanied meals, safety checks); the bureau's
nutrition office records for every school and alone sets up terms, pilot schools and fund receipts.
Township officers and officials read only. A closed term is final: nothing under it may change.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from nutrition import rules
from nutrition.models import (
    AccompaniedMeal,
    FundReceipt,
    MealRecord,
    NutritionTerm,
    PilotSchool,
    Purchase,
    SafetyCheck,
    TermHoliday,
)
from nutrition.selectors import count_covered
from portal.access import can_record_nutrition, is_bureau_staff
from portal.services import service
from students.models import COMPULSORY_STAGES, School, Stage

# The two capabilities of the plan, with the clerk's message when they are missing.
bureau_service = service(
    allowed=is_bureau_staff, refusal=gettext_lazy("Only the bureau's nutrition office may do this.")
)
recording_service = service(
    allowed=can_record_nutrition, refusal=gettext_lazy("Your role may not record nutrition-plan data.")
)


def check_term_open(term: NutritionTerm) -> None:
    """A closed term is final: nothing under it may change."""
    if term.is_closed:
        raise ValidationError(
            _("The term %(term)s is closed: its records can no longer change.") % {"term": term}
        )


def check_can_record(*, pilot: PilotSchool, by) -> None:
    """The user may write records of this pilot school (the row), and its term is still open.

    Whether the user's role records at all is the service's capability (`can_record_nutrition`)."""
    if not PilotSchool.objects.editable_by(by).filter(pk=pilot.pk).exists():
        raise PermissionDenied(_("You may only record for your own school."))
    check_term_open(pilot.term)


def parse_money(value: Any, field: str) -> Decimal:
    """A positive amount in yuan with at most two decimals; anything else is refused with a clear message."""
    try:
        amount = Decimal(str(value).strip().replace(",", "")) if value is not None else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise ValidationError({field: _("The amount must be a number of yuan, e.g. 1250.50.")})
    if amount <= 0:
        raise ValidationError({field: _("The amount must be greater than zero.")})
    if amount != amount.quantize(rules.FEN):
        raise ValidationError({field: _("The amount has at most two decimals (fen).")})
    return amount.quantize(rules.FEN)


def parse_meals(value: Any, field: str = "meals") -> int:
    if isinstance(value, bool):
        value = None
    try:
        number = Decimal(str(value).strip()) if value is not None and str(value).strip() != "" else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        raise ValidationError({field: _("The number of meals must be a whole number.")})
    if number < 0:
        raise ValidationError({field: _("The number of meals cannot be negative.")})
    return int(number)


# --- Terms and pilot schools (bureau) -------------------------------------------------------------


@bureau_service
def term_create(*, school_year: int, season: str, start: date, end: date, by) -> NutritionTerm:
    term = NutritionTerm(school_year=school_year, season=season, start=start, end=end)
    term.full_clean()
    term.save()
    return term


@bureau_service
def holiday_add(*, term: NutritionTerm, day: date, by, reason: str = "") -> TermHoliday:
    check_term_open(term)
    if not term.contains(day):
        raise ValidationError({"day": _("The holiday is outside the term.")})
    if MealRecord.objects.filter(pilot__term=term, day=day).exists():
        raise ValidationError({"day": _("Meals are already recorded on %(day)s.") % {"day": day}})
    holiday = TermHoliday(term=term, day=day, reason=reason)
    holiday.full_clean()
    holiday.save()
    return holiday


@bureau_service
def term_close(*, term: NutritionTerm, by) -> NutritionTerm:
    term.is_closed = True
    term.save(update_fields=["is_closed"])
    return term


def _apply_coverage(pilot: PilotSchool) -> None:
    counts = count_covered(school=pilot.school, preschool_plan=pilot.preschool_plan)
    pilot.covered_preschool = counts[Stage.PRESCHOOL]
    pilot.covered_primary = counts[Stage.PRIMARY]
    pilot.covered_junior = counts[Stage.JUNIOR]
    pilot.covered_counted_on = timezone.localdate()


@bureau_service
def pilot_enrol(
    *,
    term: NutritionTerm,
    school: School,
    supply_mode: str,
    by,
    daily_standard: Decimal = Decimal("5.00"),
    preschool_plan: bool = False,
    preschool_yearly_standard: Decimal = Decimal("800.00"),
    planned_days: int = 100,
) -> PilotSchool:
    """Put a school into the plan for a term; its covered pupils are counted from the registry."""
    check_term_open(term)
    if not school.is_rural or not school.is_active:
        raise ValidationError({"school": _("Only rural schools in operation can join the plan.")})
    feeds_compulsory = any(stage in school.stages for stage in COMPULSORY_STAGES)
    if not feeds_compulsory and not (preschool_plan and Stage.PRESCHOOL in school.stages):
        raise ValidationError(
            {"school": _("The plan feeds compulsory-education pupils (and preschool pupils where it runs).")}
        )
    pilot = PilotSchool(
        term=term,
        school=school,
        supply_mode=supply_mode,
        daily_standard=daily_standard,
        preschool_plan=preschool_plan,
        preschool_yearly_standard=preschool_yearly_standard,
        planned_days=planned_days,
    )
    _apply_coverage(pilot)
    pilot.full_clean()
    pilot.save()
    return pilot


@bureau_service
def pilot_refresh_coverage(*, pilot: PilotSchool, by) -> PilotSchool:
    """Recount the covered pupils from the registry (after a transfer wave, before the term's report)."""
    check_term_open(pilot.term)
    _apply_coverage(pilot)
    pilot.save()
    return pilot


# --- Meals ----------------------------------------------------------------------------------------


def meal_problems(*, pilot: PilotSchool, day: date, stage: str, meals: int, holidays: set[date]) -> list[str]:
    """Every reason these meals cannot be recorded (used by the form, the API and the Excel import)."""
    problems = []
    problem = rules.school_day_problem(pilot.term, day, holidays)
    if problem:
        problems.append(problem)
    elif day > timezone.localdate():
        problems.append(_("%(day)s is in the future: meals are recorded once served.") % {"day": day})
    if stage not in (Stage.PRESCHOOL, Stage.PRIMARY, Stage.JUNIOR):
        problems.append(_("The plan serves meals to preschool, primary and junior pupils only."))
    elif stage == Stage.PRESCHOOL and not pilot.preschool_plan:
        problems.append(_("The preschool plan does not run at this school."))
    elif meals > pilot.covered_for(stage):
        problems.append(
            _("%(meals)s meals is more than the %(covered)s %(stage)s pupils covered.")
            % {"meals": meals, "covered": pilot.covered_for(stage), "stage": Stage(stage).label}
        )
    return problems


@recording_service
def meal_record(*, pilot: PilotSchool, day: date, stage: str, meals: Any, by) -> MealRecord:
    """Record (or correct) the meals served to one stage on one school day."""
    check_can_record(pilot=pilot, by=by)
    count = parse_meals(meals)
    holidays = set(pilot.term.holidays.values_list("day", flat=True))
    problems = meal_problems(pilot=pilot, day=day, stage=stage, meals=count, holidays=holidays)
    if problems:
        raise ValidationError({"meals": problems})
    record, _created = MealRecord.objects.update_or_create(
        pilot=pilot, day=day, stage=stage, defaults={"meals": count, "by": by}
    )
    return record


# --- Funds ----------------------------------------------------------------------------------------


@bureau_service
def receipt_add(*, pilot: PilotSchool, received_on: date, amount: Any, by, document: str = "") -> FundReceipt:
    check_can_record(pilot=pilot, by=by)
    receipt = FundReceipt(
        pilot=pilot, received_on=received_on, amount=parse_money(amount, "amount"), document=document, by=by
    )
    receipt.full_clean()
    receipt.save()
    return receipt


@recording_service
def purchase_add(
    *, pilot: PilotSchool, purchased_on: date, supplier: str, category: str, amount: Any, by, note: str = ""
) -> Purchase:
    """Record money spent. Forbidden categories are recorded (the books must be complete) and flagged."""
    check_can_record(pilot=pilot, by=by)
    value = parse_money(amount, "amount")
    closed = NutritionTerm.objects.filter(
        is_closed=True, start__lte=purchased_on, end__gte=purchased_on
    ).first()
    if closed is not None:
        raise ValidationError(
            {
                "purchased_on": _("%(day)s falls in the closed term %(term)s.")
                % {"day": purchased_on, "term": closed}
            }
        )
    if not pilot.term.contains(purchased_on):
        raise ValidationError(
            {
                "purchased_on": _("The purchase date is outside the term (%(start)s to %(end)s).")
                % {"start": pilot.term.start, "end": pilot.term.end}
            }
        )
    purchase = Purchase(
        pilot=pilot,
        purchased_on=purchased_on,
        supplier=supplier,
        category=category,
        amount=value,
        note=note,
        by=by,
    )
    purchase.full_clean()
    purchase.save()
    return purchase


# --- Accompanied meals and food safety ------------------------------------------------------------


@recording_service
def accompanied_add(*, pilot: PilotSchool, day: date, person: str, by, remark: str = "") -> AccompaniedMeal:
    check_can_record(pilot=pilot, by=by)
    holidays = set(pilot.term.holidays.values_list("day", flat=True))
    problem = rules.school_day_problem(pilot.term, day, holidays)
    if problem:
        raise ValidationError({"day": problem})
    if AccompaniedMeal.objects.filter(pilot=pilot, day=day, person=person).exists():
        raise ValidationError(
            {"person": _("%(person)s is already recorded on %(day)s.") % {"person": person, "day": day}}
        )
    item = AccompaniedMeal(pilot=pilot, day=day, person=person.strip(), remark=remark, by=by)
    item.full_clean()
    item.save()
    return item


@recording_service
def safety_check_add(
    *,
    pilot: PilotSchool,
    kind: str,
    day: date,
    checked_by: str,
    passed: bool,
    by,
    supplier: str = "",
    items: str = "",
    follow_up: str = "",
) -> SafetyCheck:
    check_can_record(pilot=pilot, by=by)
    if not passed and not follow_up.strip():
        raise ValidationError({"follow_up": _("A failed check needs a follow-up note.")})
    if kind == SafetyCheck.Kind.ACCEPTANCE and not supplier.strip():
        raise ValidationError({"supplier": _("An acceptance check names the supplier.")})
    if not pilot.term.contains(day):
        raise ValidationError({"day": _("The check date is outside the term.")})
    check = SafetyCheck(
        pilot=pilot,
        kind=kind,
        day=day,
        checked_by=checked_by,
        supplier=supplier,
        items=items,
        passed=passed,
        follow_up=follow_up.strip(),
        by=by,
    )
    check.full_clean()
    check.save()
    return check


@recording_service
def safety_follow_up(*, check: SafetyCheck, follow_up: str, by) -> SafetyCheck:
    check_can_record(pilot=check.pilot, by=by)
    if not follow_up.strip():
        raise ValidationError({"follow_up": _("A failed check needs a follow-up note.")})
    check.follow_up = follow_up.strip()
    check.full_clean()
    check.save(update_fields=["follow_up"])
    return check
