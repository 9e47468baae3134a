"""The register through time: the database keeps every student's spells, whatever writes the row."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from students import register
from students.models import Enrollment, Student, school_year_of
from students.services import student_create, student_transfer
from tests.factories import SchoolFactory, StudentFactory, UserFactory, make_id_number, move_on
from tests.refusals import nothing_written

pytestmark = pytest.mark.django_db


def spells(student):
    return list(
        Enrollment.objects.filter(student=student)
        .order_by("valid_from")
        .values_list("school_id", "grade", "status", "valid_from", "valid_to")
    )


def test_a_new_student_is_on_the_register_from_the_enrolment_date():
    student = StudentFactory(enrolled_on=date(2022, 9, 1), grade=2)
    assert spells(student) == [(student.school_id, 2, "enrolled", date(2022, 9, 1), None)]
    assert Enrollment.objects.on(date(2022, 8, 31)).filter(student=student).count() == 0
    assert Enrollment.objects.on(date(2022, 9, 1)).get(student=student).grade == 2


def test_a_student_recorded_without_an_enrolment_date_is_on_the_register_from_today():
    student = StudentFactory(enrolled_on=None)
    today = timezone.localdate()
    assert spells(student) == [(student.school_id, 3, "enrolled", today, None)]
    assert not Enrollment.objects.on(today - timedelta(days=1)).filter(student=student).exists()


def test_a_change_closes_the_spell_yesterday_and_a_past_day_still_reads_the_old_state():
    student = StudentFactory(enrolled_on=date(2022, 9, 1), grade=2)
    today = timezone.localdate()
    student.status = Student.Status.GRADUATED
    student.save()
    assert spells(student) == [
        (student.school_id, 2, "enrolled", date(2022, 9, 1), today - timedelta(days=1)),
        (student.school_id, 2, "graduated", today, None),
    ]
    assert Enrollment.objects.on(date(2023, 6, 1)).enrolled().filter(student=student).exists()


def test_bulk_updates_reach_the_register_and_other_columns_do_not_split_it():
    student = StudentFactory(enrolled_on=date(2022, 9, 1))
    Student.objects.filter(pk=student.pk).update(name="改名", guardian_phone="13800000000")
    assert len(spells(student)) == 1
    Student.objects.filter(pk=student.pk).update(is_boarding=True)
    assert [s.is_boarding for s in Enrollment.objects.filter(student=student).order_by("valid_from")] == [
        False,
        True,
    ]


def test_a_change_on_the_day_a_spell_began_replaces_it():
    student = StudentFactory(enrolled_on=timezone.localdate(), grade=2)
    student.grade = 4
    student.save()
    assert spells(student) == [(student.school_id, 4, "enrolled", timezone.localdate(), None)]


def test_a_dated_change_replaces_the_register_from_its_date_on():
    student = StudentFactory(enrolled_on=date(2021, 9, 1), grade=1)
    with transaction.atomic(), register.effective(date(2022, 9, 1), source="test"):
        student.grade = 2
        student.save()
    with transaction.atomic(), register.effective(date(2023, 9, 1)):
        student.grade = 3
        student.save()
    # A correction dated back before the last change: the spell running then is split, and every spell from
    # then on takes the corrected column.
    with transaction.atomic(), register.effective(date(2023, 3, 1)):
        student.grade = 5
        student.save()
    assert [(g, f, t) for _, g, _, f, t in spells(student)] == [
        (1, date(2021, 9, 1), date(2022, 8, 31)),
        (2, date(2022, 9, 1), date(2023, 2, 28)),
        (5, date(2023, 3, 1), date(2023, 8, 31)),
        (5, date(2023, 9, 1), None),
    ]
    assert Enrollment.objects.filter(student=student, source="test").count() == 1


def test_a_back_dated_transfer_moves_the_later_spells_and_keeps_their_grades():
    """A transfer dated before the roll-over's 1 September, entered after it: the child is at the new school
    from the transfer's date, in the old grade until 31 August and in the new grade from 1 September."""
    student = StudentFactory(enrolled_on=date(2023, 9, 1), grade=3)
    with transaction.atomic(), register.effective(date(2024, 9, 1), source="rollover"):
        student.grade = 4
        student.save()
    new_school = SchoolFactory()
    move_on(student, new_school, date(2024, 8, 20))
    old = (
        student.school_id
        if False
        else Enrollment.objects.on(date(2024, 8, 19)).get(student=student).school_id
    )
    assert old != new_school.pk
    assert (Enrollment.objects.on(date(2024, 8, 20)).get(student=student).school_id, 3) == (
        new_school.pk,
        Enrollment.objects.on(date(2024, 8, 20)).get(student=student).grade,
    )
    later = Enrollment.objects.on(date(2024, 9, 1)).get(student=student)
    assert (later.school_id, later.grade, later.source) == (new_school.pk, 4, "rollover")


def test_a_transfer_moves_the_register_on_its_date():
    bureau = UserFactory(role="bureau")
    student = StudentFactory(enrolled_on=date(2022, 9, 1))
    old_school, new_school = student.school, SchoolFactory()
    day = date(school_year_of(timezone.localdate()), 9, 1)
    student_transfer(student=student, to_school=new_school, on=day, by=bureau)
    assert Enrollment.objects.on(day - timedelta(days=1)).get(student=student).school == old_school
    on_day = Enrollment.objects.on(day).get(student=student)
    assert (on_day.school, on_day.source) == (new_school, "transfer")


def test_a_clerks_transfer_into_an_ended_school_year_or_the_future_is_refused_and_writes_nothing():
    bureau = UserFactory(role="bureau")
    student = StudentFactory(enrolled_on=date(2022, 9, 1))
    first_day = date(school_year_of(timezone.localdate()), 9, 1)
    for day in (first_day - timedelta(days=1), timezone.localdate() + timedelta(days=1)):
        with pytest.raises(ValidationError) as refused, nothing_written(student):
            student_transfer(student=student, to_school=SchoolFactory(), on=day, by=bureau)
        assert "on" in refused.value.message_dict
    assert len(spells(student)) == 1


def test_a_child_recorded_now_with_an_old_enrolment_date_is_not_put_on_past_registers():
    """An old enrolment date says when the child came to the school, not the grade they were in then: the
    register starts with the running school year (a past year's comes from its roll)."""
    bureau = UserFactory(role="bureau")
    school = SchoolFactory()
    student = student_create(
        by=bureau,
        id_number=make_id_number(date(2016, 3, 1)),
        name="新录入",
        school=school,
        stage="primary",
        grade=4,
        household_county_code=school.township.county.code,
        enrolled_on=date(2019, 9, 1),
    )
    first_day = date(school_year_of(timezone.localdate()), 9, 1)
    assert student.enrolled_on == date(2019, 9, 1)
    assert spells(student) == [(school.pk, 4, "enrolled", first_day, None)]


def test_the_effective_date_is_restored_after_its_block():
    student = StudentFactory(enrolled_on=date(2022, 9, 1))
    with transaction.atomic():
        with register.effective(date(2023, 9, 1)):
            pass
        student.grade = 4
        student.save()  # after the block: today again
    assert spells(student)[-1][3] == timezone.localdate()


def test_unsynced_writes_leave_the_register_to_the_caller():
    student = StudentFactory(enrolled_on=date(2022, 9, 1))
    with transaction.atomic(), register.unsynced():
        Student.objects.filter(pk=student.pk).update(grade=5)
    assert [g for _, g, *_ in spells(student)] == [3]


def test_two_spells_of_a_student_cannot_overlap():
    student = StudentFactory(enrolled_on=date(2022, 9, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(
            student=student,
            school=student.school,
            stage=student.stage,
            grade=1,
            status="enrolled",
            valid_from=date(2023, 9, 1),
            valid_to=date(2024, 8, 31),
        )


def test_the_register_follows_the_copy_of_many_rows_in_one_statement():
    school = SchoolFactory()
    StudentFactory(school=school, enrolled_on=date(2022, 9, 1))
    students = StudentFactory.create_batch(3, school=school, enrolled_on=date(2022, 9, 1))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE students_student SET grade = grade + 1 WHERE school_id = %s", [school.pk])
    today = timezone.localdate()
    assert Enrollment.objects.on(today).filter(school=school, grade=4).count() == 4
    assert Enrollment.objects.on(today - timedelta(days=1)).filter(school=school, grade=3).count() == 4
    assert all(len(spells(s)) == 2 for s in students)
