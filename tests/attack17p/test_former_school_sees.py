"""Attack (a17p) on fix 7 (Student.objects.visible_during, selectors.identified_students(user=...)): the former
school's year list keeps a child who moved on, "on the list of the school that identified them". It keeps
every child who passed through the school during the year, with what the NEW school found and the family's
categories of after the move: the former principal reads another school's identification (level and date)
and another department's list (低保, from after the child left) for a child they never identified."""

from __future__ import annotations

from datetime import date

import pytest

from students.models import Stage, Student
from subsidies import selectors
from subsidies.models import IdentificationLevel
from tests.attack17.helpers import leave
from tests.factories import CategoryFactory
from tests.subsidies.test_identification_transfer import _apply, _through

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

YEAR = 2025
MOVED = date(YEAR, 10, 15)
API = "/api/subsidies/identifications/identified/"


def _identified_at_b_only(make_student, school_a, school_b, principal_b, bureau):
    """At 甲 from 2020 to 14 October 2025 (never identified there, no category); at 乙 from 15 October, where
    乙 identifies them 特别困难 and the family is on the 低保 list from 1 December."""
    student = make_student(Stage.SENIOR, school=school_a, since=date(2020, 9, 1), name="乙校认定")
    leave(student, "", MOVED, school=school_b)
    _through(
        _apply(student, principal_b, date(YEAR, 10, 20)),
        principal_b,
        bureau,
        IdentificationLevel.SPECIAL,
        date(YEAR, 10, 21),
    )
    CategoryFactory(student=student, category="dibao", valid_from=date(YEAR, 12, 1), source="民政局低保名单")
    return student


def test_the_former_principal_does_not_see_the_new_schools_finding_in_the_year_list(
    make_student, school_a, school_b, principal_a, principal_b, bureau
):
    student = _identified_at_b_only(make_student, school_a, school_b, principal_b, bureau)
    mine = {s.pk: s for s in selectors.identified_students(YEAR, user=principal_a)}
    seen = mine.get(student.pk)
    assert seen is None, (
        f"甲's principal never identified the child (at 甲 until 2025-10-14, no category then) and reads on 甲's "
        f"year list: level {seen.identified_level} from {seen.identified_from} (乙's), categories "
        f"{seen.identified_categories} from {seen.category_sources} (from 2025-12-01, after the move)"
    )


def test_the_former_principal_does_not_get_it_through_the_api(
    make_student, school_a, school_b, principal_a, principal_b, bureau, client_for
):
    student = _identified_at_b_only(make_student, school_a, school_b, principal_b, bureau)
    body = client_for(principal_a).get(API, {"school_year": YEAR}).json()
    rows = [r for r in body["results"] if r["id"] == student.pk]
    assert not rows, f"甲's principal gets 乙's finding through the API: {rows}"


def test_a_child_who_left_the_school_years_ago_is_not_on_its_list(
    make_student, school_a, school_b, principal_a, principal_b, bureau
):
    """Dropped out of 甲 in 2023 (the register keeps them at 甲, dropped out); enrolled at 乙 on 15 October
    2025 and identified there. 甲 had nothing to do with the child this year."""
    student = make_student(Stage.SENIOR, school=school_a, name="早已辍学")
    leave(student, Student.Status.DROPPED_OUT, date(YEAR, 9, 1))  # the register's earliest open date
    leave(student, Student.Status.ENROLLED, MOVED, school=school_b)
    _through(
        _apply(student, principal_b, date(YEAR, 10, 20)),
        principal_b,
        bureau,
        IdentificationLevel.DIFFICULT,
        date(YEAR, 10, 21),
    )
    mine = {s.pk: s for s in selectors.identified_students(YEAR, user=principal_a)}
    seen = mine.get(student.pk)
    assert seen is None, (
        f"a child at 甲 this year only as dropped out is on 甲's identified list with 乙's level "
        f"{seen.identified_level}"
    )


def test_the_former_township_officer_does_not_see_the_new_schools_finding(
    make_student, school_a, school_b, principal_b, bureau, township_officer, client_for
):
    """The same for 甲镇's township officer: the child lives in 乙镇 and goes to school there from 15 October."""
    student = make_student(
        Stage.SENIOR,
        school=school_a,
        since=date(2020, 9, 1),
        name="乙镇孩子",
        home_township=school_b.township,
    )
    leave(student, "", MOVED, school=school_b)
    _through(
        _apply(student, principal_b, date(YEAR, 10, 20)),
        principal_b,
        bureau,
        IdentificationLevel.SPECIAL,
        date(YEAR, 10, 21),
    )
    body = client_for(township_officer).get(API, {"school_year": YEAR}).json()
    rows = [r for r in body["results"] if r["id"] == student.pk]
    assert not rows, f"甲镇's township officer gets 乙's finding: {rows}"


def test_the_former_principals_page_does_not_show_the_new_schools_finding(
    make_student, school_a, school_b, principal_a, principal_b, bureau, client_for
):
    student = _identified_at_b_only(make_student, school_a, school_b, principal_b, bureau)
    page = client_for(principal_a).get("/aid/identifications/identified/", {"school_year": YEAR})
    assert page.status_code == 200
    html = page.content.decode()
    assert student.name not in html, (
        "甲's page lists the child with 乙's level and the 低保 list of after the move"
    )
