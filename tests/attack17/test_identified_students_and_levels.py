"""Outside attack on issue 17: the one list of identified students and the level in the eligibility rule.

A child who has left the schools is still "identified" every school year by an open-ended category of
another department's list, and is reported to the national system as such; a level the school finds no longer
justified during the year cannot be withdrawn, so the national grant goes on being paid."""

from __future__ import annotations

import contextlib
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from openpyxl import load_workbook

from students.models import Stage, Student
from subsidies import eligibility, national_aid, selectors, services
from subsidies.models import Payment
from tests.attack17.helpers import leave
from tests.subsidies.test_identification import DIFFICULT, SPECIAL, YEAR, apply, identified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]


def test_a_child_who_left_before_the_school_year_is_not_on_its_identified_list(
    make_student, school_a, bureau
):
    """A 低保 child (the category open-ended since 2020) graduated in July 2024: in the 2025-2026 school
    year they are at no school of ours, so neither the identified list nor the national report's 困难学生
    sheet names them."""
    student = make_student(Stage.SENIOR, school=school_a, categories=["dibao"])
    leave(student, Student.Status.GRADUATED, date(YEAR - 1, 7, 1))

    assert student.pk not in {s.pk for s in selectors.identified_students(YEAR, user=bureau)}

    wb = national_aid.export_workbook(
        school_year=YEAR, term="autumn", payments=Payment.objects.all(), students=Student.objects.all()
    )
    buffer = io.BytesIO()
    wb.save(buffer)
    sheet = load_workbook(io.BytesIO(buffer.getvalue()))[national_aid.STUDENTS_SHEET]
    assert student.id_number not in {row[3] for row in sheet.iter_rows(min_row=2, values_only=True)}


def test_a_level_found_no_longer_justified_during_the_year_stops_the_grant(
    make_student, school_a, principal_a, bureau
):
    """Confirmed 特别困难 for 2025-2026; in November the family's situation is re-examined (an in-year
    identification effective from 1 December) and the class review finds it no longer in difficulty. From
    then on the national grant must not be paid on the old level (精准资助). Whatever the step that makes the
    finding count (the county's confirmation, or the finding itself), spring 2026 pays nothing."""
    student = make_student(Stage.SENIOR, school=school_a)
    identified(student, principal_a, bureau, level=SPECIAL)
    spring = date(YEAR + 1, 3, 1)
    assert eligibility.decide(student, "national_grant", spring).amount_per_term == Decimal("1500.00")

    change = apply(
        student, principal_a, kind="in_year", effective_from=date(YEAR, 12, 1), applied_on=date(YEAR, 11, 20)
    )
    services.identification_review(
        by=principal_a,
        identification=change,
        members="班主任王老师、家长代表赵某、学生代表孙某",
        result="not_difficult",
        reviewed_on=date(YEAR, 11, 25),
    )
    # No confirmation step for a withdrawal (refused today): then the finding alone would have to count.
    with contextlib.suppress(ValidationError):
        services.identification_confirm(by=bureau, identification=change)
    assert eligibility.decide(student, "national_grant", spring) is None


def test_a_pupil_the_school_identified_gets_the_non_boarder_allowance(
    make_student, school_a, principal_a, bureau
):
    """Pengshui's 非寄宿生生活补贴 is for "除已脱贫户外的家庭经济困难学生" (500 a year in primary school): a
    non-boarding pupil on no other department's list whom the county confirmed 困难 is exactly such a student
    (the identified list names them), yet the rule pays them nothing and says they have no category."""
    pupil = make_student(Stage.PRIMARY, school=school_a, grade=3)
    identified(pupil, principal_a, bureau, level=DIFFICULT)
    assert pupil.pk in {s.pk for s in selectors.identified_students(YEAR, user=bureau)}
    decision = eligibility.decide(pupil, "non_boarder_allowance", date(YEAR, 10, 1))
    assert decision is not None and decision.amount_per_term == Decimal("250.00")
