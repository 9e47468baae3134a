"""Issue 11, finding 10: a principal (or a township officer, outside his township) learns nothing about a
child outside his scope — not the school, not the child, not the village — only "cannot be used here; ask
the bureau". Bureau staff keep the full information."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook
from rest_framework.test import APIClient

from dropout_control.models import DropoutCase
from students import importing, services
from students.models import ImportJob
from tests.dropout_control.factories import open_case
from tests.factories import StudentFactory, make_id_number


def xlsx_upload(rows) -> SimpleUploadedFile:
    wb = Workbook()
    ws = wb.active
    ws.append([c[0] for c in importing.COLUMNS])
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return SimpleUploadedFile("学生.xlsx", buffer.getvalue())


def row(school, number, name="王小二"):
    return [number, name, school.code, "小学", 3, "", "否", "", "", "", "", ""]


@pytest.fixture
def pupil_b(school_b, township_b):
    return StudentFactory(school=school_b, name="李小红", village="下河村", home_township=township_b)


def test_import_row_with_another_schools_pupil_names_no_school(principal_a, school_a, pupil_b):
    job = services.import_start(upload=xlsx_upload([row(school_a, pupil_b.id_number)]), by=principal_a)
    assert job.status == ImportJob.Status.REJECTED
    message = " ".join(job.errors[0]["errors"])
    assert "教育局" in message  # ask the bureau
    for secret in ("其他学校", pupil_b.school.name, pupil_b.name, "下河村", "转学"):
        assert secret not in message
    pupil_b.refresh_from_db()
    assert pupil_b.school.name == "乙镇中心小学"


def test_duplicate_list_names_no_other_schools_pupil(principal_a, school_a, pupil_b):
    # Same name and birth date as the other school's pupil, another ID number.
    number = make_id_number(pupil_b.birth_date)
    job = services.import_start(
        upload=xlsx_upload([row(school_a, number, name=pupil_b.name)]), by=principal_a
    )
    assert all(pupil_b.pk not in d["students"] for d in job.duplicates)
    client = APIClient()
    client.force_authenticate(principal_a)
    body = client.get(f"/api/imports/{job.pk}/").json()
    assert all(pupil_b.pk not in d["students"] for d in body["duplicates"])


def test_bureau_still_sees_the_duplicate_in_another_school(bureau, school_a, pupil_b):
    number = make_id_number(pupil_b.birth_date)
    job = services.import_start(upload=xlsx_upload([row(school_a, number, name=pupil_b.name)]), by=bureau)
    assert any(pupil_b.pk in d["students"] for d in job.duplicates)


def case_form(number, township, school=None) -> dict:
    data = {
        "id_number": number,
        "name": "某孩子",
        "township": township.pk,
        "found_on": "2025-03-03",
        "found_late_reason": "补录",
        "found_by": "school_report",
        "reason": "illness",
    }
    if school is not None:
        data["school"] = school.pk
    return data


def test_opening_a_case_with_another_schools_pupil_is_refused_without_naming_them(
    principal_a_client, principal_b_client, township_a, township_b, school_a, school_b, pupil_b
):
    response = principal_a_client.post(
        reverse("dropout:case_create"), case_form(pupil_b.id_number, township_a, school_a)
    )
    page = response.content.decode()
    errors = " ".join(re.findall(r'<ul class="errorlist[^>]*>(.*?)</ul>', page, re.S))
    assert response.status_code == 200 and "教育局" in errors
    for secret in (pupil_b.school.name, pupil_b.name, "下河村"):
        assert secret not in page
    # No unlinked case of principal A's takes the one open case the child may have (a second outside
    # attack): the child's own school still opens it.
    assert not DropoutCase.objects.exists()
    principal_b_client.post(
        reverse("dropout:case_create"), case_form(pupil_b.id_number, township_b, school_b)
    )
    assert DropoutCase.objects.get().student == pupil_b


def test_township_officer_cannot_open_a_case_for_a_registered_child_outside_the_township(
    township_client, township_a, pupil_b
):
    township_client.post(reverse("dropout:case_create"), case_form(pupil_b.id_number, township_a))
    assert not DropoutCase.objects.exists()


def test_bureau_case_still_links_the_registered_child(bureau_client, township_a, pupil_b):
    bureau_client.post(reverse("dropout:case_create"), case_form(pupil_b.id_number, township_a))
    assert DropoutCase.objects.get().student == pupil_b


def test_an_open_case_elsewhere_is_refused_without_naming_it(
    principal_a_client, township_a, township_b, school_a
):
    other = open_case(township=township_b, name="赵某某", village="远山村")
    response = principal_a_client.post(
        reverse("dropout:case_create"), case_form(other.id_number, township_a, school_a)
    )
    page = response.content.decode()
    errors = " ".join(re.findall(r'<ul class="errorlist[^>]*>(.*?)</ul>', page, re.S))
    assert response.status_code == 200
    assert "教育局" in errors
    for secret in ("赵某某", "远山村", township_b.name, "已有未销号"):
        assert secret not in errors
    assert "赵某某" not in page and "远山村" not in page
    assert DropoutCase.objects.count() == 1


def test_student_not_found_is_the_same_for_any_unknown_number(principal_a_client, township_a, school_a):
    """Control: a number nobody has opens an unlinked case, just like another school's pupil's number."""
    principal_a_client.post(reverse("dropout:case_create"), case_form(make_id_number(), township_a, school_a))
    assert DropoutCase.objects.get().student is None


def test_a_stored_duplicate_list_names_no_other_schools_pupil(principal_a, pupil_b):
    """A job validated before the rule may hold another school's pupil: the API still does not name them."""
    job = ImportJob.objects.create(
        uploaded_by=principal_a,
        filename="旧.xlsx",
        file="imports/old.xlsx",
        duplicates=[
            {"name": pupil_b.name, "birth_date": "2014-03-15", "rows": [2], "students": [pupil_b.pk]}
        ],
    )
    client = APIClient()
    client.force_authenticate(principal_a)
    body = client.get(f"/api/imports/{job.pk}/").json()
    assert body["duplicates"][0]["students"] == []
