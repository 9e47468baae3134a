"""Issue 13, the school list through time: a township merger (乡镇合并), a school changing type and one changing
ownership after last year's report leave last year's figures and workbook as they were, while this year's follow
the new attributes. Each school's township, type, ownership and rural flag are dated (students.SchoolSpell) and
the reports read them as of the period's reference date."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from openpyxl import load_workbook

from reports import excel, yearend
from students import services
from students.models import School, SchoolSpell, Stage, TeacherCount, Township, school_year_of
from tests.factories import SchoolFactory, StudentFactory
from tests.reports.helpers import built_snapshot, rows_of

pytestmark = pytest.mark.django_db

YEAR = school_year_of(
    timezone.localdate()
)  # the running school year: the changes take effect on its first day
LAST = YEAR - 1
CHANGED_ON = date(YEAR, 9, 1)


def figures(year: int) -> dict:
    return yearend.build_figures(county_code=settings.HOME_COUNTY_CODE, year=year, basis="school")


@pytest.fixture
def county(township_a, township_b, school_a, school_b):
    since = date(LAST - 1, 9, 1)
    kindergarten = SchoolFactory(
        township=township_a, school_type=School.Type.KINDERGARTEN, ownership=School.Ownership.PRIVATE
    )
    for school, stage, grade in (
        (school_a, Stage.PRIMARY, 2),
        (school_a, Stage.PRIMARY, 3),
        (kindergarten, Stage.PRESCHOOL, 1),
        (school_b, Stage.PRIMARY, 4),
    ):
        StudentFactory(school=school, stage=stage, grade=grade, enrolled_on=since)
    for school, headcount in ((school_a, 10), (kindergarten, 3), (school_b, 7)):
        for year in (LAST, YEAR):
            TeacherCount.objects.create(school=school, school_year=year, headcount=headcount)
    return {"kindergarten": kindergarten}


def workbook_rows(snapshot, figures_: dict, tmp_path, name: str) -> dict:
    snapshot.figures = figures_
    path = tmp_path / name
    excel.write_workbook(snapshot, str(path))
    return {ws.title: rows_of(ws) for ws in load_workbook(path).worksheets}


def test_a_township_merger_and_changes_of_type_and_ownership_leave_last_years_report_as_it_was(
    county, bureau, township_a, township_b, school_a, school_b, tmp_path
):
    snapshot = built_snapshot(LAST, bureau)
    first = figures(LAST)
    assert first["sections"]["students"]["by_township"][str(township_a.pk)]["students"] == 3
    assert first["sections"]["schools"]["by_township"][str(township_a.pk)]["schools"] == 2
    before_cells = workbook_rows(snapshot, first, tmp_path, "first.xlsx")

    # This school year: township A is merged into B, school B becomes a nine-year school, the kindergarten public.
    services.township_merge(township=township_a, into=township_b, on=CHANGED_ON, by=bureau)
    school_b.school_type = School.Type.NINE_YEAR
    services.save_school(school_b, on=CHANGED_ON)
    kindergarten = School.objects.get(pk=county["kindergarten"].pk)
    kindergarten.ownership = School.Ownership.PUBLIC
    services.save_school(kindergarten, on=CHANGED_ON)

    school_a.refresh_from_db()
    assert school_a.township == township_b
    township_a.refresh_from_db()
    assert (township_a.closed_on, township_a.merged_into) == (CHANGED_ON, township_b)
    # Each school changed has two spells: as it was until the day before, and from that day.
    spells = SchoolSpell.objects.filter(school=school_a).order_by(F("valid_from").asc(nulls_first=True))
    assert [(s.township_id, s.valid_from, s.valid_to) for s in spells] == [
        (township_a.pk, None, date(YEAR, 8, 31)),
        (township_b.pk, CHANGED_ON, None),
    ]

    # Last year, rebuilt: every figure and every workbook cell of the first build.
    again = figures(LAST)
    assert again == first
    assert workbook_rows(snapshot, again, tmp_path, "again.xlsx") == before_cells

    # This year follows the new attributes.
    now = figures(YEAR)
    students = now["sections"]["students"]["by_township"]
    assert students[str(township_b.pk)]["students"] == 4
    assert str(township_a.pk) not in students
    schools = {row["key"]: row for row in now["sections"]["schools"]["tables"]["by_type"]["rows"]}
    assert schools["nine_year"]["schools"] == 1
    assert schools["primary"]["schools"] == 1
    assert (schools["kindergarten"]["public"], schools["kindergarten"]["private"]) == (1, 0)
    teachers = {row["key"]: row for row in now["sections"]["teachers"]["tables"]["by_type"]["rows"]}
    assert teachers["nine_year"]["teachers"] == 7
    assert {s["id"]: s["township_id"] for s in now["schools"]}[school_a.pk] == township_b.pk
    last_teachers = {row["key"]: row for row in first["sections"]["teachers"]["tables"]["by_type"]["rows"]}
    assert last_teachers["primary"]["teachers"] == 17
    assert Township.objects.get(pk=township_a.pk).schools.count() == 0
