"""Issue 19: a school's name is dated like its township and type (students.SchoolSpell), so a school renamed this
school year keeps its old name in last year's rebuilt report and workbook, read from its spells and never from
its change history; and the breakdowns by the schools' attributes on the reference date join the spells once,
with the same figures as the subquery per row they replace."""

from __future__ import annotations

import importlib
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone
from openpyxl import load_workbook

from reports import excel, figures, yearend
from reports.periods import Period
from reports.yearend.base import county_register, grouped
from students import services
from students.models import School, SchoolSpell, Stage, TeacherCount, school_as_of, school_year_of
from tests.factories import SchoolFactory, StudentFactory
from tests.reports.helpers import built_snapshot, rows_of

pytestmark = pytest.mark.django_db

YEAR = school_year_of(timezone.localdate())
LAST = YEAR - 1
CHANGED_ON = date(YEAR, 9, 1)
SchoolEvent = apps.get_model("students", "SchoolEvent")


def build(year: int) -> dict:
    return yearend.build_figures(county_code=settings.HOME_COUNTY_CODE, year=year, basis="school")


def period(year: int) -> Period:
    return Period.of(county_code=settings.HOME_COUNTY_CODE, year=year, basis="school")


def workbook_cells(snapshot, figures_: dict, path) -> set:
    snapshot.figures = figures_
    excel.write_workbook(snapshot, str(path))
    return {cell for ws in load_workbook(path).worksheets for row in rows_of(ws) for cell in row}


@pytest.fixture
def county(township_a, township_b, school_a, school_b):
    since = date(LAST - 1, 9, 1)
    for school, grade in ((school_a, 2), (school_a, 3), (school_b, 4)):
        StudentFactory(school=school, stage=Stage.PRIMARY, grade=grade, enrolled_on=since)
    for school in (school_a, school_b):
        for year in (LAST, YEAR):
            TeacherCount.objects.create(school=school, school_year=year, headcount=5)


def test_a_school_renamed_this_year_keeps_its_old_name_in_last_years_rebuild_without_its_history(
    county, bureau, school_a, tmp_path
):
    snapshot = built_snapshot(LAST, bureau)
    old_name = school_a.name
    school_a.name = "甲镇第一小学"
    services.save_school(school_a)
    # The rename splits the school's spell today, as a change of township or type does.
    spells = SchoolSpell.objects.filter(school=school_a).order_by(F("valid_from").asc(nulls_first=True))
    today = timezone.localdate()
    assert [(s.name, s.valid_from, s.valid_to) for s in spells] == [
        (old_name, None, today - timedelta(days=1)),
        ("甲镇第一小学", today, None),
    ]
    # The audit trail is not where names come from: without it the names are the same.
    SchoolEvent.objects.filter(pgh_obj_id=school_a.pk).delete()

    last = build(LAST)
    assert {s["id"]: s["name"] for s in last["schools"]}[school_a.pk] == old_name
    assert last["schools"] == snapshot.figures["schools"]
    cells = workbook_cells(snapshot, last, tmp_path / "last.xlsx")
    assert old_name in cells and "甲镇第一小学" not in cells

    this_year = build(YEAR)
    assert {s["id"]: s["name"] for s in this_year["schools"]}[school_a.pk] == "甲镇第一小学"


def test_a_rename_dated_into_an_ended_school_year_is_refused(school_a):
    school_a.name = "甲镇第一小学"
    with pytest.raises(ValidationError) as refused:
        services.save_school(school_a, on=date(LAST, 10, 1))
    assert "effective_on" in refused.value.message_dict
    assert SchoolSpell.objects.filter(school=school_a).count() == 1


def _name_from_history(school: School, day: date) -> str:
    """The former reading (`school_name_as_of`): the last name recorded by the end of `day`, else the first
    recorded, else today's."""
    events = SchoolEvent.objects.filter(pgh_obj_id=school.pk)
    cutoff = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    then = events.filter(pgh_created_at__lt=cutoff).order_by("-pgh_created_at", "-pgh_id").first()
    first = events.order_by("pgh_created_at", "pgh_id").first()
    return (then or first or school).name


def test_the_migration_names_each_spell_as_the_history_named_the_school_on_every_day(township_a):
    """Data recorded before names were dated: the spells are split on the days the history shows a new name
    and take it, so a report rebuilt for any reference date prints the name it printed before."""
    migration = importlib.import_module("students.migrations.0022_school_spell_name")
    school = SchoolFactory(township=township_a, name="一名")
    beijing = timezone.get_fixed_timezone(8 * 60)
    for name, recorded in (
        ("二名", datetime(2025, 6, 15, 23, 30, tzinfo=beijing)),  # late in the evening, Beijing time
        ("三名", datetime(2025, 6, 16, 0, 30, tzinfo=beijing)),  # still the 15th in UTC
        ("四名", datetime(2025, 6, 16, 9, 0, tzinfo=beijing)),  # the day's last name is the day's name
        ("五名", datetime(2026, 1, 10, 12, 0, tzinfo=beijing)),
    ):
        School.objects.filter(pk=school.pk).update(name=name)
        SchoolEvent.objects.filter(pgh_obj_id=school.pk, name=name).update(pgh_created_at=recorded)
    SchoolEvent.objects.filter(pgh_obj_id=school.pk, name="一名").update(
        pgh_created_at=datetime(2024, 3, 1, 10, 0, tzinfo=beijing)
    )
    # As the spells stood before the migration: no names, one change of type on 1 September 2025.
    SchoolSpell.objects.filter(school=school).delete()
    for school_type, valid_from, valid_to in (
        (School.Type.PRIMARY, None, date(2025, 8, 31)),
        (School.Type.NINE_YEAR, date(2025, 9, 1), None),
    ):
        SchoolSpell.objects.create(
            school=school,
            name="",
            township=township_a,
            school_type=school_type,
            ownership=school.ownership,
            is_rural=school.is_rural,
            valid_from=valid_from,
            valid_to=valid_to,
        )

    migration.names_from_history(None, SimpleNamespace(connection=connection))

    school.refresh_from_db()
    days = [date(2020, 1, 1), date(2024, 2, 29), date(2024, 3, 1), date(2025, 6, 14), date(2025, 6, 15)]
    days += [date(2025, 6, 16), date(2025, 8, 31), date(2025, 9, 1), date(2026, 1, 9), date(2026, 1, 10)]
    days += [timezone.localdate()]
    on_day = {
        day: School.objects.filter(pk=school.pk)
        .annotate(name_then=school_as_of(day, "name", "pk"), type_then=school_as_of(day, "school_type", "pk"))
        .values_list("name_then", "type_then")
        .get()
        for day in days
    }
    assert {day: name for day, (name, _) in on_day.items()} == {
        day: _name_from_history(school, day) for day in days
    }
    assert [on_day[date(2025, 6, day)][0] for day in (14, 15, 16)] == ["一名", "二名", "四名"]
    # The types are untouched by the splits.
    assert {day: t for day, (_, t) in on_day.items()} == {
        day: School.Type.PRIMARY if day < date(2025, 9, 1) else School.Type.NINE_YEAR for day in days
    }


def test_breakdowns_by_the_schools_attributes_then_equal_the_subquery_per_row(
    county, bureau, township_a, township_b, school_a, school_b
):
    """A county with a township merger and a type change this year: for last year and this, every row's
    township and type on the reference date read through the one join equal the former subquery per row, and
    so do the register's counts by township."""
    kindergarten = SchoolFactory(township=township_a, school_type=School.Type.KINDERGARTEN)
    StudentFactory(school=kindergarten, stage=Stage.PRESCHOOL, grade=1, enrolled_on=date(LAST - 1, 9, 1))
    services.township_merge(township=township_a, into=township_b, on=CHANGED_ON, by=bureau)
    school_b.refresh_from_db()
    school_b.school_type = School.Type.NINE_YEAR
    services.save_school(school_b, on=CHANGED_ON)

    for year in (LAST, YEAR):
        p = period(year)
        for rows, school in (
            (figures.register_students(county_register(p), p), "school"),
            (School.objects.all(), "pk"),
            (TeacherCount.objects.all(), "school"),
        ):
            joined = figures.schools_as_of(rows, p, figures.TOWNSHIP, figures.SCHOOL_TYPE, school=school)
            per_row = rows.annotate(
                t=school_as_of(p.reference, "township_id", school),
                k=school_as_of(p.reference, "school_type", school),
            )
            assert sorted(joined.values_list("pk", figures.TOWNSHIP, figures.SCHOOL_TYPE)) == sorted(
                per_row.values_list("pk", "t", "k")
            )
            assert joined.count() == rows.count()
        register = figures.register_students(county_register(p), p)
        (_, by_township, group), _ = figures.by_township_and_school(register, p)
        expected = {township_a.pk: 3, township_b.pk: 1} if year == LAST else {township_b.pk: 4}
        assert {k: v["n"] for k, v in grouped(by_township, group, n=Count("pk")).items()} == expected
