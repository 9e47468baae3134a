"""The admin writes students through the same services as the pages and the API (issue 13): an old enrolment
date does not put a child on past registers, a change of school is a transfer, the rolls' status is refused."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from students.models import Enrollment, Student, Transfer, school_year_of
from tests.factories import make_id_number
from tests.refusals import nothing_written

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_clerk(bureau, client_for):
    bureau.is_staff = True
    bureau.save()
    bureau.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_student", "change_student", "add_student"])
    )
    return client_for(bureau)


def form(school, **values) -> dict:
    number = make_id_number(date(2015, 4, 2), female=False)  # "sex": "M" below
    body = {
        "id_number": number,
        "name": "李小明",
        "sex": "M",
        "birth_date": "2015-04-02",
        "school": school.pk,
        "stage": "primary",
        "grade": 3,
        "household_county_code": number[:6],
        "village": "",
        "major": "",
        "guardian_name": "",
        "guardian_phone": "",
        "status": "enrolled",
        "enrolled_on": "2019-09-01",
        "categories-TOTAL_FORMS": 0,
        "categories-INITIAL_FORMS": 0,
    }
    return {**body, **values}


def test_a_student_added_in_the_admin_with_an_old_enrolment_date_is_not_put_on_past_registers(
    admin_clerk, school_a
):
    response = admin_clerk.post(reverse("admin:students_student_add"), form(school_a))
    assert response.status_code == 302, response.content.decode()[:3000]
    child = Student.objects.get(name="李小明")
    first = date(school_year_of(timezone.localdate()), 9, 1)
    assert not Enrollment.objects.on(date(2020, 10, 1)).filter(student=child).exists()
    assert Enrollment.objects.filter(student=child).get().valid_from == first


def test_the_admin_refuses_the_rolls_status_and_writes_nothing(admin_clerk, school_a):
    with nothing_written():
        response = admin_clerk.post(reverse("admin:students_student_add"), form(school_a, status="off_roll"))
    assert response.status_code == 200 and "名册" in response.content.decode()


def test_a_change_of_school_in_the_admin_is_a_transfer(admin_clerk, student_a, school_b):
    url = reverse("admin:students_student_change", args=[student_a.pk])
    values = {
        **form(student_a.school),
        "id_number": student_a.id_number,
        "name": student_a.name,
        "sex": student_a.sex,
        "birth_date": student_a.birth_date.isoformat(),
        "household_county_code": student_a.household_county_code,
        "enrolled_on": student_a.enrolled_on.isoformat(),
        "school": school_b.pk,
    }
    response = admin_clerk.post(url, values)
    assert response.status_code == 302, response.content.decode()[:3000]
    transfer = Transfer.objects.get(student=student_a)
    assert (transfer.from_school_id, transfer.to_school_id) == (student_a.school_id, school_b.pk)
    assert Enrollment.objects.on(timezone.localdate()).get(student=student_a).school_id == school_b.pk
