"""Attack (a17p) on fix 5: a moved child's new school identifies from the day they came; its confirmed finding
of no difficulty ends the former school's level (a withdrawal); the day's uniqueness ignores ended ones."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from students.models import Stage
from subsidies import eligibility, services
from subsidies.facts import levels_on
from subsidies.models import IdentificationLevel, Payment
from tests.attack17.helpers import leave
from tests.refusals import nothing_written
from tests.subsidies.test_identification_transfer import _apply, _through

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

YEAR = 2025
MOVED = date(YEAR, 10, 15)
SPECIAL = IdentificationLevel.SPECIAL
API = "/api/subsidies/identifications/"


def _review(found, by, result, on):
    return services.identification_review(
        by=by, identification=found, members="班主任、家长代表", result=result, reviewed_on=on
    )


def test_a_move_dated_from_the_first_day_lets_the_new_school_identify_after_a_confirmed_level(
    make_student, school_a, school_b, principal_a, principal_b, bureau
):
    """甲 identified the child 特别困难 (confirmed, effective 1 September); on 20 September the register records
    that the child has been at 乙 since 1 September. 乙 runs the child's annual identification from the day they
    came (1 September): refused, "already has an identification of this school year from this date", since
    甲's CONFIRMED one holds the day (the uniqueness ignores only ended ones). 甲's level then stands all year
    at 乙 with no annual identification of 乙 able to replace or withdraw it."""
    student = make_student(Stage.SENIOR, school=school_a, since=date(2020, 9, 1))
    _through(_apply(student, principal_a, date(YEAR, 9, 2)), principal_a, bureau, SPECIAL, date(YEAR, 9, 3))
    leave(student, "", date(YEAR, 9, 1), school=school_b)
    try:
        at_b = _apply(student, principal_b, date(YEAR, 9, 20))
    except ValidationError as exc:
        pytest.fail(f"乙 cannot run the annual identification of a child at 乙 since 1 September: {exc}")
    assert at_b.effective_from == date(YEAR, 9, 1)


def _withdrawn_at_b(make_student, school_a, school_b, principal_a, principal_b, bureau):
    student = make_student(Stage.SENIOR, school=school_a, since=date(2020, 9, 1))
    _through(_apply(student, principal_a, date(YEAR, 9, 2)), principal_a, bureau, SPECIAL, date(YEAR, 9, 3))
    leave(student, "", MOVED, school=school_b)
    at_b = _review(
        _apply(student, principal_b, date(YEAR, 10, 20)), principal_b, "not_difficult", date(YEAR, 10, 22)
    )
    return student, at_b


def test_the_confirmed_withdrawal_stops_the_spring_grant(
    make_student, school_a, school_b, principal_a, principal_b, bureau
):
    student, at_b = _withdrawn_at_b(make_student, school_a, school_b, principal_a, principal_b, bureau)
    services.identification_confirm(by=bureau, identification=at_b)
    assert eligibility.decide(student, "national_grant", date(YEAR, 9, 1)).amount_per_term > 0
    spring = eligibility.decide(student, "national_grant", date(YEAR + 1, 3, 1))
    assert spring is None, f"withdrawn from 2025-10-15, granted {spring.amount_per_term} for the spring term"
    batch = services.batch_generate(aid_type="national_grant", school_year=YEAR, term="spring", by=bureau)
    drawn = list(Payment.objects.filter(batch=batch, student=student).values_list("amount", flat=True))
    assert not drawn, drawn


def test_the_api_refuses_a_level_on_the_new_schools_withdrawal(
    make_student, school_a, school_b, principal_a, principal_b, bureau, client_for
):
    student, at_b = _withdrawn_at_b(make_student, school_a, school_b, principal_a, principal_b, bureau)
    at_b.refresh_from_db()
    with nothing_written(at_b):
        answer = client_for(bureau).post(
            f"{API}{at_b.pk}/confirm/", {"level": "general"}, content_type="application/json"
        )
    assert answer.status_code == 400, (answer.status_code, answer.content)
    ok = client_for(bureau).post(f"{API}{at_b.pk}/confirm/", {}, content_type="application/json")
    assert ok.status_code == 200, ok.content
    assert levels_on([student.pk], date(YEAR + 1, 3, 1)) == {student.pk: ""}


def test_a_not_difficult_annual_of_a_child_never_identified_is_no_withdrawal(
    make_student, school_a, school_b, principal_a, principal_b, bureau
):
    student = make_student(Stage.SENIOR, school=school_a, since=date(2020, 9, 1))
    leave(student, "", MOVED, school=school_b)
    at_b = _review(
        _apply(student, principal_b, date(YEAR, 10, 20)), principal_b, "not_difficult", date(YEAR, 10, 22)
    )
    at_b.refresh_from_db()
    with nothing_written(at_b), pytest.raises(ValidationError):
        services.identification_confirm(by=bureau, identification=at_b)


def test_back_at_the_first_school_its_in_year_finding_of_no_difficulty_withdraws_the_new_schools_level(
    make_student, school_a, school_b, principal_a, principal_b, bureau
):
    """甲 特别困难 → 乙 (15 Oct) confirms 一般困难 → back at 甲 on 2 March: 甲's in-year finding of no difficulty
    from 2 March, confirmed, ends the level."""
    student = make_student(Stage.SENIOR, school=school_a, since=date(2020, 9, 1))
    _through(_apply(student, principal_a, date(YEAR, 9, 2)), principal_a, bureau, SPECIAL, date(YEAR, 9, 3))
    leave(student, "", MOVED, school=school_b)
    _through(
        _apply(student, principal_b, date(YEAR, 10, 20)),
        principal_b,
        bureau,
        IdentificationLevel.GENERAL,
        date(YEAR, 10, 21),
    )
    leave(student, "", date(YEAR + 1, 3, 2), school=school_a)
    back = services.identification_apply(
        by=principal_a,
        student=student,
        school_year=YEAR,
        applied_on=date(YEAR + 1, 3, 3),
        family_members=4,
        family_income="30000.00",
        hardship_reasons="家庭收入好转",
        guardian_name="李某",
        guardian_declared=True,
        kind="in_year",
        effective_from=date(YEAR + 1, 3, 2),
    )
    _review(back, principal_a, "not_difficult", date(YEAR + 1, 3, 4))
    services.identification_confirm(by=bureau, identification=back)
    assert levels_on([student.pk], date(YEAR + 1, 3, 10)) == {student.pk: ""}
    assert levels_on([student.pk], date(YEAR + 1, 3, 1)) == {student.pk: IdentificationLevel.GENERAL}


def test_a_move_dated_from_the_first_day_then_the_new_schools_finding_is_the_one_in_force(
    make_student, school_a, school_b, principal_a, principal_b, bureau
):
    """The same move, dated from 1 September after 甲 confirmed 特别困难: 乙's confirmed level (一般困难) is the one
    in force from 1 September (of two findings of one day, the later); a finding of no difficulty at 乙, once
    confirmed, leaves no level at all."""
    from subsidies.facts import levels_on

    student = make_student(Stage.SENIOR, school=school_a, since=date(2020, 9, 1))
    _through(_apply(student, principal_a, date(YEAR, 9, 2)), principal_a, bureau, SPECIAL, date(YEAR, 9, 3))
    leave(student, "", date(YEAR, 9, 1), school=school_b)
    at_b = _apply(student, principal_b, date(YEAR, 9, 20))
    assert levels_on([student.pk], date(YEAR, 10, 1)) == {student.pk: SPECIAL}
    _through(at_b, principal_b, bureau, IdentificationLevel.GENERAL, date(YEAR, 9, 21))
    assert levels_on([student.pk], date(YEAR, 10, 1)) == {student.pk: IdentificationLevel.GENERAL}

    other = make_student(Stage.SENIOR, school=school_a, since=date(2020, 9, 1))
    _through(_apply(other, principal_a, date(YEAR, 9, 2)), principal_a, bureau, SPECIAL, date(YEAR, 9, 3))
    leave(other, "", date(YEAR, 9, 1), school=school_b)
    found = _review(
        _apply(other, principal_b, date(YEAR, 9, 20)), principal_b, "not_difficult", date(YEAR, 9, 22)
    )
    services.identification_confirm(by=bureau, identification=found)
    assert levels_on([other.pk], date(YEAR, 10, 1)).get(other.pk, "") == ""
