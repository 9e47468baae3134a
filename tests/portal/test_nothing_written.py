"""The helper the refusal tests lean on notices each kind of write (tests/refusals.py)."""

import pytest

from students.models import County, Student
from tests.factories import StudentFactory
from tests.refusals import nothing_written


def test_a_block_that_writes_nothing_passes(student_a):
    with nothing_written(student_a):
        Student.objects.filter(pk=student_a.pk).exists()


def test_an_insert_is_noticed(school_a):
    with pytest.raises(AssertionError, match="students.Student"), nothing_written():
        StudentFactory(school=school_a)


def test_an_update_is_noticed_in_its_history(student_a):
    with pytest.raises(AssertionError, match="students.StudentEvent"), nothing_written():
        Student.objects.filter(pk=student_a.pk).update(village="新村")


def test_an_update_of_a_given_row_is_noticed_without_history(db):
    county = County.objects.create(code="360799", name="某县")
    with pytest.raises(AssertionError, match="students.County .* changed"), nothing_written(county):
        County.objects.filter(pk=county.pk).update(name="另一县")


def test_a_delete_is_noticed(student_a):
    with pytest.raises(AssertionError, match="students.Student"), nothing_written():
        Student.objects.filter(pk=student_a.pk).delete()
