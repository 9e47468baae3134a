from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from students.models import School, Stage, Student, StudentCategory
from tests.factories import CategoryFactory, SchoolFactory, StudentFactory, make_id_number


def build(school, **overrides):
    fields = {
        "id_number": make_id_number(date(2014, 5, 1)),
        "name": "王小二",
        "school": school,
        "stage": Stage.PRIMARY,
        "grade": 3,
    }
    fields.update(overrides)
    return Student(**fields)


def test_birth_date_sex_and_household_county_come_from_the_id_number(school_a):
    student = build(school_a)
    student.full_clean()
    assert student.birth_date == date(2014, 5, 1)
    assert student.sex in ("M", "F")
    assert student.household_county_code == student.id_number[:6]


def test_birth_date_that_does_not_match_the_id_is_refused(school_a):
    student = build(school_a, birth_date=date(2014, 5, 2))
    with pytest.raises(ValidationError) as exc:
        student.full_clean()
    assert "birth_date" in exc.value.message_dict


def test_stage_must_fit_the_school_type(db):
    kindergarten = SchoolFactory(school_type=School.Type.KINDERGARTEN)
    with pytest.raises(ValidationError) as exc:
        build(kindergarten).full_clean()
    assert "stage" in exc.value.message_dict


def test_grade_beyond_the_stage_is_refused(school_a):
    with pytest.raises(ValidationError) as exc:
        build(school_a, grade=7).full_clean()
    assert "grade" in exc.value.message_dict


def test_one_student_per_id_number_at_the_database(school_a, school_b):
    student = StudentFactory(school=school_a)
    with pytest.raises(IntegrityError):
        StudentFactory(school=school_b, id_number=student.id_number)


def test_category_end_before_start_is_refused_by_the_database(student_a):
    with pytest.raises(IntegrityError):
        StudentCategory.objects.create(
            student=student_a, category="dibao", valid_from=date(2022, 1, 1), valid_to=date(2021, 1, 1)
        )


def test_categories_apply_by_date(student_a):
    CategoryFactory(
        student=student_a, category="dibao", valid_from=date(2021, 1, 1), valid_to=date(2021, 12, 31)
    )
    assert student_a.categories_on(date(2021, 6, 1)) == {"dibao"}
    assert student_a.categories_on(date(2022, 6, 1)) == set()
    assert list(Student.objects.with_category_on("dibao", date(2021, 6, 1))) == [student_a]
    assert not Student.objects.with_category_on("dibao", date(2022, 6, 1)).exists()
