"""The national student number (全国学籍号): its format, uniqueness, masking, the API and the imports matching
on it before the ID number (issue 17)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from portal.history import history_for
from students import id_numbers, importing, national_numbers, services
from students.models import ImportJob, Student
from tests.factories import StudentFactory, make_id_number
from tests.refusals import nothing_written
from tests.students.test_importing import row, upload, xlsx

NUMBER = id_numbers.make("360730", date(2014, 3, 15), 12)
WRONG_CHECK = NUMBER[:17] + ("1" if NUMBER[17] == "0" else "0")


def _j_number() -> str:
    first17 = "36073020140315001"
    return "J" + first17 + id_numbers.check_char(first17)


@pytest.mark.parametrize(
    "value",
    [
        "G" + id_numbers.make("360730", date(2014, 3, 15), 12),
        "g" + id_numbers.make("360730", date(2014, 3, 15), 12),
        "L360730201403151234",
    ],
)
def test_good_numbers_are_read(value):
    assert national_numbers.parse(value) == value.upper()
    assert national_numbers.parse(_j_number()) == _j_number()


@pytest.mark.parametrize(
    "value",
    [
        id_numbers.make("360730", date(2014, 3, 15), 12),  # the ID number alone
        "G" + WRONG_CHECK,
        "X360730201403151234",
        "L36073020141315123",  # 18 characters
        "L360730201413151234",  # month 13
        "J360730201403150019",  # J with a wrong check digit
    ],
)
def test_bad_numbers_are_refused_with_a_message(value):
    with pytest.raises(ValidationError) as caught:
        national_numbers.parse(value)
    assert "学籍号" in caught.value.messages[0] or "national student number" in caught.value.messages[0]


def test_mask_hides_the_id_number_inside():
    number = "G" + id_numbers.make("360730", date(2014, 3, 15), 12)
    assert national_numbers.mask(number) == "G3607**********" + number[-4:]


def test_a_number_on_another_student_is_refused(bureau, school_a):
    first = StudentFactory(school=school_a)
    number = "G" + first.id_number
    services.student_update(student=first, national_student_number=number, by=bureau)
    other = StudentFactory(school=school_a)
    with nothing_written(other), pytest.raises(ValidationError) as caught:
        services.student_update(student=other, national_student_number=number, by=bureau)
    assert "学籍号" in str(caught.value) or "national student number" in str(caught.value)


def test_a_change_of_number_is_in_the_history_masked(bureau, school_a):
    student = StudentFactory(school=school_a)
    services.student_update(student=student, national_student_number="G" + student.id_number, by=bureau)
    changes = history_for(student)
    shown = [after for change in changes for _name, _before, after in change.fields]
    assert national_numbers.mask("G" + student.id_number) in shown
    assert student.id_number not in str([c.fields for c in changes])


def test_api_writes_the_number_and_lists_it_masked(principal_a, school_a):
    client = APIClient()
    client.force_authenticate(principal_a)
    number = make_id_number()
    response = client.post(
        "/api/students/",
        {
            "id_number": number,
            "name": "甲",
            "school": school_a.pk,
            "stage": "primary",
            "grade": 1,
            "national_student_number": "G" + number,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    student = Student.objects.get(id_number=number)
    assert student.national_student_number == "G" + number
    listed = client.get("/api/students/").json()["results"][0]
    assert listed["national_student_number_masked"] == national_numbers.mask("G" + number)
    assert "G" + number not in str(client.get("/api/students/").json())


def test_api_refuses_a_bad_number_with_the_message(principal_a, school_a):
    client = APIClient()
    client.force_authenticate(principal_a)
    with nothing_written():
        response = client.post(
            "/api/students/",
            {
                "id_number": make_id_number(),
                "name": "甲",
                "school": school_a.pk,
                "stage": "primary",
                "grade": 1,
                "national_student_number": "G123",
            },
            format="json",
        )
    assert response.status_code == 400
    assert "national_student_number" in response.json()


def test_detail_page_shows_the_number_masked(bureau_client, school_a):
    student = StudentFactory(school=school_a, national_student_number="")
    Student.objects.filter(pk=student.pk).update(national_student_number="G" + student.id_number)
    page = bureau_client.get(reverse("students:student_detail", args=[student.pk])).content.decode()
    assert national_numbers.mask("G" + student.id_number) in page
    assert "G" + student.id_number not in page


def _import(rows, by):
    return services.import_start(upload=upload(xlsx(rows)), by=by)


def _with_number(cells, number):
    return [*cells, number]


def test_import_matches_on_the_national_number_first_and_corrects_the_id_number(bureau, school_a):
    student = StudentFactory(school=school_a, grade=3)
    national = "G" + student.id_number
    Student.objects.filter(pk=student.pk).update(national_student_number=national)
    corrected = make_id_number()
    job = _import(
        [_with_number(row(school_a, number=corrected, name=student.name, grade=4), national)], bureau
    )
    # A changed ID number stops at the preview like any change of a registered student (issue 15).
    assert job.status == ImportJob.Status.PREVIEW, (job.message, job.errors)
    job = services.import_confirm(job=job, by=bureau)
    assert job.status == ImportJob.Status.DONE, (job.message, job.errors)
    assert (job.created_count, job.updated_count) == (0, 1)
    student.refresh_from_db()
    assert (student.id_number, student.grade) == (corrected, 4)
    assert student.birth_date == id_numbers.parse(corrected).birth_date
    assert Student.objects.count() == 1


def test_import_records_a_new_number_on_a_student_found_by_id_number(bureau, school_a):
    student = StudentFactory(school=school_a, grade=3)
    number = "L360730201403151234"
    job = _import([_with_number(row(school_a, number=student.id_number, name=student.name), number)], bureau)
    assert job.status == ImportJob.Status.PREVIEW, (job.message, job.errors)  # a change: previewed first
    job = services.import_confirm(job=job, by=bureau)
    assert job.status == ImportJob.Status.DONE, (job.message, job.errors)
    student.refresh_from_db()
    assert student.national_student_number == number


def test_import_creates_students_with_their_number(bureau, school_a):
    number = make_id_number()
    job = _import([_with_number(row(school_a, number=number), "G" + number)], bureau)
    assert job.created_count == 1, (job.message, job.errors)
    assert Student.objects.get(id_number=number).national_student_number == "G" + number


def test_import_refuses_a_bad_number(bureau, school_a):
    with nothing_written(besides=(ImportJob,)):
        job = _import([_with_number(row(school_a), "G12345")], bureau)
    assert job.status == ImportJob.Status.REJECTED
    assert "national student number" in " ".join(job.errors[0]["errors"]).replace(
        "学籍号", "national student number"
    )


def test_import_refuses_a_number_of_another_student_than_the_id_number(bureau, school_a):
    one = StudentFactory(school=school_a)
    two = StudentFactory(school=school_a)
    Student.objects.filter(pk=one.pk).update(national_student_number="G" + one.id_number)
    one.refresh_from_db()
    with nothing_written(one, two, besides=(ImportJob,)):
        job = _import([_with_number(row(school_a, number=two.id_number), "G" + one.id_number)], bureau)
    assert job.status == ImportJob.Status.REJECTED
    assert "两名不同的学生" in " ".join(job.errors[0]["errors"])


def test_import_refuses_the_same_number_twice_in_a_file(bureau, school_a):
    national = "L360730201403151234"
    with nothing_written(besides=(ImportJob,)):
        job = _import(
            [_with_number(row(school_a), national), _with_number(row(school_a, name="李四"), national)],
            bureau,
        )
    assert job.status == ImportJob.Status.REJECTED
    assert [e["row"] for e in job.errors] == [3]


def test_principal_cannot_reach_another_schools_child_through_the_number(principal_a, school_a, school_b):
    other = StudentFactory(school=school_b)
    Student.objects.filter(pk=other.pk).update(national_student_number="G" + other.id_number)
    other.refresh_from_db()
    with nothing_written(other, besides=(ImportJob,)):
        job = _import(
            [_with_number(row(school_a, number=make_id_number()), "G" + other.id_number)], principal_a
        )
    assert job.status == ImportJob.Status.REJECTED
    assert "联系教育局" in " ".join(job.errors[0]["errors"])


def test_the_template_carries_the_column():
    assert "全国学籍号" in [c.value for c in importing.template_workbook().active[1]]


def test_import_refuses_a_g_number_holding_another_students_id_number(bureau, school_a):
    """A G number is G + the child's own ID number: one holding another registered child's is refused."""
    other = StudentFactory(school=school_a)
    number = make_id_number()
    with nothing_written(other, besides=(ImportJob,)):
        job = _import([_with_number(row(school_a, number=number), "G" + other.id_number)], bureau)
    assert job.status == ImportJob.Status.REJECTED
    assert "另一名学生的身份证号" in " ".join(job.errors[0]["errors"])
