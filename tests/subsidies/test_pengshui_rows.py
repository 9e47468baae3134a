"""Issue 12, "The Pengshui table, row by row against the seed": every row of the 2022 paper is in the rule
book, and what the paper does not give is the county's to enter before any batch can pay it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from students.models import Stage, StudentCategory
from subsidies import eligibility, services
from subsidies.eligibility import Code
from subsidies.models import AidPolicy, AidType, DisbursementBatch, PayeeKind, Term

ON = date(2022, 9, 1)
PA, DIBAO, DISABLED = "poverty_alleviated", "dibao", "disabled"
UNSTABLE, MARGINAL, SUDDEN = "unstable", "marginal", "sudden_hardship"


def granted(student, on=ON):
    return {d.aid_type: d for d in eligibility.eligible_aids(student, on)}


def row(aid_type, stage, **kw):
    return AidPolicy.objects.get(aid_type=aid_type, stage=stage, valid_to__isnull=True, **kw)


# --- compulsory education: 免学杂费, free textbooks, junior 教辅, exercise books ---------------------------


@pytest.mark.parametrize("stage", [Stage.PRIMARY, Stage.JUNIOR])
def test_compulsory_fee_and_textbook_waivers_are_rows_for_every_pupil(db, stage):
    for aid_type in (AidType.MISC_FEE_WAIVER, AidType.TEXTBOOK_WAIVER):
        policy = row(aid_type, stage)
        assert policy.categories == []
        assert policy.amount is None  # the paper gives no figure: the county enters it


def test_junior_study_materials_and_exercise_books_for_difficulty_students(db):
    assert row(AidType.STUDY_MATERIALS, Stage.JUNIOR).categories == []
    assert not AidPolicy.objects.filter(aid_type=AidType.STUDY_MATERIALS, stage=Stage.PRIMARY).exists()
    for stage in (Stage.PRIMARY, Stage.JUNIOR):
        books = row(AidType.EXERCISE_BOOKS, stage)
        assert set(books.categories) == set(StudentCategory.DIFFICULTY)


def test_a_pupil_qualifies_for_the_waivers_but_they_cannot_be_paid_until_entered(make_student):
    student = make_student(Stage.JUNIOR, categories=[DIBAO], rural=False)
    aids = granted(student)
    for aid_type in (
        AidType.MISC_FEE_WAIVER,
        AidType.TEXTBOOK_WAIVER,
        AidType.STUDY_MATERIALS,
        AidType.EXERCISE_BOOKS,
    ):
        assert aids[aid_type].amount_per_term is None
        assert not aids[aid_type].payable
    assert aids[AidType.NON_BOARDER_ALLOWANCE].payable


# --- the boarder allowance: "…烈士家庭子女等经济困难学生" -------------------------------------------------


@pytest.mark.parametrize("category", [UNSTABLE, MARGINAL, SUDDEN])
@pytest.mark.parametrize(("stage", "half"), [(Stage.PRIMARY, "500.00"), (Stage.JUNIOR, "625.00")])
def test_monitored_household_boarders_get_the_boarder_allowance(make_student, category, stage, half):
    student = make_student(stage, categories=[category], boarding=True, rural=False)
    decision = granted(student)[AidType.BOARDER_ALLOWANCE]
    assert (decision.amount_per_term, decision.category) == (Decimal(half), category)


# --- vocational: 涉农专业 -------------------------------------------------------------------------------------


def test_an_agricultural_major_gets_the_vocational_grant_without_a_category(make_student):
    student = make_student(Stage.VOCATIONAL, grade=1, is_agricultural_major=True, major="现代农艺技术")
    decision = granted(student)[AidType.NATIONAL_GRANT]
    assert decision.amount_per_term == Decimal("1000.00")
    assert decision.payee == PayeeKind.PERSON


def test_a_non_agricultural_major_without_category_gets_no_grant(make_student):
    student = make_student(Stage.VOCATIONAL, grade=1, major="计算机应用")
    assert AidType.NATIONAL_GRANT not in granted(student)


def test_an_agricultural_major_in_third_year_gets_no_grant(make_student):
    student = make_student(Stage.VOCATIONAL, grade=3, is_agricultural_major=True)
    assert AidType.NATIONAL_GRANT not in granted(student)


def test_a_poverty_alleviated_agricultural_major_gets_the_higher_tier(make_student):
    student = make_student(Stage.VOCATIONAL, grade=2, is_agricultural_major=True, categories=[PA])
    assert granted(student)[AidType.NATIONAL_GRANT].amount_per_term == Decimal("1500.00")


def test_only_vocational_students_have_an_agricultural_major(make_student):
    student = make_student(Stage.PRIMARY)
    student.is_agricultural_major = True
    with pytest.raises(ValidationError) as exc:
        student.full_clean()
    assert "is_agricultural_major" in exc.value.message_dict


# --- special education -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("grade", "half"), [(3, "500.00"), (8, "625.00")])
def test_a_disabled_boarder_in_a_special_school_gets_the_boarder_allowance(make_student, grade, half):
    student = make_student(Stage.SPECIAL, categories=[DISABLED], boarding=True, rural=False, grade=grade)
    assert granted(student)[AidType.BOARDER_ALLOWANCE].amount_per_term == Decimal(half)


def test_a_disabled_day_pupil_in_a_special_school_gets_the_non_boarder_allowance(make_student):
    student = make_student(Stage.SPECIAL, categories=[DISABLED], boarding=False, rural=False, grade=2)
    assert granted(student)[AidType.NON_BOARDER_ALLOWANCE].amount_per_term == Decimal("250.00")


def test_special_rows_are_marked_as_the_county_reading(db):
    for policy in AidPolicy.objects.filter(stage=Stage.SPECIAL):
        assert "县" in policy.note, policy


# --- preschool ----------------------------------------------------------------------------------------------


def test_preschool_fee_waiver_is_the_actual_fee_up_to_1500(make_student):
    from tests.factories import SchoolFactory

    cheap = SchoolFactory(school_type="kindergarten", is_rural=False, preschool_fee=Decimal("1200"))
    dear = SchoolFactory(school_type="kindergarten", is_rural=False, preschool_fee=Decimal("2400"))
    assert granted(make_student(Stage.PRESCHOOL, categories=[PA], school=cheap))[
        AidType.PRESCHOOL_FEE_WAIVER
    ].amount_per_term == Decimal("600.00")
    assert granted(make_student(Stage.PRESCHOOL, categories=[PA], school=dear))[
        AidType.PRESCHOOL_FEE_WAIVER
    ].amount_per_term == Decimal("750.00")


def test_preschool_fee_waiver_without_a_recorded_fee_is_not_paid_as_1500(make_student, bureau):
    from tests.factories import SchoolFactory

    unknown = SchoolFactory(school_type="kindergarten", is_rural=False, preschool_fee=None)
    student = make_student(Stage.PRESCHOOL, categories=[PA], school=unknown)
    decision = granted(student)[AidType.PRESCHOOL_FEE_WAIVER]
    assert decision.amount_per_term is None and not decision.payable
    assert "保教费" in decision.reason
    batch = services.batch_generate(
        aid_type=AidType.PRESCHOOL_FEE_WAIVER, school_year=2022, term=Term.AUTUMN, by=bureau
    )
    assert not batch.payments.filter(student=student).exists()


def test_preschool_nutrition_800_needs_a_rural_inclusive_kindergarten(make_student):
    from tests.factories import SchoolFactory

    inclusive = SchoolFactory(school_type="kindergarten", is_rural=True, is_inclusive=True)
    other = SchoolFactory(school_type="kindergarten", is_rural=True, is_inclusive=False)
    assert AidType.PRESCHOOL_NUTRITION in granted(make_student(Stage.PRESCHOOL, school=inclusive))
    child = make_student(Stage.PRESCHOOL, school=other, categories=[DIBAO])
    aids = granted(child)
    assert AidType.PRESCHOOL_NUTRITION not in aids
    assert AidType.PRESCHOOL_LIVING in aids  # the 660 living allowance, not replaced where 800 does not run
    codes = {d.code for d in eligibility.evaluate(child, ON) if d.aid_type == AidType.PRESCHOOL_NUTRITION}
    assert codes == {Code.NOT_INCLUSIVE}


# --- amounts the paper does not give --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("aid_type", "stage"),
    [
        (AidType.TUITION_WAIVER, Stage.SENIOR),
        (AidType.TEXTBOOK_WAIVER, Stage.SENIOR),
        (AidType.TUITION_WAIVER, Stage.VOCATIONAL),
        (AidType.TEXTBOOK_WAIVER, Stage.VOCATIONAL),
        (AidType.ACCOMMODATION_WAIVER, Stage.VOCATIONAL),
    ],
)
def test_fee_rows_the_paper_gives_no_figure_for_have_no_amount(db, aid_type, stage):
    assert row(aid_type, stage).amount is None


def test_a_batch_refuses_an_aid_type_whose_amount_is_unset(bureau, make_student):
    make_student(Stage.SENIOR, categories=[PA])
    with pytest.raises(ValidationError) as exc:
        services.batch_generate(
            aid_type=AidType.TUITION_WAIVER, school_year=2022, term=Term.AUTUMN, by=bureau
        )
    message = " ".join(exc.value.messages)
    assert "免学费" in message and "金额" in message, message
    assert not DisbursementBatch.objects.exists()


def test_once_the_county_enters_the_amount_the_batch_draws(bureau, make_student):
    student = make_student(Stage.SENIOR, categories=[PA])
    for stage in (Stage.SENIOR, Stage.VOCATIONAL):
        services.policy_update(policy=row(AidType.TUITION_WAIVER, stage), amount=Decimal("1600"), by=bureau)
    batch = services.batch_generate(
        aid_type=AidType.TUITION_WAIVER, school_year=2022, term=Term.AUTUMN, by=bureau
    )
    assert batch.payments.get().student == student
    assert batch.payments.get().amount == Decimal("800.00")


# --- through the pages and the API -----------------------------------------------------------------------------


def test_the_policy_page_and_api_show_what_the_county_must_enter_and_the_groups(bureau_client, db):
    from django.urls import reverse

    body = bureau_client.get(reverse("subsidies:policy_list")).content.decode()
    assert "待县资助中心录入" in body
    assert 'id="exclusion-groups"' in body and "免费午餐" in body
    rows = bureau_client.get(
        "/api/subsidies/policies/", {"stage": "senior", "aid_type": "tuition_waiver"}
    ).json()
    assert [(r["amount"], r["amount_per_term"]) for r in rows["results"]] == [(None, None)]
    groups = bureau_client.get("/api/subsidies/exclusion-groups/").json()
    assert {"boarder_allowance", "non_boarder_allowance", "free_lunch"} in [
        set(g["aid_types"]) for g in groups
    ]
    schema = bureau_client.get("/api/schema/").content.decode()
    assert "/api/subsidies/exclusion-groups/" in schema


def test_the_county_enters_an_amount_through_the_api(bureau_client, make_student, bureau):
    make_student(Stage.SENIOR, categories=[PA])
    senior = row(AidType.TUITION_WAIVER, Stage.SENIOR)
    vocational = row(AidType.TUITION_WAIVER, Stage.VOCATIONAL)
    for policy, amount in ((senior, "1600.00"), (vocational, "2000.00")):
        response = bureau_client.patch(
            f"/api/subsidies/policies/{policy.pk}/", {"amount": amount}, content_type="application/json"
        )
        assert response.status_code == 200, response.content
    batch = services.batch_generate(
        aid_type=AidType.TUITION_WAIVER, school_year=2022, term=Term.AUTUMN, by=bureau
    )
    assert batch.payments.get().amount == Decimal("800.00")


# --- a first-edition table is revised row by row -------------------------------------------------------------


def test_a_first_edition_table_is_revised_and_a_row_paid_from_is_closed_not_changed(bureau, make_student):
    """What migration 0009 (pengshui_row_by_row) does to a database that loaded the first edition: a row nothing was paid under is
    corrected in place; a row money was paid under keeps its standard up to the last term paid, and the
    corrected row starts the next day; a value the county changed since is left alone."""
    import importlib

    from django.apps import apps

    from subsidies.models import Payment

    migration = importlib.import_module("subsidies.migrations.0009_pengshui_row_by_row")
    first = (PA, DIBAO, DISABLED, "orphan", "extreme_hardship", "martyr_child")
    AidPolicy.objects.filter(aid_type=AidType.BOARDER_ALLOWANCE, stage=Stage.PRIMARY).update(
        categories=list(first)
    )
    senior = row(AidType.TUITION_WAIVER, Stage.SENIOR)
    AidPolicy.objects.filter(pk=senior.pk).update(amount=Decimal("1600.00"))
    AidPolicy.objects.filter(pk=row(AidType.TUITION_WAIVER, Stage.VOCATIONAL).pk).update(
        amount=Decimal("2000.00")
    )
    AidPolicy.objects.filter(pk=row(AidType.TEXTBOOK_WAIVER, Stage.SENIOR).pk).update(
        amount=Decimal("450.00")
    )
    student = make_student(Stage.SENIOR, categories=[PA])
    batch = DisbursementBatch.objects.create(
        aid_type=AidType.TUITION_WAIVER, school_year=2022, term=Term.SPRING, eligibility_date=date(2023, 3, 1)
    )
    Payment.objects.create(
        batch=batch,
        student=student,
        aid_type=AidType.TUITION_WAIVER,
        school_year=2022,
        term=Term.SPRING,
        school=student.school,
        stage=Stage.SENIOR,
        policy=senior,
        amount=Decimal("800.00"),
        payee="school",
    )

    migration.pengshui_row_by_row(apps, None)

    assert MONITORED_IN(row(AidType.BOARDER_ALLOWANCE, Stage.PRIMARY).categories)
    senior.refresh_from_db()
    assert (senior.amount, senior.valid_to) == (Decimal("1600.00"), date(2023, 7, 31))
    reopened = AidPolicy.objects.get(
        aid_type=AidType.TUITION_WAIVER, stage=Stage.SENIOR, valid_from=date(2023, 8, 1)
    )
    assert reopened.amount is None and reopened.valid_to is None
    assert row(AidType.TUITION_WAIVER, Stage.VOCATIONAL).amount is None
    assert row(AidType.TEXTBOOK_WAIVER, Stage.SENIOR).amount == Decimal("450.00")  # the county's own figure
    # Running it again changes nothing.
    count = AidPolicy.objects.count()
    migration.pengshui_row_by_row(apps, None)
    assert AidPolicy.objects.count() == count


def MONITORED_IN(categories) -> bool:  # noqa: N802 - reads as a sentence in the assertion
    return {UNSTABLE, MARGINAL, SUDDEN} <= set(categories)
