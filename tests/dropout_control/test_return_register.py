"""A return (劝返复学) writes the register from its date: a date in a school year that has ended is refused, as for
every clerk's change (students.register.check_effective; issue 13)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from dropout_control import services
from students.models import Enrollment, Student
from tests.dropout_control.conftest import YEAR_START, today
from tests.dropout_control.factories import open_case
from tests.refusals import nothing_written


def test_a_return_dated_in_a_school_year_that_has_ended_is_refused(bureau, school_a):
    case = open_case(township=school_a.township, school=school_a, found_on=YEAR_START - timedelta(days=60))
    with nothing_written(case), pytest.raises(ValidationError) as refused:
        services.case_return(
            case=case,
            school=school_a,
            on=YEAR_START - timedelta(days=1),
            stage="primary",
            grade=3,
            late_reason="补录",
            by=bureau,
        )
    assert YEAR_START.isoformat() in refused.value.message_dict["on"][0]
    # Dated on the first day of the running year, the child is on its register from then, and not before.
    watch = services.case_return(
        case=case, school=school_a, on=YEAR_START, stage="primary", grade=3, late_reason="补录", by=bureau
    )
    assert Enrollment.objects.on(YEAR_START).get(student=watch.student).status == Student.Status.ENROLLED
    assert not Enrollment.objects.filter(student=watch.student, valid_from__lt=YEAR_START).exists()


def test_the_api_says_in_chinese_when_to_date_the_return(township_officer, school_a):
    case = open_case(township=school_a.township, school=school_a, found_on=YEAR_START - timedelta(days=60))
    client = APIClient()
    client.force_authenticate(township_officer)
    body = {
        "school": school_a.pk,
        "on": str(YEAR_START - timedelta(days=3)),
        "stage": "primary",
        "grade": 3,
        "late_reason": "复学证明补交",
    }
    with nothing_written(case):
        response = client.post(
            f"/api/dropout/cases/{case.pk}/return/", body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
    assert response.status_code == 400, response.content
    message = response.json()["on"][0]
    assert "已结束的学年" in message and YEAR_START.isoformat() in message
    assert today() >= YEAR_START


def test_a_caller_building_past_years_names_the_day_it_records_on(bureau, school_a):
    """The demo builds its past years as they happened: a return recorded "then" is on that year's register."""
    then = YEAR_START - timedelta(days=200)
    case = open_case(township=school_a.township, school=school_a, found_on=then - timedelta(days=20))
    watch = services.case_return(
        case=case,
        school=school_a,
        on=then,
        stage="primary",
        grade=3,
        by=bureau,
        today=then + timedelta(days=1),
    )
    assert Enrollment.objects.on(then).get(student=watch.student).status == Student.Status.ENROLLED
    # A day after the county's today is no day to record on.
    later = open_case(township=school_a.township, school=school_a, found_on=today())
    with nothing_written(later), pytest.raises(ValidationError):
        services.case_return(
            case=later,
            school=school_a,
            on=today() + timedelta(days=1),
            stage="primary",
            grade=3,
            by=bureau,
            today=today() + timedelta(days=5),
        )
