"""A child who changes school during an identification year (issue 17, attack): the former school's unfinished
identification ends (kept in the history), the new school runs its own annual identification from the day the
child came, and the level in force is the former school's until the new one's is confirmed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from students.models import Stage
from subsidies import selectors, services
from subsidies.facts import levels_on
from subsidies.models import Identification, IdentificationLevel
from tests.attack17.helpers import leave
from tests.refusals import nothing_written

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

YEAR = 2025  # the 2025-2026 school year: every date below is past
MOVED = date(YEAR, 10, 15)
SPECIAL, GENERAL = IdentificationLevel.SPECIAL, IdentificationLevel.GENERAL


def _apply(student, by, on):
    return services.identification_apply(
        by=by,
        student=student,
        school_year=YEAR,
        applied_on=on,
        family_members=4,
        family_income=Decimal("16000.00"),
        hardship_reasons="母亲重病",
        guardian_name="李某",
        guardian_declared=True,
    )


def _through(found, by, bureau, level, start):
    """Review, 公示 of 7 days, level, county confirmation, from `start` on."""
    services.identification_review(
        by=by, identification=found, members="班主任、家长代表", result=level, reviewed_on=start
    )
    services.identification_publicise(
        by=by,
        school=found.school,
        school_year=YEAR,
        starts_on=start.replace(day=start.day + 1),
        ends_on=start.replace(day=start.day + 7),
    )
    services.identification_decide(
        by=by, identification=found, level=level, decided_on=start.replace(day=start.day + 1)
    )
    return services.identification_confirm(by=bureau, identification=found)


def test_the_new_school_identifies_a_child_whose_former_school_had_not_finished(
    make_student, school_a, school_b, principal_a, principal_b, bureau
):
    student = make_student(Stage.PRIMARY, school=school_a, since=date(2020, 9, 1))
    at_a = _apply(student, principal_a, date(YEAR, 9, 3))
    services.identification_review(
        by=principal_a,
        identification=at_a,
        members="班主任、家长代表",
        result=SPECIAL,
        reviewed_on=date(YEAR, 9, 8),
    )
    leave(student, "", MOVED, school=school_b)  # the register: at 乙镇 from 15 October (the year's roll)
    at_b = _apply(student, principal_b, date(YEAR, 10, 20))
    assert (at_b.kind, at_b.school, at_b.effective_from) == ("annual", school_b, MOVED)
    at_a.refresh_from_db()
    assert at_a.status == Identification.Status.ENDED
    assert Identification.pgh_event_model.objects.filter(pgh_obj_id=at_a.pk, status="ended").exists()
    with nothing_written(at_a), pytest.raises(ValidationError) as refused:
        services.identification_confirm(by=bureau, identification=at_a)
    assert "已终止" in str(refused.value)
    _through(at_b, principal_b, bureau, GENERAL, date(YEAR, 10, 21))
    assert levels_on([student.pk], date(YEAR, 11, 1)) == {student.pk: GENERAL}
    assert levels_on([student.pk], date(YEAR, 9, 20)) == {}
    listed = {s.pk: s.identified_level for s in selectors.identified_students(YEAR, user=principal_b)}
    assert listed == {student.pk: GENERAL}


def test_a_level_confirmed_at_the_former_school_holds_until_the_new_schools(
    make_student, school_a, school_b, principal_a, principal_b, bureau
):
    student = make_student(Stage.PRIMARY, school=school_a, since=date(2020, 9, 1))
    _through(_apply(student, principal_a, date(YEAR, 9, 2)), principal_a, bureau, SPECIAL, date(YEAR, 9, 3))
    leave(student, "", MOVED, school=school_b)  # the register: at 乙镇 from 15 October (the year's roll)
    with pytest.raises(ValidationError) as twice:
        _apply(student, principal_b, date(YEAR, 9, 30))
    assert "2025-10-15" in str(twice.value)
    at_b = _apply(student, principal_b, date(YEAR, 10, 20))
    assert levels_on([student.pk], date(YEAR, 10, 30)) == {student.pk: SPECIAL}
    _through(at_b, principal_b, bureau, GENERAL, date(YEAR, 10, 21))
    assert levels_on([student.pk], date(YEAR, 10, 1)) == {student.pk: SPECIAL}
    assert levels_on([student.pk], date(YEAR, 11, 1)) == {student.pk: GENERAL}


def test_the_former_school_still_lists_the_child_it_identified_that_year(
    make_student, school_a, school_b, principal_a, principal_b, bureau, client_for
):
    """The year's list of identified students is the school's record of that year: a child identified at 甲镇
    who moved to 乙镇 in October stays on 甲镇's list of 2025-2026 (page and API); a child 甲镇 never had
    does not appear there."""
    moved = make_student(Stage.PRIMARY, school=school_a, name="王转学")
    _through(_apply(moved, principal_a, date(YEAR, 9, 2)), principal_a, bureau, SPECIAL, date(YEAR, 9, 3))
    leave(moved, "", MOVED, school=school_b)
    never_at_a = make_student(Stage.PRIMARY, school=school_b, name="赵本校")
    _through(
        _apply(never_at_a, principal_b, date(YEAR, 9, 2)), principal_b, bureau, GENERAL, date(YEAR, 9, 3)
    )

    assert {s.pk for s in selectors.identified_students(YEAR, user=principal_a)} == {moved.pk}
    # 乙's list is its own identifications: the child moved there is on it once 乙's is confirmed, not by 甲's.
    assert {s.pk for s in selectors.identified_students(YEAR, user=principal_b)} == {never_at_a.pk}
    assert {s.pk for s in selectors.identified_students(YEAR, user=bureau)} == {moved.pk, never_at_a.pk}
    # A year in which the child was never at 甲镇 is not 甲镇's to list.
    assert not selectors.identified_students(YEAR + 1, user=principal_a).filter(pk=moved.pk).exists()

    client = client_for(principal_a)
    page = client.get("/aid/identifications/identified/", {"school_year": YEAR})
    assert page.status_code == 200
    assert moved.name in page.content.decode() and never_at_a.name not in page.content.decode()
    api = client.get("/api/subsidies/identifications/identified/", {"school_year": YEAR})
    assert api.status_code == 200
    assert [row["id"] for row in api.json()["results"]] == [moved.pk]
