"""Attack, issue 13: a school changing type under its pupils; a student's enrolment date against the register."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from students import services
from students.models import Enrollment, Stage, Student, school_year_of
from tests.factories import StudentFactory, make_id_number

pytestmark = pytest.mark.django_db

YEAR = school_year_of(timezone.localdate())


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_primary_school_cannot_become_a_junior_school_under_its_primary_pupils(bureau, school_a):
    """School A has primary pupils on the running register. Changing its type to a junior middle school (which
    enrols no primary pupils) from the first day of the year is accepted: this year's figures then count primary
    pupils at a junior school, and every later edit of those pupils is refused by Student.clean's stage check."""
    pupil = StudentFactory(school=school_a, stage=Stage.PRIMARY, grade=3)
    response = api_for(bureau).patch(
        f"/api/schools/{school_a.pk}/",
        {"school_type": "junior", "effective_on": date(YEAR, 9, 1).isoformat()},
        format="json",
    )
    assert response.status_code == 400, response.json()
    pupil.refresh_from_db()
    pupil.full_clean()


def test_a_student_enrolled_in_the_future_is_refused(bureau, school_a):
    """A new student whose enrolment date lies in the future: the register opens a spell that starts in the
    future, so the child, recorded as 在读, is on no register today."""
    later = timezone.localdate() + timedelta(days=200)
    try:
        student = services.student_create(
            by=bureau,
            id_number=make_id_number(date(2016, 5, 1)),
            name="未来生",
            school=school_a,
            stage=Stage.PRIMARY,
            grade=2,
            enrolled_on=later,
        )
    except ValidationError:
        return
    assert Enrollment.objects.on(timezone.localdate()).filter(student=student).exists()


def test_the_api_refuses_a_student_enrolled_in_the_future(bureau, school_a):
    later = timezone.localdate() + timedelta(days=200)
    response = api_for(bureau).post(
        "/api/students/",
        {
            "id_number": make_id_number(date(2016, 5, 2)),
            "name": "未来生二",
            "school": school_a.pk,
            "stage": "primary",
            "grade": 2,
            "enrolled_on": later.isoformat(),
        },
        format="json",
    )
    if response.status_code == 400:
        return
    assert response.status_code == 201, response.json()
    student = Student.objects.get(pk=response.json()["id"])
    assert Enrollment.objects.on(timezone.localdate()).filter(student=student).exists()
