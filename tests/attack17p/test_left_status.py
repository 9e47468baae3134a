"""Attack (a17q) on fix 1 (facts._states_and_day): statuses of children who left are kept; the holidays."""

from __future__ import annotations

from datetime import date

import pytest

from students.models import Stage, Student
from subsidies import eligibility
from subsidies.facts import facts_on, register_on
from tests.attack17.helpers import leave

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]


@pytest.mark.parametrize(
    "status", [Student.Status.GRADUATED, Student.Status.TRANSFERRED_OUT, Student.Status.DROPPED_OUT]
)
def test_a_child_who_left_keeps_the_status_they_left_with(make_student, school_a, status):
    student = make_student(Stage.SENIOR, school=school_a, since=date(2020, 9, 1))
    leave(student, status, date(2025, 10, 15))
    for day in (date(2025, 11, 1), date(2026, 2, 10), date(2026, 8, 10)):
        assert facts_on([student.pk], day)[student.pk].status == status, day
        assert register_on([student.pk], day)[student.pk]["status"] == status, day
    assert facts_on([student.pk], date(2025, 10, 1))[student.pk].status == Student.Status.ENROLLED


def test_a_child_on_the_roll_through_the_holidays(make_student, school_a):
    student = make_student(Stage.PRIMARY, school=school_a, categories=("dibao",), since=date(2020, 9, 1))
    for day in (date(2026, 2, 10), date(2026, 8, 10)):
        assert facts_on([student.pk], day)[student.pk].status == Student.Status.ENROLLED, day
        assert facts_on([student.pk], day)[student.pk].categories == {"dibao"}, day
    assert eligibility.decide(student, "non_boarder_allowance", date(2026, 3, 1)) is not None
