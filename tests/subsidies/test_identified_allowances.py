"""The aids the Pengshui paper gives to 家庭经济困难学生 as such (not only to a closed list of categories): a student
the school identified and the county confirmed qualifies at any level, explained by the eligibility rule; the
closed lists (senior high tuition waiver) and the 脱贫户 exclusion stay as they are (issue 17's leftovers)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from students.models import Stage
from subsidies import eligibility, pengshui
from subsidies.eligibility import Code
from subsidies.models import AidPolicy, IdentificationLevel
from tests.subsidies.test_identification import ON, identified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

GENERAL, SPECIAL = IdentificationLevel.GENERAL, IdentificationLevel.SPECIAL


def test_an_identified_non_boarder_gets_the_non_boarder_allowance(
    make_student, school_a, principal_a, bureau
):
    student = make_student(Stage.PRIMARY, school=school_a)
    assert eligibility.decide(student, "non_boarder_allowance", ON) is None
    identified(student, principal_a, bureau, level=GENERAL)
    granted = eligibility.decide(student, "non_boarder_allowance", ON)
    assert granted.amount_per_term == Decimal("250.00") and granted.level == GENERAL
    assert any(word in granted.reason for word in ("一般困难", "Generally difficult"))


def test_an_identified_boarder_gets_the_boarder_allowance_and_not_the_other(
    make_student, school_a, principal_a, bureau
):
    student = make_student(Stage.PRIMARY, school=school_a, boarding=True)
    identified(student, principal_a, bureau, level=SPECIAL)
    aids = {d.aid_type: d.amount_per_term for d in eligibility.eligible_aids(student, ON)}
    assert aids["boarder_allowance"] == Decimal("500.00")
    assert "non_boarder_allowance" not in aids and "free_lunch" not in aids


def test_an_identified_poverty_alleviated_non_boarder_keeps_the_free_lunch_instead(
    make_student, school_a, principal_a, bureau
):
    student = make_student(Stage.PRIMARY, school=school_a, categories=["poverty_alleviated"])
    identified(student, principal_a, bureau, level=GENERAL)
    assert eligibility.decide(student, "non_boarder_allowance", ON) is None
    assert [d.code for d in eligibility.why_not(student, "non_boarder_allowance", ON)] == [Code.EXCLUDED]
    assert eligibility.decide(student, "free_lunch", ON) is not None


def test_an_identified_student_gets_the_exercise_books_and_the_preschool_aid(
    make_student, school_a, principal_a, bureau
):
    pupil = make_student(Stage.PRIMARY, school=school_a)
    child = make_student(Stage.PRESCHOOL, school=school_a)
    for student in (pupil, child):
        identified(student, principal_a, bureau, level=GENERAL)
    assert eligibility.decide(pupil, "exercise_books", ON).level == GENERAL
    decided = {d.aid_type: d for d in eligibility.evaluate(child, ON)}
    assert decided["preschool_fee_waiver"].eligible and decided["preschool_fee_waiver"].level == GENERAL
    # Living allowance: granted by the level, unless the preschool nutrition plan replaces it.
    assert decided["preschool_living"].code in (Code.MATCHED, Code.SUPERSEDED)


def test_a_closed_list_stays_closed_to_identified_students(make_student, school_a, principal_a, bureau):
    """Senior high 免学费 names its categories without "等": an identified student without one is not waived."""
    student = make_student(Stage.SENIOR, school=school_a)
    identified(student, principal_a, bureau, level=SPECIAL)
    assert eligibility.decide(student, "tuition_waiver", ON) is None
    assert eligibility.decide(student, "national_grant", ON) is not None


def test_an_unconfirmed_student_is_told_why_not(make_student, school_a):
    student = make_student(Stage.PRIMARY, school=school_a)
    (why,) = eligibility.why_not(student, "non_boarder_allowance", ON)
    assert why.code == Code.NO_CATEGORY
    assert any(word in why.reason for word in ("一般困难", "Generally difficult"))


def test_a_row_money_was_paid_under_keeps_its_standard(db):
    """On a database migrated before: the row is closed after its last paid term and continued with the levels."""
    row = AidPolicy.objects.get(aid_type="boarder_allowance", stage="primary", valid_to__isnull=True)
    AidPolicy.objects.filter(pk=row.pk).update(levels=[], note="寄宿生生活补贴")
    done = pengshui.identified_levels(AidPolicy, last_paid_term_end=lambda p: date(2023, 1, 31))
    assert any("boarder_allowance" in line for line in done)
    row.refresh_from_db()
    assert (row.valid_to, row.levels) == (date(2023, 1, 31), [])
    after = AidPolicy.objects.get(aid_type="boarder_allowance", stage="primary", valid_from=date(2023, 2, 1))
    assert after.levels == pengshui.ALL_LEVELS and after.amount == row.amount
    assert pengshui.identified_levels(AidPolicy, last_paid_term_end=lambda p: date(2023, 1, 31)) == []
