"""Attack (a17p) on fix 1 (subsidies.facts._states_and_day): a child not on the register on a term's day is
taken as their FIRST spell unless that spell (or their enrolment date) starts after the term. A child whose
first spell is BEFORE the term but who was on no roll during the term (a gap: on a past year's roll, off the
county's register for a year, back by the full roll in March) is taken as at school, enrolled, with the
categories of a registration long gone, and is paid for a term they were in no school of the county.

The gap is what the registry's own writers make: a past roll (students.roll, `_write_past`) gives the child
the spell of that year only and leaves the Student row off the roll; the next full roll, dated in March,
opens a new spell from its date."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction

from students import register
from students.models import Enrollment, Stage, Student
from subsidies import eligibility
from subsidies.facts import facts_on
from tests.factories import CategoryFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

AUTUMN = date(2025, 9, 1)


def _with_a_gap(make_student, school, *, back_on=date(2026, 3, 10), dibao_to=None):
    """On the 2024-2025 roll (at `school`, enrolled), on no roll from 1 September 2025, back from `back_on`;
    低保 from the first registration on (`dibao_to`: until then)."""
    student = make_student(Stage.PRIMARY, school=school, enrolled_on=date(2024, 9, 1), name="中断学籍")
    with transaction.atomic(), register.unsynced():
        Enrollment.objects.filter(student=student).delete()
        common = {
            "student": student,
            "school": school,
            "stage": Stage.PRIMARY,
            "grade": 3,
            "is_boarding": False,
        }
        Enrollment.objects.create(
            **common,
            status=Student.Status.ENROLLED,
            valid_from=date(2024, 9, 1),
            valid_to=date(2025, 8, 31),
            source="roll 2024",
        )
        Enrollment.objects.create(
            **common, status=Student.Status.ENROLLED, valid_from=back_on, valid_to=None, source="roll"
        )
    CategoryFactory(student=student, category="dibao", valid_from=date(2024, 9, 1), valid_to=dibao_to)
    return student


def test_a_child_on_no_roll_during_the_autumn_term_is_not_aided_for_it(make_student, school_a):
    student = _with_a_gap(make_student, school_a)
    assert not Enrollment.objects.filter(student=student).on(AUTUMN).exists()
    facts = facts_on([student.pk], AUTUMN)[student.pk]
    granted = eligibility.decide(student, "non_boarder_allowance", AUTUMN)
    assert granted is None and facts.status != Student.Status.ENROLLED, (
        f"on the register 2024-09-01..2025-08-31 and from 2026-03-10 only (no spell on {AUTUMN}); taken on "
        f"{AUTUMN} as {facts.status} with categories {facts.categories} and granted "
        f"{getattr(granted, 'amount_per_term', None)}"
    )


def test_the_autumn_batch_does_not_pay_a_child_on_no_roll_that_term(make_student, school_a, bureau):
    from subsidies import services
    from subsidies.models import Payment

    student = _with_a_gap(make_student, school_a)
    batch = services.batch_generate(
        aid_type="non_boarder_allowance", school_year=2025, term="autumn", by=bureau
    )
    drawn = list(Payment.objects.filter(batch=batch, student=student).values_list("amount", flat=True))
    assert not drawn, f"on no roll from 2025-09-01 to 2026-03-09, drawn for the 2025 autumn term: {drawn}"


def test_a_child_back_in_the_same_term_is_taken_as_they_came_back(make_student, school_a):
    """Back on 10 October (the autumn term): the register's spell from then stands for the term; the 低保 that
    ended in June is not held."""
    student = _with_a_gap(make_student, school_a, back_on=date(2025, 10, 10), dibao_to=date(2025, 6, 30))
    facts = facts_on([student.pk], AUTUMN)[student.pk]
    assert facts.categories == set(), (
        f"back on 2025-10-10 after a gap, taken on {AUTUMN} with the categories of the 2024 registration: "
        f"{facts.categories}"
    )


def test_the_spring_export_names_the_school_the_child_came_back_to(make_student, school_a, school_b, bureau):
    """On 甲's 2024-2025 roll; back on 10 March 2026 at 乙 (the full roll), 低保 throughout: the spring term's
    national export (its 困难学生 sheet) names 乙, the child's only school that year, not 甲 of 2024."""
    from tests.attack17n.test_identified_terms import _term_sheet

    student = _with_a_gap(make_student, school_a)
    with transaction.atomic(), register.unsynced():
        Enrollment.objects.filter(student=student, valid_from=date(2026, 3, 10)).update(
            school=school_b, grade=5
        )
        Student.objects.filter(pk=student.pk).update(school=school_b, grade=5)
    row = _term_sheet(bureau, 2025, "spring").get(student.id_number)
    assert row is not None, "the child (低保, at 乙 from 2026-03-10) is not on the spring term's list"
    assert school_b.name in row and school_a.name not in row, (
        f"the child was at 乙 only in 2025-2026 (from 2026-03-10); the spring export says: {row}"
    )


def test_the_gap_made_by_the_registrys_own_rolls_is_paid_for_the_autumn_term(school_a, bureau):
    """The same through the registry's writers: the 2024-2025 past roll lists the child at 甲; the 2025-2026
    full roll dated 10 March 2026 lists them again. 低保 since 2024."""
    from students import services as student_services
    from students.models import ImportJob
    from tests.factories import make_id_number
    from tests.students.test_roll import line, xlsx

    number = make_id_number(date(2016, 2, 2))

    def roll(kind, year, on=None, row_year=""):
        job = student_services.roll_import_start(
            upload=xlsx([line(school_a, number=number, name="两份名册", grade=3, year=row_year)]),
            kind=kind,
            school_year=year,
            roll_date=on,
            by=bureau,
        )
        assert job.status == ImportJob.Status.PREVIEW, (job.message, job.errors)
        job = student_services.roll_import_apply(job=job, by=bureau)
        assert job.status == ImportJob.Status.DONE, job.message

    roll(ImportJob.Kind.PAST_ROLL, 2024, row_year=2024)
    student = Student.objects.get(id_number=number)
    CategoryFactory(student=student, category="dibao", valid_from=date(2024, 9, 1))
    roll(ImportJob.Kind.FULL_ROLL, 2025, on=date(2026, 3, 10))
    spells = list(Enrollment.objects.filter(student=student).values_list("valid_from", "valid_to", "status"))
    assert not Enrollment.objects.filter(student=student).on(AUTUMN).exists(), spells
    granted = eligibility.decide(student, "non_boarder_allowance", AUTUMN)
    assert granted is None, f"register {spells}: granted {granted.amount_per_term} for the 2025 autumn term"


def test_a_child_back_in_the_same_term_at_another_school_and_stage_is_taken_there(make_student, school_a):
    """Primary grade 6 at 甲 in 2024-2025; on no roll from 1 September 2025; back on 10 October 2025 at a
    junior school (grade 1). The autumn term is theirs (registered in the term), at the junior school as a
    junior pupil: not at 甲 in the primary grade of a year before (the aid of another stage, paid through the
    other school's batch)."""
    from students.models import School
    from tests.factories import SchoolFactory

    junior = SchoolFactory(school_type=School.Type.JUNIOR, name="乙镇中学")
    student = _with_a_gap(make_student, school_a, back_on=date(2025, 10, 10))
    with transaction.atomic(), register.unsynced():
        Enrollment.objects.filter(student=student, valid_from=date(2024, 9, 1)).update(grade=6)
        Enrollment.objects.filter(student=student, valid_from=date(2025, 10, 10)).update(
            school=junior, stage=Stage.JUNIOR, grade=1
        )
        Student.objects.filter(pk=student.pk).update(school=junior, stage=Stage.JUNIOR, grade=1)
    facts = facts_on([student.pk], AUTUMN)[student.pk]
    assert (facts.school, facts.stage, facts.grade) == (junior, Stage.JUNIOR, 1), (
        f"taken on {AUTUMN} at {facts.school} as {facts.stage} grade {facts.grade} (the 2024-2025 spell)"
    )
