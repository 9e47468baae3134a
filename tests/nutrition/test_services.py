"""Writes of the plan: who may write, the rules, and that a refusal writes nothing."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from nutrition import rules, services
from nutrition.models import AccompaniedMeal, FundReceipt, MealRecord, PilotSchool, Purchase, SafetyCheck
from students.models import School, Stage, Student
from tests.factories import SchoolFactory, StudentFactory
from tests.nutrition.conftest import HOLIDAY, SCHOOL_DAY
from tests.refusals import nothing_written


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def messages(exc) -> str:
    return " ".join(exc.messages)


# --- Pilot schools ----------------------------------------------------------------------------------


def test_covered_pupils_are_counted_from_the_registry(pilot_a):
    assert (pilot_a.covered_primary, pilot_a.covered_junior, pilot_a.covered_preschool) == (6, 3, 0)
    assert pilot_a.covered_counted_on is not None


def test_pupils_who_left_are_not_covered(term, school_b, bureau):
    StudentFactory.create_batch(2, school=school_b)
    StudentFactory(school=school_b, status=Student.Status.TRANSFERRED_OUT)
    pilot = services.pilot_enrol(term=term, school=school_b, supply_mode="canteen", by=bureau)
    assert pilot.covered_primary == 2


def test_preschool_pupils_are_covered_only_where_the_preschool_plan_runs(term, school_b, bureau):
    StudentFactory.create_batch(2, school=school_b, stage=Stage.PRESCHOOL, grade=1)
    without = services.pilot_enrol(term=term, school=school_b, supply_mode="canteen", by=bureau)
    assert without.covered_preschool == 0
    without.delete()
    with_plan = services.pilot_enrol(
        term=term, school=school_b, supply_mode="canteen", preschool_plan=True, by=bureau
    )
    assert with_plan.covered_preschool == 2


def test_refresh_recounts_the_registry(pilot_a, school_a, bureau):
    StudentFactory(school=school_a)
    assert services.pilot_refresh_coverage(pilot=pilot_a, by=bureau).covered_primary == 7


def test_an_urban_school_cannot_join(term, bureau):
    school = SchoolFactory(is_rural=False)
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.pilot_enrol(term=term, school=school, supply_mode="canteen", by=bureau)
    assert "rural" in messages(exc.value)
    assert not PilotSchool.objects.exists()


def test_a_senior_high_school_cannot_join(term, bureau):
    school = SchoolFactory(school_type=School.Type.SENIOR_HIGH)
    with nothing_written(), pytest.raises(ValidationError):
        services.pilot_enrol(term=term, school=school, supply_mode="canteen", by=bureau)


def test_a_school_joins_a_term_once(pilot_a, term, school_a, bureau):
    with nothing_written(), pytest.raises(ValidationError):
        services.pilot_enrol(term=term, school=school_a, supply_mode="canteen", by=bureau)


def test_only_the_bureau_enrols_schools(term, school_a, principal_a):
    with nothing_written(), pytest.raises(PermissionDenied):
        services.pilot_enrol(term=term, school=school_a, supply_mode="canteen", by=principal_a)


# --- Meals ------------------------------------------------------------------------------------------


def test_principal_records_meals_for_own_school(pilot_a, principal_a):
    record = services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=6, by=principal_a)
    assert record.meals == 6 and record.by == principal_a


def test_recording_again_corrects_the_day(pilot_a, principal_a):
    services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=6, by=principal_a)
    services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=5, by=principal_a)
    assert MealRecord.objects.get().meals == 5


def test_meals_above_pupils_covered_are_refused(pilot_a, principal_a):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.JUNIOR, meals=4, by=principal_a)
    assert "more than the 3" in messages(exc.value)
    assert not MealRecord.objects.exists()


def test_meals_on_a_holiday_are_refused(pilot_a, principal_a):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.meal_record(pilot=pilot_a, day=HOLIDAY, stage=Stage.PRIMARY, meals=1, by=principal_a)
    assert "holiday" in messages(exc.value)
    assert not MealRecord.objects.exists()


@pytest.mark.parametrize("day", [date(2022, 8, 31), date(2023, 1, 16)])
def test_meals_outside_the_term_are_refused(pilot_a, principal_a, day):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.meal_record(pilot=pilot_a, day=day, stage=Stage.PRIMARY, meals=1, by=principal_a)
    assert "outside the term" in messages(exc.value)
    assert not MealRecord.objects.exists()


def test_meals_on_a_weekend_are_refused(pilot_a, principal_a):
    with nothing_written(), pytest.raises(ValidationError):
        services.meal_record(
            pilot=pilot_a, day=date(2022, 10, 15), stage=Stage.PRIMARY, meals=1, by=principal_a
        )


@pytest.mark.parametrize("meals", ["-1", "abc", "2.5", None, ""])
def test_bad_meal_counts_are_refused(pilot_a, principal_a, meals):
    with nothing_written(), pytest.raises(ValidationError):
        services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=meals, by=principal_a)
    assert not MealRecord.objects.exists()


def test_preschool_meals_need_the_preschool_plan(pilot_a, principal_a):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.PRESCHOOL, meals=0, by=principal_a)
    assert "preschool plan" in messages(exc.value)


def test_principal_cannot_record_for_another_school(pilot_b, principal_a):
    with nothing_written(), pytest.raises(PermissionDenied):
        services.meal_record(pilot=pilot_b, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=1, by=principal_a)
    assert not MealRecord.objects.exists()


@pytest.mark.parametrize("who", ["official", "township_officer"])
def test_reading_roles_cannot_record(pilot_a, who, request):
    user = request.getfixturevalue(who)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=1, by=user)


def test_nothing_changes_in_a_closed_term(pilot_a, principal_a, bureau, term):
    services.term_close(term=term, by=bureau)
    pilot_a.refresh_from_db()
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=1, by=principal_a)
    assert "closed" in messages(exc.value)


def test_a_holiday_cannot_be_added_over_recorded_meals(pilot_a, principal_a, bureau, term):
    services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=1, by=principal_a)
    with nothing_written(), pytest.raises(ValidationError):
        services.holiday_add(term=term, day=SCHOOL_DAY, by=bureau)


# --- Funds ------------------------------------------------------------------------------------------


def buy(pilot, by, **kw):
    fields = {
        "purchased_on": SCHOOL_DAY,
        "supplier": "绿源蔬菜合作社",
        "category": "vegetables",
        "amount": "120.50",
    }
    fields.update(kw)
    return services.purchase_add(pilot=pilot, by=by, **fields)


def test_principal_records_a_purchase(pilot_a, principal_a):
    assert buy(pilot_a, principal_a).amount == Decimal("120.50")


@pytest.mark.parametrize("amount", ["-5", "0", "abc", "1.234", "NaN", "Infinity", None])
def test_bad_purchase_amounts_are_refused(pilot_a, principal_a, amount):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        buy(pilot_a, principal_a, amount=amount)
    assert "amount" in exc.value.message_dict
    assert not Purchase.objects.exists()


def test_a_purchase_dated_in_a_closed_term_is_refused(pilot_a, principal_a, bureau, term):
    earlier = services.term_create(
        school_year=2022, season="spring", start=date(2022, 2, 14), end=date(2022, 6, 30), by=bureau
    )
    services.term_close(term=earlier, by=bureau)
    with nothing_written(), pytest.raises(ValidationError) as exc:
        buy(pilot_a, principal_a, purchased_on=date(2022, 6, 1))
    assert "closed term" in messages(exc.value)
    assert not Purchase.objects.exists()


def test_a_purchase_outside_the_term_is_refused(pilot_a, principal_a):
    with nothing_written(), pytest.raises(ValidationError):
        buy(pilot_a, principal_a, purchased_on=date(2023, 2, 1))


def test_a_purchase_in_an_unknown_category_is_refused(pilot_a, principal_a):
    with nothing_written(), pytest.raises(ValidationError):
        buy(pilot_a, principal_a, category="cigarettes")


def test_principal_cannot_buy_for_another_school(pilot_b, principal_a):
    with nothing_written(), pytest.raises(PermissionDenied):
        buy(pilot_b, principal_a)


def test_only_the_bureau_records_receipts(pilot_a, principal_a, bureau):
    with nothing_written(), pytest.raises(PermissionDenied):
        services.receipt_add(pilot=pilot_a, received_on=SCHOOL_DAY, amount="1000", by=principal_a)
    services.receipt_add(pilot=pilot_a, received_on=SCHOOL_DAY, amount="1000", by=bureau)
    assert FundReceipt.objects.get().amount == Decimal("1000.00")


def test_negative_receipt_is_refused(pilot_a, bureau):
    with nothing_written(), pytest.raises(ValidationError):
        services.receipt_add(pilot=pilot_a, received_on=SCHOOL_DAY, amount="-1000", by=bureau)


def test_reconciliation_of_a_pilot(pilot_a, principal_a, bureau):
    services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=6, by=principal_a)
    services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.JUNIOR, meals=3, by=principal_a)
    services.receipt_add(pilot=pilot_a, received_on=SCHOOL_DAY, amount="50", by=bureau)
    buy(pilot_a, principal_a, amount="30")
    buy(pilot_a, principal_a, amount="10", category="staff_meals", supplier="饭店")
    result = rules.reconcile(pilot_a)
    assert result.entitled == Decimal("45.00")  # 9 meals × 5 yuan
    assert (result.received, result.spent, result.forbidden) == (Decimal("50"), Decimal("40"), Decimal("10"))
    assert result.food_spent == Decimal("30")
    assert set(result.flags) == {rules.UNDERSPEND, rules.DIVERSION}


def test_county_reconciliation_sums_the_schools(pilot_a, pilot_b, principal_a, bureau):
    services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=6, by=principal_a)
    services.meal_record(pilot=pilot_b, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=4, by=bureau)
    buy(pilot_a, principal_a, amount="40")
    buy(pilot_b, bureau, amount="20")
    total = rules.reconcile_all(PilotSchool.objects.with_totals())
    assert total.schools == 2
    assert total.entitled == Decimal("50.00") and total.spent == Decimal("60.00")
    assert total.overspend_schools == 1 and total.short_funded_schools == 2


# --- Accompanied meals and safety ---------------------------------------------------------------


def test_principal_records_an_accompanied_meal(pilot_a, principal_a):
    item = services.accompanied_add(
        pilot=pilot_a, day=SCHOOL_DAY, person="张校长", remark="菜品偏咸", by=principal_a
    )
    assert item.pk and item.remark == "菜品偏咸"


def test_the_same_person_is_recorded_once_a_day(pilot_a, principal_a):
    services.accompanied_add(pilot=pilot_a, day=SCHOOL_DAY, person="张校长", by=principal_a)
    with nothing_written(), pytest.raises(ValidationError):
        services.accompanied_add(pilot=pilot_a, day=SCHOOL_DAY, person="张校长", by=principal_a)
    assert AccompaniedMeal.objects.count() == 1


def test_accompanied_meal_on_a_holiday_is_refused(pilot_a, principal_a):
    with nothing_written(), pytest.raises(ValidationError):
        services.accompanied_add(pilot=pilot_a, day=HOLIDAY, person="张校长", by=principal_a)


def test_a_failed_check_needs_a_follow_up(pilot_a, principal_a):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.safety_check_add(
            pilot=pilot_a, kind="storage", day=SCHOOL_DAY, checked_by="李师傅", passed=False, by=principal_a
        )
    assert "follow_up" in exc.value.message_dict
    assert not SafetyCheck.objects.exists()


def test_a_failed_check_with_follow_up_is_kept(pilot_a, principal_a):
    check = services.safety_check_add(
        pilot=pilot_a,
        kind="acceptance",
        day=SCHOOL_DAY,
        checked_by="李师傅",
        supplier="鲜肉店",
        items="猪肉 20斤",
        passed=False,
        follow_up="退货，更换供应商",
        by=principal_a,
    )
    assert not check.passed and check.follow_up


def test_acceptance_names_the_supplier(pilot_a, principal_a):
    with nothing_written(), pytest.raises(ValidationError):
        services.safety_check_add(
            pilot=pilot_a, kind="acceptance", day=SCHOOL_DAY, checked_by="李师傅", passed=True, by=principal_a
        )


def test_the_database_refuses_a_failed_check_without_follow_up(pilot_a):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        SafetyCheck.objects.create(pilot=pilot_a, kind="sample", day=SCHOOL_DAY, checked_by="x", passed=False)


def test_changes_are_kept_in_history(pilot_a, principal_a):
    from portal.history import history_for

    record = services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=6, by=principal_a)
    services.meal_record(pilot=pilot_a, day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=5, by=principal_a)
    changes = history_for(record)
    assert len(changes) == 2
    update = next(c for c in changes if c.label == "update")
    assert update.diff["meals"] == [6, 5]
