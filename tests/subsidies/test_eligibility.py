"""The rule book: every row of the Pengshui 2022 table, its exclusions, and dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from students.models import Stage, Student
from subsidies import eligibility, pengshui
from subsidies.eligibility import Code
from subsidies.models import AidPolicy, AidType, PayeeKind

ON = date(2022, 9, 1)
PA = "poverty_alleviated"
DIBAO = "dibao"
EXTREME = "extreme_hardship"
ORPHAN = "orphan"
DISABLED = "disabled"
MARTYR = "martyr_child"
UNSTABLE = "unstable"
MARGINAL = "marginal"
SUDDEN = "sudden_hardship"


def granted(student, on=ON, **kwargs) -> dict[str, tuple[Decimal, str]]:
    """The aids paid: eligible with a known amount (the compulsory waivers whose fee the county has not
    entered are eligible but not payable: tests/subsidies/test_pengshui_rows.py)."""
    return {
        d.aid_type: (d.amount_per_term, d.payee)
        for d in eligibility.eligible_aids(student, on, **kwargs)
        if d.payable
    }


def qualifies(student, on=ON, **kwargs) -> set[str]:
    return {d.aid_type for d in eligibility.eligible_aids(student, on, **kwargs)}


def code_for(student, aid_type, on=ON) -> set[str]:
    return {d.code for d in eligibility.evaluate(student, on) if d.aid_type == aid_type}


def test_default_table_is_loaded(db):
    # Pengshui's table and the 雨露计划 row (the rural-revitalisation bureau's, loaded with it).
    assert (
        AidPolicy.objects.count()
        == len(pengshui.ROWS) + len(pengshui.YULU_PLAN_ROWS)
        == len(pengshui.ROWS) + 1
    )
    assert AidPolicy.objects.filter(aid_type=AidType.YULU_PLAN, stage="vocational").count() == 1
    assert AidPolicy.objects.get(aid_type=AidType.BOARDER_ALLOWANCE, stage="junior").amount == Decimal(
        "1250.00"
    )


# --- Preschool -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("category", [PA, DIBAO, ORPHAN, DISABLED, EXTREME])
def test_preschool_needy_categories_get_fee_waiver_to_school(make_student, category):
    student = make_student(Stage.PRESCHOOL, categories=[category], rural=False)
    aids = granted(student)
    assert aids[AidType.PRESCHOOL_FEE_WAIVER] == (Decimal("750.00"), PayeeKind.SCHOOL)
    assert aids[AidType.PRESCHOOL_LIVING] == (Decimal("330.00"), PayeeKind.SCHOOL)


@pytest.mark.parametrize("category", [UNSTABLE, MARGINAL, SUDDEN, MARTYR])
def test_preschool_other_categories_get_no_fee_waiver(make_student, category):
    student = make_student(Stage.PRESCHOOL, categories=[category], rural=False)
    assert granted(student) == {}
    assert code_for(student, AidType.PRESCHOOL_FEE_WAIVER) == {Code.NO_CATEGORY}


def test_preschool_living_allowance_goes_to_the_person_without_meals(make_student):
    student = make_student(Stage.PRESCHOOL, categories=[PA], rural=False, canteen=False)
    assert granted(student)[AidType.PRESCHOOL_LIVING] == (Decimal("330.00"), PayeeKind.PERSON)


def test_preschool_nutrition_800_replaces_living_660_in_rural_kindergartens(make_student):
    student = make_student(Stage.PRESCHOOL, categories=[DIBAO], rural=True)
    aids = granted(student)
    assert aids[AidType.PRESCHOOL_NUTRITION] == (Decimal("400.00"), PayeeKind.SCHOOL)
    assert AidType.PRESCHOOL_LIVING not in aids
    assert aids[AidType.PRESCHOOL_FEE_WAIVER] == (Decimal("750.00"), PayeeKind.SCHOOL)
    assert code_for(student, AidType.PRESCHOOL_LIVING) == {Code.SUPERSEDED}


def test_rural_preschool_child_without_category_gets_nutrition_only(make_student):
    student = make_student(Stage.PRESCHOOL, rural=True)
    assert granted(student) == {AidType.PRESCHOOL_NUTRITION: (Decimal("400.00"), PayeeKind.SCHOOL)}


def test_urban_preschool_child_without_category_gets_nothing(make_student):
    student = make_student(Stage.PRESCHOOL, rural=False)
    assert granted(student) == {}
    assert code_for(student, AidType.PRESCHOOL_NUTRITION) == {Code.NOT_RURAL}


# --- Compulsory education --------------------------------------------------------------------------------


@pytest.mark.parametrize("category", [PA, DIBAO, DISABLED, ORPHAN, EXTREME, MARTYR])
@pytest.mark.parametrize(("stage", "half"), [(Stage.PRIMARY, "500.00"), (Stage.JUNIOR, "625.00")])
def test_boarder_allowance_for_each_category(make_student, category, stage, half):
    student = make_student(stage, categories=[category], boarding=True, rural=False)
    assert granted(student)[AidType.BOARDER_ALLOWANCE] == (Decimal(half), PayeeKind.PERSON)
    assert AidType.NON_BOARDER_ALLOWANCE not in granted(student)


@pytest.mark.parametrize("category", [UNSTABLE, MARGINAL, SUDDEN])
def test_monitored_household_boarders_get_the_boarder_allowance(make_student, category):
    """ "…烈士家庭子女等经济困难学生": the list is open (issue 12; this test asserted the opposite before)."""
    student = make_student(Stage.PRIMARY, categories=[category], boarding=True, rural=False)
    assert granted(student) == {AidType.BOARDER_ALLOWANCE: (Decimal("500.00"), PayeeKind.PERSON)}
    assert code_for(student, AidType.NON_BOARDER_ALLOWANCE) == {Code.BOARDING}


@pytest.mark.parametrize("category", [DIBAO, DISABLED, ORPHAN, EXTREME, MARTYR, UNSTABLE, MARGINAL, SUDDEN])
@pytest.mark.parametrize(("stage", "half"), [(Stage.PRIMARY, "250.00"), (Stage.JUNIOR, "312.50")])
def test_non_boarder_allowance_for_difficulty_students_other_than_poverty_alleviated(
    make_student, category, stage, half
):
    student = make_student(stage, categories=[category], boarding=False, rural=False)
    assert granted(student) == {AidType.NON_BOARDER_ALLOWANCE: (Decimal(half), PayeeKind.PERSON)}


@pytest.mark.parametrize(("stage", "half"), [(Stage.PRIMARY, "600.00"), (Stage.JUNIOR, "700.00")])
def test_poverty_alleviated_non_boarder_gets_free_lunch_to_canteen_not_allowance(make_student, stage, half):
    student = make_student(stage, categories=[PA], boarding=False, rural=False)
    assert granted(student) == {AidType.FREE_LUNCH: (Decimal(half), PayeeKind.CANTEEN)}
    assert code_for(student, AidType.NON_BOARDER_ALLOWANCE) == {Code.EXCLUDED}
    assert code_for(student, AidType.BOARDER_ALLOWANCE) == {Code.BOARDING}


def test_poverty_alleviated_and_dibao_non_boarder_is_still_excluded_from_allowance(make_student):
    student = make_student(Stage.PRIMARY, categories=[PA, DIBAO], boarding=False, rural=False)
    assert set(granted(student)) == {AidType.FREE_LUNCH}


def test_poverty_alleviated_boarder_gets_allowance_not_free_lunch(make_student):
    student = make_student(Stage.JUNIOR, categories=[PA], boarding=True, rural=True)
    aids = granted(student)
    assert aids[AidType.BOARDER_ALLOWANCE] == (Decimal("625.00"), PayeeKind.PERSON)
    assert aids[AidType.NUTRITION_PLAN] == (Decimal("500.00"), PayeeKind.SCHOOL)
    assert AidType.FREE_LUNCH not in aids


def test_free_lunch_includes_the_nutrition_plan_in_rural_schools(make_student):
    student = make_student(Stage.PRIMARY, categories=[PA], boarding=False, rural=True)
    aids = granted(student)
    # 6 yuan a day x 200 days = 1,200 a year, of which the nutrition plan's 1,000 is part: not paid twice.
    assert aids == {AidType.FREE_LUNCH: (Decimal("600.00"), PayeeKind.CANTEEN)}
    assert code_for(student, AidType.NUTRITION_PLAN) == {Code.SUPERSEDED}


@pytest.mark.parametrize("stage", [Stage.PRIMARY, Stage.JUNIOR])
def test_every_rural_pupil_gets_the_nutrition_plan(make_student, stage):
    student = make_student(stage, rural=True)
    assert granted(student) == {AidType.NUTRITION_PLAN: (Decimal("500.00"), PayeeKind.SCHOOL)}


def test_urban_pupil_without_category_gets_nothing(make_student):
    assert granted(make_student(Stage.PRIMARY, rural=False)) == {}


# --- Senior high ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("category", [PA, DIBAO, DISABLED, EXTREME, ORPHAN])
def test_senior_tuition_waiver_and_first_tier_grant(make_student, category):
    student = make_student(Stage.SENIOR, categories=[category])
    # The tuition is the school's fee, which the paper does not give: eligible, paid once the county enters it.
    assert AidType.TUITION_WAIVER in qualifies(student)
    assert granted(student)[AidType.NATIONAL_GRANT] == (Decimal("1500.00"), PayeeKind.PERSON)


@pytest.mark.parametrize(
    ("category", "gets_textbooks"),
    [(PA, True), (DIBAO, True), (EXTREME, True), (DISABLED, False), (ORPHAN, False)],
)
def test_senior_textbook_waiver_only_for_pa_dibao_extreme(make_student, category, gets_textbooks):
    aids = qualifies(make_student(Stage.SENIOR, categories=[category]))
    assert (AidType.TEXTBOOK_WAIVER in aids) is gets_textbooks


@pytest.mark.parametrize("category", [UNSTABLE, MARGINAL, SUDDEN, MARTYR])
def test_senior_other_difficulty_students_get_second_tier_grant_only(make_student, category):
    aids = granted(make_student(Stage.SENIOR, categories=[category]))
    assert aids == {AidType.NATIONAL_GRANT: (Decimal("500.00"), PayeeKind.PERSON)}


def test_grant_tiers_are_exclusive_the_higher_applies(make_student):
    student = make_student(Stage.SENIOR, categories=[PA, UNSTABLE])
    assert granted(student)[AidType.NATIONAL_GRANT] == (Decimal("1500.00"), PayeeKind.PERSON)
    codes = {
        d.policy.tier: d.code
        for d in eligibility.evaluate(student, ON)
        if d.aid_type == AidType.NATIONAL_GRANT
    }
    assert codes == {1: Code.MATCHED, 2: Code.LOWER_TIER}


def test_senior_textbook_waiver_stops_after_three_years(make_student):
    student = make_student(Stage.SENIOR, categories=[PA], grade=3)
    assert AidType.TEXTBOOK_WAIVER in qualifies(student, terms_received={AidType.TEXTBOOK_WAIVER: 5})
    assert AidType.TEXTBOOK_WAIVER not in qualifies(student, terms_received={AidType.TEXTBOOK_WAIVER: 6})


# --- Secondary vocational -------------------------------------------------------------------------------


def test_every_vocational_student_has_tuition_waived(make_student):
    assert qualifies(make_student(Stage.VOCATIONAL, grade=3)) == {AidType.TUITION_WAIVER}


def test_the_yulu_plan_is_for_vocational_children_of_poverty_alleviated_and_monitored_households(
    make_student,
):
    assert AidType.YULU_PLAN in qualifies(make_student(Stage.VOCATIONAL, categories=[PA], grade=3))
    assert AidType.YULU_PLAN in qualifies(make_student(Stage.VOCATIONAL, categories=[MARGINAL], grade=2))
    assert AidType.YULU_PLAN not in qualifies(make_student(Stage.VOCATIONAL, categories=[DIBAO], grade=1))
    assert AidType.YULU_PLAN not in qualifies(make_student(Stage.SENIOR, categories=[PA], grade=1))


def test_vocational_needy_boarder_in_first_year(make_student):
    student = make_student(Stage.VOCATIONAL, categories=[PA], boarding=True, grade=1)
    assert qualifies(student) == {
        AidType.TUITION_WAIVER,
        AidType.ACCOMMODATION_WAIVER,
        AidType.TEXTBOOK_WAIVER,
        AidType.NATIONAL_GRANT,
        AidType.YULU_PLAN,  # a vocational 脱贫户 child: the rural-revitalisation bureau's 雨露计划 as well
    }
    # The fees are the county's to enter; the grant and the 雨露计划 (3,000 a year) are known.
    assert granted(student) == {
        AidType.NATIONAL_GRANT: (Decimal("1500.00"), PayeeKind.PERSON),
        AidType.YULU_PLAN: (Decimal("1500.00"), PayeeKind.PERSON),
    }


def test_vocational_grant_only_in_years_one_and_two(make_student):
    student = make_student(Stage.VOCATIONAL, categories=[PA], grade=3)
    assert AidType.NATIONAL_GRANT not in granted(student)
    assert code_for(student, AidType.NATIONAL_GRANT) == {Code.GRADE}


def test_vocational_second_tier_grant(make_student):
    assert granted(make_student(Stage.VOCATIONAL, categories=[MARGINAL], grade=2))[
        AidType.NATIONAL_GRANT
    ] == (
        Decimal("1000.00"),
        PayeeKind.PERSON,
    )


def test_accommodation_waiver_needs_boarding_and_stops_after_five_terms(make_student):
    day_student = make_student(Stage.VOCATIONAL, categories=[DIBAO], boarding=False)
    assert code_for(day_student, AidType.ACCOMMODATION_WAIVER) == {Code.BOARDING}
    boarder = make_student(Stage.VOCATIONAL, categories=[DIBAO], boarding=True, grade=3)
    assert AidType.ACCOMMODATION_WAIVER in qualifies(
        boarder, terms_received={AidType.ACCOMMODATION_WAIVER: 4}
    )
    decisions = eligibility.evaluate(boarder, ON, terms_received={AidType.ACCOMMODATION_WAIVER: 5})
    refused = [d for d in decisions if d.aid_type == AidType.ACCOMMODATION_WAIVER]
    assert [d.code for d in refused] == [Code.DURATION]


# --- Dates, status, explanations ------------------------------------------------------------------------


def test_category_lapsed_before_the_date_does_not_count(make_student):
    student = make_student(Stage.PRIMARY, categories=[DIBAO], rural=False, until=date(2022, 6, 30))
    assert AidType.NON_BOARDER_ALLOWANCE in granted(student, on=date(2022, 3, 1))
    assert granted(student, on=ON) == {}


def test_category_starting_after_the_date_does_not_count(make_student):
    student = make_student(Stage.PRIMARY, categories=[DIBAO], rural=False, since=date(2022, 10, 1))
    assert granted(student, on=ON) == {}


def test_no_policy_before_the_table_took_effect(make_student):
    student = make_student(Stage.PRIMARY, categories=[DIBAO], rural=False)
    assert eligibility.evaluate(student, date(2021, 9, 1)) == []


def test_a_new_standard_applies_from_its_date_and_the_old_one_before(make_student):
    old = AidPolicy.objects.get(aid_type=AidType.NON_BOARDER_ALLOWANCE, stage=Stage.PRIMARY)
    old.valid_to = date(2023, 8, 31)
    old.save()
    AidPolicy.objects.create(
        aid_type=AidType.NON_BOARDER_ALLOWANCE,
        stage=Stage.PRIMARY,
        categories=old.categories,
        excluded_categories=old.excluded_categories,
        boarding="non_boarder",
        amount=Decimal("600.00"),
        valid_from=date(2023, 9, 1),
    )
    student = make_student(Stage.PRIMARY, categories=[DIBAO], rural=False)
    assert granted(student, on=date(2023, 3, 1))[AidType.NON_BOARDER_ALLOWANCE][0] == Decimal("250.00")
    assert granted(student, on=date(2023, 9, 1))[AidType.NON_BOARDER_ALLOWANCE][0] == Decimal("300.00")


def test_students_who_left_get_nothing(make_student):
    student = make_student(Stage.PRIMARY, categories=[DIBAO], status=Student.Status.SUSPENDED)
    assert granted(student) == {}
    assert {d.code for d in eligibility.evaluate(student, ON)} == {Code.NOT_ENROLLED}


def test_special_education_stage_has_the_compulsory_rows(make_student):
    """Issue 12: special-education pupils had no rows at all (tests/subsidies/test_pengshui_rows.py)."""
    student = make_student(Stage.SPECIAL, categories=[PA], boarding=True, rural=False, grade=4)
    assert granted(student) == {AidType.BOARDER_ALLOWANCE: (Decimal("500.00"), PayeeKind.PERSON)}


def test_decision_names_the_category_and_rule(make_student):
    student = make_student(Stage.JUNIOR, categories=[ORPHAN], boarding=True, rural=False)
    decision = eligibility.decide(student, AidType.BOARDER_ALLOWANCE, ON)
    assert decision.category == ORPHAN
    assert "孤儿" in decision.reason
    assert "寄宿生生活补助" in decision.reason
    assert "625.00" in decision.reason


def test_why_not_explains_the_exclusion(make_student):
    student = make_student(Stage.PRIMARY, categories=[PA], boarding=False, rural=False)
    (reason,) = eligibility.why_not(student, AidType.NON_BOARDER_ALLOWANCE, ON)
    assert reason.code == Code.EXCLUDED
    assert "脱贫户" in reason.reason


def test_amounts_are_decimal_to_the_fen(make_student):
    for decision in eligibility.eligible_aids(
        make_student(Stage.JUNIOR, categories=[DIBAO], rural=False), ON
    ):
        if not decision.payable:
            continue
        assert isinstance(decision.amount_per_term, Decimal)
        assert decision.amount_per_term.as_tuple().exponent == -2


# --- Every row of the table, generically: the student it is written for gets it; each condition bites --------

TABLE = [r for r in pengshui.ROWS if r["stage"] not in ("higher", "postgraduate")]


def _row_id(row) -> str:
    grades = f"-{row['grade_min']}" if row["grade_min"] else ""
    return f"{row['stage']}-{row['aid_type']}-{row['tier']}{grades}"


def _policy(row) -> AidPolicy:
    return AidPolicy.objects.get(
        aid_type=row["aid_type"], stage=row["stage"], tier=row["tier"], grade_min=row["grade_min"]
    )


def _student_for(make_student, row, **override):
    fields = {
        "categories": row["categories"][:1],
        "boarding": row["boarding"] == "boarder",
        "rural": row["rural_only"],
        "grade": row["grade_min"] or 1,
        "is_agricultural_major": row["agricultural_only"],
    }
    fields.update(override)
    return make_student(row["stage"], **fields)


@pytest.mark.parametrize("row", TABLE, ids=_row_id)
def test_each_row_grants_its_standard_to_the_student_it_describes(make_student, row):
    policy = _policy(row)
    decision = eligibility.decide(_student_for(make_student, row), row["aid_type"], ON)
    assert decision is not None
    assert decision.policy == policy
    if policy.amount is None:  # the county enters it: eligible, not payable
        assert decision.amount_per_term is None and not decision.payable
    elif policy.fee_capped:  # the school's actual fee (1,800 in these tests), at most the amount
        assert decision.amount_per_term == (min(policy.amount_per_year, Decimal("1800")) / 2).quantize(
            Decimal("0.01")
        )
    else:
        assert decision.amount_per_term == (policy.amount_per_year / 2).quantize(Decimal("0.01"))
    assert decision.category == (row["categories"][0] if row["categories"] else "")


@pytest.mark.parametrize("row", [r for r in TABLE if r["categories"]], ids=_row_id)
def test_each_row_with_categories_refuses_a_student_without_one(make_student, row):
    student = _student_for(make_student, row, categories=[])
    codes = {d.code for d in eligibility.evaluate(student, ON) if d.policy == _policy(row)}
    assert codes == {Code.NO_CATEGORY}


@pytest.mark.parametrize("row", [r for r in TABLE if r["boarding"] != "any"], ids=_row_id)
def test_each_row_with_a_boarding_condition_refuses_the_other_kind(make_student, row):
    student = _student_for(make_student, row, boarding=row["boarding"] != "boarder")
    codes = {d.code for d in eligibility.evaluate(student, ON) if d.policy == _policy(row)}
    assert codes == {Code.BOARDING}


@pytest.mark.parametrize("row", [r for r in TABLE if r["rural_only"]], ids=_row_id)
def test_each_rural_row_refuses_urban_schools(make_student, row):
    student = _student_for(make_student, row, rural=False)
    codes = {d.code for d in eligibility.evaluate(student, ON) if d.policy == _policy(row)}
    assert codes == {Code.NOT_RURAL}


@pytest.mark.parametrize("row", [r for r in TABLE if r["max_terms"]], ids=_row_id)
def test_each_duration_limit_refuses_after_the_last_term(make_student, row):
    student = _student_for(make_student, row)
    received = {row["aid_type"]: row["max_terms"]}
    codes = {
        d.code for d in eligibility.evaluate(student, ON, terms_received=received) if d.policy == _policy(row)
    }
    assert codes == {Code.DURATION}
