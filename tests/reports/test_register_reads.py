"""Issue 13: every reader reads the register on the period's reference date, so a past year's figures do not
drift when children graduate, move, change stage or stop, or when schools open and close later."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reports import selectors, yearend
from students import register
from students.models import School, Stage, Student, TeacherCount, school_year_of
from tests.factories import CategoryFactory, SchoolFactory, StudentFactory, move_on

pytestmark = pytest.mark.django_db

# The 2024 school year is read on 31 August 2025; everything below happens after it.
AFTER_2024 = date(2025, 10, 8)


def build(year: int, basis: str = "school") -> dict:
    return yearend.build_figures(county_code=settings.HOME_COUNTY_CODE, year=year, basis=basis)


def save_on(student: Student, day: date) -> None:
    with transaction.atomic(), register.effective(day):
        student.save()


@pytest.fixture
def county_2024(township_a, township_b, school_a, school_b):
    """Two townships, five schools, twenty-odd children on the register since 2023, some of them poor, and
    the teachers of 2024."""
    junior = SchoolFactory(township=township_b, school_type=School.Type.JUNIOR, name="乙镇中学")
    closing = SchoolFactory(township=township_a, school_type=School.Type.PRIMARY, name="甲镇村小")
    kindergarten = SchoolFactory(township=township_b, school_type=School.Type.KINDERGARTEN, name="乙镇幼儿园")
    students = []
    for school, stage, grades in (
        (school_a, Stage.PRIMARY, (1, 2, 3, 4, 5, 6)),
        (school_b, Stage.PRIMARY, (2, 4, 6)),
        (closing, Stage.PRIMARY, (1, 3, 5)),
        (junior, Stage.JUNIOR, (1, 2, 3)),
        (kindergarten, Stage.PRESCHOOL, (1, 2, 3)),
    ):
        for i, grade in enumerate(grades):
            students.append(
                StudentFactory(
                    school=school,
                    stage=stage,
                    grade=grade,
                    is_boarding=i % 2 == 0,
                    enrolled_on=date(2023, 9, 1),
                )
            )
    for student in students[::3]:
        CategoryFactory(student=student, valid_from=date(2023, 1, 1))
    for school, headcount in ((school_a, 30), (school_b, 20), (closing, 6), (junior, 40), (kindergarten, 9)):
        TeacherCount.objects.create(school=school, school_year=2024, headcount=headcount)
    return {"students": students, "junior": junior, "closing": closing, "schools": (school_a, school_b)}


def test_a_past_year_rebuilt_after_the_register_moved_on_gives_every_figure_of_its_first_build(
    county_2024, bureau
):
    first = build(2024)
    assert first["sections"]["students"]["total"]["students"] == 18
    assert first["sections"]["schools"]["total"]["schools"] == 5

    students = county_2024["students"]
    school_a, school_b = county_2024["schools"]
    sixth_graders = [s for s in students if s.stage == Stage.PRIMARY and s.grade == 6]
    for student in sixth_graders:  # graduated in the summer after the year
        student.status = Student.Status.GRADUATED
        student.save()
    # Moved to another school of the same township and to another township, on dates after the year.
    move_on(students[1], school_b, AFTER_2024)
    move_on(students[7], school_a, AFTER_2024)
    # A primary pupil moved up to junior middle, a boarder who went home, a pupil suspended (休学).
    promoted = students[4]
    promoted.school, promoted.stage, promoted.grade = county_2024["junior"], Stage.JUNIOR, 1
    save_on(promoted, date(2025, 9, 1))
    students[2].is_boarding = not students[2].is_boarding
    students[2].save()
    students[3].status = Student.Status.SUSPENDED
    students[3].save()
    # The village school closes in 2026: its pupils move first.
    closing = county_2024["closing"]
    for student in Student.objects.filter(school=closing):
        move_on(student, school_a, date(2026, 2, 20))
    closing.closed_on = date(2026, 3, 1)
    closing.full_clean()
    closing.save()
    assert closing.is_active is False

    assert build(2024) == first


def test_the_running_year_follows_the_register_as_it_is_now(county_2024, bureau):
    students = county_2024["students"]
    year = school_year_of()
    before = build(year)
    students[0].status = Student.Status.GRADUATED
    students[0].save()
    after = build(year)
    assert after["sections"]["students"]["total"]["students"] == (
        before["sections"]["students"]["total"]["students"] - 1
    )


# --- The reviewers' cases -----------------------------------------------------------------------------------


def test_one_student_set_to_graduated_does_not_change_calendar_2022s_students(school_a):
    students = [StudentFactory(school=school_a, grade=g, enrolled_on=date(2021, 9, 1)) for g in (1, 2, 3)]
    first = build(2022, basis="calendar")["sections"]["students"]["total"]["students"]
    assert first == 3
    students[0].status = Student.Status.GRADUATED
    students[0].save()
    assert build(2022, basis="calendar")["sections"]["students"]["total"]["students"] == 3


def test_students_recorded_today_are_not_counted_in_2022(school_a):
    StudentFactory(school=school_a, enrolled_on=date(2021, 9, 1))
    StudentFactory(school=school_a, enrolled_on=None)  # imported today, without an enrolment date
    figures = build(2022)
    assert figures["sections"]["students"]["total"]["students"] == 1
    assert figures["sources"]["students"] == 1


def test_a_school_opened_in_2010_is_not_counted_in_2005(township_a):
    SchoolFactory(township=township_a)  # opened before records began
    new = SchoolFactory(township=township_a, opened_on=date(2010, 9, 1))
    figures = build(2005)
    assert figures["sections"]["schools"]["total"]["schools"] == 1
    assert new.pk not in {s["id"] for s in figures["schools"]}
    assert build(2010)["sections"]["schools"]["total"]["schools"] == 2


def test_a_school_closed_since_is_counted_and_active_in_the_years_it_ran(township_a):
    school = SchoolFactory(township=township_a, closed_on=date(2024, 9, 1), is_active=False)
    figures = build(2022)
    assert figures["sections"]["schools"]["total"]["schools"] == 1
    assert [s["active"] for s in figures["schools"] if s["id"] == school.pk] == [True]
    figures = build(2024)
    assert figures["sections"]["schools"]["total"]["schools"] == 0
    assert [s["active"] for s in figures["schools"] if s["id"] == school.pk] == [False]


def test_students_are_grouped_by_the_school_and_stage_of_their_spell(school_a, school_b, bureau):
    student = StudentFactory(school=school_a, grade=5, enrolled_on=date(2021, 9, 1))
    move_on(student, school_b, date(2023, 3, 1))
    by_school = build(2022, basis="calendar")["sections"]["students"]["by_school"]
    assert by_school[str(school_a.pk)]["students"] == 1 and str(school_b.pk) not in by_school
    by_school = build(2023, basis="calendar")["sections"]["students"]["by_school"]
    assert by_school[str(school_b.pk)]["students"] == 1 and str(school_a.pk) not in by_school


# --- Dashboards: today's register and today's school list ---------------------------------------------------


def test_the_dashboard_does_not_count_a_school_that_opens_next_autumn(bureau, township_a):
    SchoolFactory(township=township_a)
    SchoolFactory(township=township_a, opened_on=timezone.localdate() + timedelta(days=60))
    data = selectors.dashboard_for(bureau, level=selectors.COUNTY)
    assert {t["key"]: t["value"] for t in data["tiles"]}["schools"] == 1


def test_the_dashboard_counts_children_at_the_school_of_their_spell_today(bureau, school_a, school_b):
    student = StudentFactory(school=school_a, enrolled_on=date(2021, 9, 1))
    # A transfer recorded ahead of the day it takes effect: today the child is still at school A.
    with transaction.atomic(), register.effective(timezone.localdate() + timedelta(days=10)):
        student.school = school_b
        student.save()
    data = selectors.dashboard_for(bureau, school_id=school_a.pk)
    assert {t["key"]: t["value"] for t in data["tiles"]}["students"] == 1
    data = selectors.dashboard_for(bureau, school_id=school_b.pk)
    assert {t["key"]: t["value"] for t in data["tiles"]}["students"] == 0
