"""Attack (a17n) on fix 5: a child who changes school during the identification year."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from students.models import Stage
from subsidies import services
from subsidies.facts import levels_on
from subsidies.models import Identification, IdentificationLevel
from tests.attack17.helpers import leave
from tests.factories import SchoolFactory, TownshipFactory, UserFactory
from tests.refusals import nothing_written
from tests.subsidies.test_identification_transfer import _apply, _through

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

YEAR = 2025
MOVED = date(YEAR, 10, 15)
SPECIAL, DIFFICULT, GENERAL = (
    IdentificationLevel.SPECIAL,
    IdentificationLevel.DIFFICULT,
    IdentificationLevel.GENERAL,
)


def _review(found, by, result, on):
    return services.identification_review(
        by=by, identification=found, members="班主任、家长代表", result=result, reviewed_on=on
    )


def test_the_new_schools_finding_of_no_difficulty_ends_the_former_schools_level(
    make_student, school_a, school_b, principal_a, principal_b, bureau
):
    """特别困难 at 甲 from 1 September; the child moves to 乙 on 15 October; 乙's own annual identification (the one
    that replaces 甲's from the day the child came) finds the family not in difficulty. The former school's
    level must not go on paying the upper tier all year: either the county confirms 乙's finding or the level
    stops from 15 October."""
    student = make_student(Stage.SENIOR, school=school_a, since=date(2020, 9, 1))
    _through(_apply(student, principal_a, date(YEAR, 9, 2)), principal_a, bureau, SPECIAL, date(YEAR, 9, 3))
    leave(student, "", MOVED, school=school_b)
    at_b = _apply(student, principal_b, date(YEAR, 10, 20))
    at_b = _review(at_b, principal_b, "not_difficult", date(YEAR, 10, 22))
    refusal = None
    try:
        services.identification_confirm(by=bureau, identification=at_b)
    except ValidationError as exc:
        refusal = exc
    later = levels_on([student.pk], date(YEAR + 1, 3, 1)).get(student.pk, "")
    assert later == "", (
        f"乙's annual identification found no difficulty (status {at_b.status}); the county's confirmation "
        f"answered {refusal}; the level in force on 2026-03-01 is still {later!r} from 甲's"
    )


def test_two_transfers_each_new_school_from_the_day_the_child_came(
    make_student, school_a, school_b, principal_a, principal_b, bureau
):
    """Held check: 甲 → 乙 (15 Oct) → 丙 (1 Dec); 丙 cannot date its identification before 1 Dec; 乙's
    unfinished one ends on 丙's application; 甲's confirmed level holds until 丙's is confirmed."""
    school_c = SchoolFactory(township=TownshipFactory(name="丙镇"), name="丙镇中学")
    principal_c = UserFactory(username="principal_c", role="principal", school=school_c)
    student = make_student(Stage.SENIOR, school=school_a, since=date(2020, 9, 1))
    _through(_apply(student, principal_a, date(YEAR, 9, 2)), principal_a, bureau, SPECIAL, date(YEAR, 9, 3))
    leave(student, "", MOVED, school=school_b)
    at_b = _review(_apply(student, principal_b, date(YEAR, 10, 20)), principal_b, GENERAL, date(YEAR, 10, 22))
    leave(student, "", date(YEAR, 12, 1), school=school_c)
    at_b.refresh_from_db()
    with nothing_written(at_b), pytest.raises(ValidationError):
        _apply(student, principal_c, date(YEAR, 11, 30))
    at_c = _apply(student, principal_c, date(YEAR, 12, 3))
    assert at_c.effective_from == date(YEAR, 12, 1)
    at_b.refresh_from_db()
    assert at_b.status == Identification.Status.ENDED
    assert levels_on([student.pk], date(YEAR, 12, 20)) == {student.pk: SPECIAL}
    _through(at_c, principal_c, bureau, DIFFICULT, date(YEAR, 12, 4))
    assert levels_on([student.pk], date(YEAR, 11, 20)) == {student.pk: SPECIAL}
    assert levels_on([student.pk], date(YEAR, 12, 2)) == {student.pk: DIFFICULT}


def test_a_child_back_at_the_first_school_is_identified_there_again_from_the_day_they_came_back(
    make_student, school_a, school_b, principal_a, principal_b, bureau
):
    """甲 (unfinished) → 乙 (15 Oct, 乙 applies: 甲's ends) → back at 甲 on 1 March. 甲 runs the child's
    identification from 1 March (an in-year one, its annual having ended); 乙's unfinished one ends."""
    student = make_student(Stage.SENIOR, school=school_a, since=date(2020, 9, 1))
    at_a = _review(_apply(student, principal_a, date(YEAR, 9, 2)), principal_a, SPECIAL, date(YEAR, 9, 3))
    leave(student, "", MOVED, school=school_b)
    at_b = _apply(student, principal_b, date(YEAR, 10, 20))
    leave(student, "", date(YEAR + 1, 3, 1), school=school_a)
    with pytest.raises(ValidationError):
        services.identification_review(
            by=principal_a,
            identification=at_a,
            members="班主任",
            result=SPECIAL,
            reviewed_on=date(YEAR + 1, 3, 2),
        )
    back = services.identification_apply(
        by=principal_a,
        student=student,
        school_year=YEAR,
        applied_on=date(YEAR + 1, 3, 3),
        family_members=4,
        family_income="16000.00",
        hardship_reasons="母亲重病",
        guardian_name="李某",
        guardian_declared=True,
        kind="in_year",
        effective_from=date(YEAR + 1, 3, 1),
    )
    at_b.refresh_from_db()
    assert at_b.status == Identification.Status.ENDED
    _through(back, principal_a, bureau, GENERAL, date(YEAR + 1, 3, 4))
    assert levels_on([student.pk], date(YEAR + 1, 3, 20)) == {student.pk: GENERAL}
    assert levels_on([student.pk], date(YEAR, 11, 1)) == {}


def test_the_former_schools_principal_cannot_run_steps_after_the_move_through_the_api(
    make_student, school_a, school_b, principal_a, principal_b, client_for
):
    """Held check: the API refuses 甲's principal a step on 甲's identification once the child is at 乙, and
    乙's principal never sees 甲's record."""
    student = make_student(Stage.SENIOR, school=school_a, since=date(2020, 9, 1))
    at_a = _apply(student, principal_a, date(YEAR, 9, 2))
    leave(student, "", MOVED, school=school_b)
    api = f"/api/subsidies/identifications/{at_a.pk}/review/"
    body = {"members": "班主任", "result": "special", "reviewed_on": "2025-10-20"}
    at_a.refresh_from_db()
    with nothing_written(at_a):
        mine = client_for(principal_a).post(api, body, content_type="application/json")
        theirs = client_for(principal_b).post(api, body, content_type="application/json")
    assert mine.status_code == 400, mine.content
    assert theirs.status_code == 404, theirs.content


def test_a_move_recorded_late_on_the_first_day_of_the_year_lets_the_new_school_identify(
    make_student, school_a, school_b, principal_a, principal_b
):
    """甲 applied on 3 September (its annual identification, effective 1 September); on 5 September the
    register records that the child has been at 乙 since 1 September (the first day of the year). 乙 runs the
    child's annual identification from the day the child came, 1 September, and 甲's unfinished one ends."""
    student = make_student(Stage.SENIOR, school=school_a, since=date(2020, 9, 1))
    at_a = _apply(student, principal_a, date(YEAR, 9, 3))
    leave(student, "", date(YEAR, 9, 1), school=school_b)
    try:
        at_b = _apply(student, principal_b, date(YEAR, 9, 8))
    except ValidationError as exc:
        pytest.fail(f"乙 cannot run the child's annual identification: {exc}")
    at_a.refresh_from_db()
    assert (at_b.school, at_b.effective_from, at_a.status) == (school_b, date(YEAR, 9, 1), "ended")


def test_the_new_school_ends_the_former_level_by_an_in_year_finding_and_not_before_the_child_came(
    make_student, school_a, school_b, principal_a, principal_b, bureau, client_for
):
    """Held check (the route that works): 乙 records an in-year finding of no difficulty; the county confirms
    it as a withdrawal. An in-year change dated before the child came is refused through the API."""
    student = make_student(Stage.SENIOR, school=school_a, since=date(2020, 9, 1))
    _through(_apply(student, principal_a, date(YEAR, 9, 2)), principal_a, bureau, SPECIAL, date(YEAR, 9, 3))
    leave(student, "", MOVED, school=school_b)
    body = {
        "student": student.pk,
        "school_year": YEAR,
        "kind": "in_year",
        "effective_from": "2025-10-10",
        "applied_on": "2025-10-20",
        "family_members": 4,
        "family_income": "16000.00",
        "hardship_reasons": "家庭收入好转",
        "guardian_name": "李某",
        "guardian_declared": True,
    }
    with nothing_written():
        early = client_for(principal_b).post(
            "/api/subsidies/identifications/", body, content_type="application/json"
        )
    assert early.status_code == 400, early.json()
    made = client_for(principal_b).post(
        "/api/subsidies/identifications/",
        body | {"effective_from": "2025-11-01"},
        content_type="application/json",
    )
    assert made.status_code == 201, made.json()
    change = Identification.objects.get(pk=made.json()["id"])
    _review(change, principal_b, "not_difficult", date(YEAR, 11, 2))
    services.identification_confirm(by=bureau, identification=change)
    assert levels_on([student.pk], date(YEAR, 11, 5)) == {student.pk: ""}
    assert levels_on([student.pk], date(YEAR, 10, 20)) == {student.pk: SPECIAL}
