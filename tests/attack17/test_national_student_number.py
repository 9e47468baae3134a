"""Outside attack on issue 17: the national student number (全国学籍号).

A G number is G + the ID number the child had when it was given: it can hold no other child's ID number."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from students import services as student_services
from tests.factories import StudentFactory
from tests.refusals import nothing_written

pytestmark = pytest.mark.django_db


def test_a_g_number_holding_another_childs_id_number_is_refused(school_a, bureau):
    first = StudentFactory(school=school_a)
    second = StudentFactory(school=school_a)
    with nothing_written(second), pytest.raises(ValidationError):
        student_services.student_update(
            student=second, by=bureau, national_student_number="G" + first.id_number
        )
