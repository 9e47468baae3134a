"""Issue 14: the papers' school and teacher figures the workbook lacked: schools split public / private,
primary schools counted with their teaching points, teachers on the establishment (在编) beside the
headcount, and the out-of-county students whose letter (发函) went out, as of the period."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from reports.yearend import build_figures
from students.models import School, TeacherCount
from subsidies.models import OutOfCountyStudent
from tests.factories import SchoolFactory, make_id_number
from tests.reports.helpers import built_snapshot, line, read_workbook

pytestmark = pytest.mark.django_db


def _workbook(client, snapshot):
    response = client.get(reverse("reports:snapshot_download", args=[snapshot.pk]))
    assert response.status_code == 200
    return read_workbook(response)


def test_schools_sheet_splits_every_type_public_and_private_and_counts_primary_with_teaching_points(
    county, bureau, bureau_client, township_a
):
    for _n in range(3):
        SchoolFactory(
            township=township_a, school_type=School.Type.KINDERGARTEN, ownership=School.Ownership.PRIVATE
        )
    SchoolFactory(township=township_a, school_type=School.Type.TEACHING_POINT)
    SchoolFactory(township=township_a, school_type=School.Type.TEACHING_POINT)
    # A private kindergarten closed before the year: not counted at all.
    SchoolFactory(
        township=township_a,
        school_type=School.Type.KINDERGARTEN,
        ownership=School.Ownership.PRIVATE,
        closed_on=date(2020, 1, 1),
        is_active=False,
    )
    ws = _workbook(bureau_client, built_snapshot(county.year, bureau))["分类型学校数"]
    assert ws["B4"].value == "学校" and ws["C4"].value == "其中：公办" and ws["D4"].value == "其中：民办"
    assert line(ws, "幼儿园")[1:4] == [4, 1, 3]
    assert line(ws, "小学")[1:4] == [2, 2, 0]
    assert line(ws, "教学点")[1:4] == [2, 2, 0]
    assert line(ws, "合计")[1:4] == [10, 7, 3]
    # The papers' "77 所小学（含教学点 9 所）": both lines, the teaching points as a 其中 line.
    assert line(ws, "小学（含教学点）")[1] == 4
    assert line(ws, "  其中：教学点")[1] == 2


def test_on_staff_teachers_beside_the_headcount(county, bureau, bureau_client):
    counts = list(TeacherCount.objects.filter(school_year=county.year).order_by("pk"))
    for t, on_staff in zip(counts, (25, 21, None, 70, 40), strict=True):
        t.on_staff = on_staff
        t.full_clean()
        t.save()
    figures = build_figures(
        county_code=county.schools[0].township.county.code, year=county.year, basis="school"
    )
    assert figures["sections"]["teachers"]["total"] == {"teachers": 188, "on_staff": 156}
    ws = _workbook(bureau_client, built_snapshot(county.year, bureau))["教师数"]
    assert ws["C4"].value == "其中：在编"
    assert line(ws, "小学")[1:3] == [51, 46]
    assert line(ws, "幼儿园")[1:3] == [12, 0]  # the kindergarten has not said
    assert line(ws, "合计")[1:3] == [188, 156]


def test_on_staff_above_the_headcount_is_refused_in_words_and_by_the_database(school_a):
    count = TeacherCount(school=school_a, school_year=2024, headcount=30, on_staff=31)
    with pytest.raises(ValidationError) as refused:
        count.full_clean()
    assert refused.value.message_dict["on_staff"] == ["在编教师数（31）不能多于该校教师数（30）。"]
    with pytest.raises(IntegrityError), transaction.atomic():
        count.save()
    assert not TeacherCount.objects.filter(school=school_a, school_year=2024).exists()
    count.on_staff = 30
    count.full_clean()
    count.save()


def test_teacher_count_admin_form_takes_on_staff(admin_client_for_bureau, school_a):
    client = admin_client_for_bureau
    url = reverse("admin:students_teachercount_add")
    response = client.post(url, {"school": school_a.pk, "school_year": 2024, "headcount": 30, "on_staff": 40})
    assert response.status_code == 200
    assert "在编教师数（40）不能多于该校教师数（30）。" in response.content.decode()
    assert not TeacherCount.objects.exists()
    response = client.post(url, {"school": school_a.pk, "school_year": 2024, "headcount": 30, "on_staff": 28})
    assert response.status_code == 302
    assert TeacherCount.objects.get().on_staff == 28


@pytest.fixture
def admin_client_for_bureau(bureau, client_for):
    from django.contrib.auth.models import Permission

    bureau.user_permissions.add(Permission.objects.get(codename="add_teachercount"))
    return client_for(bureau)


def _ledger(year, code, *, sent_on=None, category="poverty_alleviated"):
    return OutOfCountyStudent.objects.create(
        id_number=make_id_number(date(2010, 1, 1)),
        name="县外生",
        destination_county_code=code,
        destination_county="某县",
        destination_school="某校",
        stage="junior",
        category=category,
        school_year=year,
        follow_up="sent" if sent_on else "pending",
        letter_sent_on=sent_on,
    )


def test_letters_sent_count_as_of_the_period(county, bureau, bureau_client):
    year = 2023
    _ledger(year, "440305", sent_on=date(2023, 10, 8))
    _ledger(year, "440305", sent_on=date(2024, 8, 31))  # the school year's last day: counted
    _ledger(year, "440305", sent_on=date(2024, 9, 1))  # after the period: not counted
    _ledger(year, "440305")  # not sent
    _ledger(year, "360702", sent_on=date(2023, 11, 1))  # in the prefecture, letter sent: counted
    _ledger(year, "440305", sent_on=date(2023, 10, 8), category="dibao")  # not registered-poor
    _ledger(year - 1, "440305", sent_on=date(2022, 10, 8))  # another year's ledger
    ws = _workbook(bureau_client, built_snapshot(year, bureau))["脱贫家庭学生"]
    assert line(ws, "  州（市）外就读")[1] == 4
    assert line(ws, "  县外就读且已发函")[1] == 3
