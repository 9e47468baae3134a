"""Outside attack on issue 17: the steps of a family's identification accept dates and students that make the
公示 and the objections meaningless. Each test states what a bureau user expects: refused, nothing written."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from students.models import Stage, Student, school_year_of
from subsidies import selectors, services
from subsidies.identification import publicity_rows
from tests.attack17.helpers import leave
from tests.refusals import nothing_written
from tests.subsidies.test_identification import YEAR, apply, decide, publicise, review

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

API = "/api/subsidies/identifications/"


@pytest.mark.parametrize(
    "starts_on, ends_on",
    [
        # Before the class review of 8 September (and the family's application of 3 September).
        (date(YEAR, 9, 1), date(YEAR, 9, 7)),
        # In the school year before: a 公示 nobody could have seen.
        (date(YEAR - 1, 3, 1), date(YEAR - 1, 3, 7)),
    ],
)
def test_a_publicity_dated_before_the_class_review_is_refused(
    make_student, school_a, principal_a, bureau, starts_on, ends_on
):
    """A back-dated 公示 is over the moment it is recorded: the county can confirm at once, so the
    families never had the period the county set to object."""
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    with nothing_written(found), pytest.raises(ValidationError):
        publicise(school_a, principal_a, starts_on=starts_on, ends_on=ends_on)


def test_a_back_dated_publicity_does_not_let_the_county_confirm_at_once(
    make_student, school_a, principal_a, bureau
):
    """The consequence: a school reviews today's application, records a 公示 that "ran" last year, decides,
    and the county confirms the same day."""
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    try:
        publicise(school_a, principal_a, starts_on=date(YEAR - 1, 3, 1), ends_on=date(YEAR - 1, 3, 7))
    except ValidationError:
        return  # refused at the 公示: fixed
    decide(found, principal_a)
    found.refresh_from_db()
    with nothing_written(found), pytest.raises(ValidationError):
        services.identification_confirm(by=bureau, identification=found)


def test_an_objection_dated_before_the_publicity_is_refused(make_student, school_a, principal_a):
    """Objections come during the 公示 (10 to 16 September): one "raised" on 5 September is refused."""
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    publicise(school_a, principal_a)
    found.refresh_from_db()
    with nothing_written(found), pytest.raises(ValidationError):
        services.identification_objection_add(
            by=principal_a, identification=found, raised_on=date(YEAR, 9, 5), content="家中有车"
        )


@pytest.mark.parametrize(
    "status", [Student.Status.GRADUATED, Student.Status.DROPPED_OUT, Student.Status.DECEASED]
)
def test_an_application_for_a_child_who_left_before_the_school_year_is_refused(
    make_student, school_a, principal_a, status
):
    """The child left the school's roll in July before the school year: the school cannot identify them for
    it (the level would pay the national grant to a child not at school)."""
    student = make_student(Stage.SENIOR, school=school_a)
    leave(student, status, date(YEAR, 7, 1))
    with nothing_written(), pytest.raises(ValidationError):
        apply(student, principal_a)


def test_an_application_for_a_school_year_years_ahead_is_refused(make_student, school_a, principal_a):
    today = timezone.localdate()
    student = make_student(Stage.SENIOR, school=school_a)
    with nothing_written(), pytest.raises(ValidationError):
        apply(student, principal_a, school_year=school_year_of(today) + 3, applied_on=today)


def test_an_in_year_change_taking_effect_after_today_is_refused(make_student, school_a, principal_a):
    """An in-year change records a sudden hardship that has happened: one dated months ahead is refused."""
    today = timezone.localdate()
    year = school_year_of(today)
    effective = min(today + timedelta(days=60), date(year + 1, 8, 31))
    if effective <= today + timedelta(days=7):
        pytest.skip("too close to the end of the school year to date a change ahead within it")
    student = make_student(Stage.SENIOR, school=school_a)
    with nothing_written(), pytest.raises(ValidationError):
        apply(
            student,
            principal_a,
            school_year=year,
            kind="in_year",
            effective_from=effective,
            applied_on=today,
        )


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_apis_refusal_of_an_unknown_objection_is_in_chinese(make_student, school_a, principal_a):
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    publicise(school_a, principal_a)
    with nothing_written():
        response = _api(principal_a).post(
            f"{API}{found.pk}/resolve-objection/",
            {"objection": 999999, "outcome": "dismissed", "finding": "核实", "resolved_on": "2025-09-15"},
            format="json",
        )
    assert response.status_code == 400
    assert re.search(r"[\u4e00-\u9fff]", str(response.json())), response.json()


def test_the_apis_refusal_of_a_school_outside_the_users_area_is_in_chinese(principal_a, school_b, township_b):
    with nothing_written():
        response = _api(principal_a).post(
            f"{API}publicise/",
            {"school": 999999, "school_year": YEAR, "starts_on": "2025-09-10", "ends_on": "2025-09-16"},
            format="json",
        )
    assert response.status_code == 400
    assert re.search(r"[\u4e00-\u9fff]", str(response.json())), response.json()


def test_a_level_dated_before_the_class_review_is_refused(make_student, school_a, principal_a):
    """The review refuses a date before the application, an outcome one before its objection; the school's
    level takes any date, even 1900-01-01, before the 民主评议 it rests on (8 September)."""
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    with nothing_written(found), pytest.raises(ValidationError):
        services.identification_decide(
            by=principal_a, identification=found, level="special", decided_on=date(YEAR, 9, 7)
        )


def test_the_publicity_of_a_past_year_prints_the_grade_of_that_year(make_student, school_a, principal_a):
    """The 2025-2026 公示 printed again (for the file, or for an inspection) must read as it was posted: the
    child was in grade 1 then, in grade 2 since September 2026."""
    student = make_student(Stage.SENIOR, school=school_a, grade=1)
    review(apply(student, principal_a), principal_a)
    publicise(school_a, principal_a)
    leave(student, "", date(YEAR + 1, 9, 1), grade=2)
    rows = publicity_rows(selectors.publicity_list(YEAR, school_a, user=principal_a))
    assert [(row[1], row[2]) for row in rows] == [(student.name, 1)]
