from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from portal.history import history_for
from students import services
from students.models import Stage, Student, Transfer
from tests.factories import CategoryFactory, make_id_number
from tests.refusals import nothing_written


def fields(school, **overrides):
    data = {
        "id_number": make_id_number(),
        "name": "赵六",
        "school": school,
        "stage": Stage.PRIMARY,
        "grade": 2,
    }
    data.update(overrides)
    return data


def test_principal_creates_a_student_in_own_school(principal_a, school_a):
    student = services.student_create(by=principal_a, **fields(school_a))
    assert student.school == school_a


def test_principal_cannot_create_a_student_in_another_school(principal_a, school_b):
    with nothing_written(), pytest.raises(PermissionDenied):
        services.student_create(by=principal_a, **fields(school_b))


def test_official_cannot_create_students(official, school_a):
    with nothing_written(), pytest.raises(PermissionDenied):
        services.student_create(by=official, **fields(school_a))


def test_principal_cannot_update_another_school_student(principal_a, student_b):
    with nothing_written(student_b), pytest.raises(PermissionDenied):
        services.student_update(student=Student.objects.get(pk=student_b.pk), by=principal_a, name="改名")


def test_principal_cannot_transfer_another_school_student(principal_a, student_b, school_a):
    with nothing_written(student_b), pytest.raises(PermissionDenied):
        services.student_transfer(
            student=Student.objects.get(pk=student_b.pk),
            to_school=school_a,
            on=timezone.localdate(),
            by=principal_a,
        )


def test_transfer_keeps_the_move_and_history(bureau, student_a, school_b):
    services.student_transfer(
        student=student_a, to_school=school_b, on=timezone.localdate(), by=bureau, reason="随父母"
    )
    student_a.refresh_from_db()
    assert student_a.school == school_b
    move = Transfer.objects.get(student=student_a)
    assert (move.from_school.name, move.to_school, move.by) == ("甲镇中心小学", school_b, bureau)


def test_update_writes_history_with_the_change(bureau, student_a):
    services.student_update(student=student_a, by=bureau, name="张大明")
    changes = history_for(student_a)
    assert any(c.diff.get("name") == ["张小明", "张大明"] for c in changes)


def test_queryset_update_is_recorded_in_history(student_a):
    Student.objects.filter(pk=student_a.pk).update(grade=4)
    assert any(c.diff.get("grade") == [3, 4] for c in history_for(student_a))


def test_overlapping_category_is_refused(bureau, student_a):
    CategoryFactory(student=student_a, category="dibao", valid_from=date(2021, 1, 1))
    with nothing_written(), pytest.raises(ValidationError):
        services.category_add(student=student_a, category="dibao", valid_from=date(2022, 1, 1), by=bureau)


def test_category_end_before_start_gets_a_clear_error(bureau, student_a):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.category_add(
            student=student_a,
            category="orphan",
            valid_from=date(2022, 1, 1),
            valid_to=date(2021, 1, 1),
            by=bureau,
        )
    assert "valid_to" in exc.value.message_dict
