"""Attack (a17n) on fix 1: subsidies.facts.categories_on gives a child not on the register on day D, but
registered later, the categories valid on their first spell's first day. The term bound ("a child imported
mid-term is paid for that term") rests on Student.enrolled_on: a child recorded without an enrolment date (the
registry's form allows it; their spell starts on the day they were recorded) is taken as a member of every
earlier term, with its categories."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction

from students import register
from students.models import Stage
from subsidies import eligibility
from subsidies.facts import facts_on

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

RECORDED = date(2026, 8, 18)  # a child recorded in the summer holiday, after the spring term (ends 31 July)


def _recorded_in_august(make_student, school_a):
    with transaction.atomic(), register.effective(RECORDED, source="new"):
        return make_student(
            Stage.PRIMARY,
            school=school_a,
            categories=["dibao"],
            since=RECORDED,
            enrolled_on=None,
            name="八月新生",
        )


@pytest.mark.parametrize("day", [date(2026, 3, 1), date(2025, 9, 1)], ids=["spring-2026", "autumn-2025"])
def test_a_child_first_recorded_after_a_term_is_not_aided_for_it_by_its_categories(
    make_student, school_a, day
):
    student = _recorded_in_august(make_student, school_a)
    facts = facts_on([student.pk], day)[student.pk]
    granted = eligibility.decide(student, "non_boarder_allowance", day)
    assert granted is None, (
        f"a child on the register only from {RECORDED} (no enrolment date) is taken on {day} as "
        f"{facts.status} with categories {facts.categories} and granted {granted.amount_per_term} for that term"
    )


def test_a_child_recorded_mid_term_without_an_enrolment_date_holds_the_categories_of_that_term(
    make_student, school_a
):
    """Held check (the fix's own case, without an enrolment date): recorded 15 October, 低保 from then: the
    autumn term (1 September) is theirs."""
    with transaction.atomic(), register.effective(date(2025, 10, 15), source="new"):
        student = make_student(
            Stage.PRIMARY, school=school_a, categories=["dibao"], since=date(2025, 10, 15), enrolled_on=None
        )
    assert facts_on([student.pk], date(2025, 9, 1))[student.pk].categories == {"dibao"}


def test_a_child_recorded_in_august_through_the_registry_is_drawn_for_the_spring_term_that_ended_before(
    school_a, principal_a, bureau
):
    """The registry's own path: on 20 August 2026 the principal records a new pupil without an enrolment date
    (the form allows it) and adds 低保 from that day. The spring term (1 March - 31 July 2026) was over before
    the child was on any roll; its non-boarder allowance batch, drawn now, must not pay them."""
    from students import id_numbers
    from students import services as student_services
    from subsidies import services
    from subsidies.models import Payment
    from tests.factories import make_id_number

    number = make_id_number(date(2016, 5, 5))
    parsed = id_numbers.parse(number)
    student = student_services.student_create(
        by=principal_a,
        name="八月新生",
        id_number=number,
        sex=parsed.sex,
        birth_date=parsed.birth_date,
        school=school_a,
        stage=Stage.PRIMARY,
        grade=2,
        household_county_code=number[:6],
        home_township=school_a.township,
        status="enrolled",
    )
    assert student.enrolled_on is None
    student_services.category_add(
        student=student, category="dibao", valid_from=date(2026, 8, 20), by=principal_a, source="民政局"
    )
    batch = services.batch_generate(
        aid_type="non_boarder_allowance", school_year=2025, term="spring", by=bureau
    )
    drawn = Payment.objects.filter(batch=batch, student=student).values_list("amount", flat=True)
    assert not drawn, f"recorded on 2026-08-20, drawn for the 2025-2026 spring term: {list(drawn)}"


def test_a_child_recorded_now_with_an_old_enrolment_date_is_not_aided_for_an_ended_year(
    school_a, principal_a
):
    """Recorded on 20 August 2026 with an enrolment date of 1 September 2024 and 低保 since then: the registry
    puts the child on the register from 1 September 2025 only ("a past year's register comes from that year's
    roll"). The 2024-2025 spring term (1 March 2025) is not theirs: no aid of it by their categories."""
    from students import id_numbers
    from students import services as student_services
    from tests.factories import make_id_number

    number = make_id_number(date(2016, 6, 6))
    parsed = id_numbers.parse(number)
    student = student_services.student_create(
        by=principal_a,
        name="补录学生",
        id_number=number,
        sex=parsed.sex,
        birth_date=parsed.birth_date,
        school=school_a,
        stage=Stage.PRIMARY,
        grade=2,
        household_county_code=number[:6],
        home_township=school_a.township,
        status="enrolled",
        enrolled_on=date(2024, 9, 1),
    )
    student_services.category_add(
        student=student, category="dibao", valid_from=date(2024, 9, 1), by=principal_a, source="民政局"
    )
    day = date(2025, 3, 1)
    facts = facts_on([student.pk], day)[student.pk]
    granted = eligibility.decide(student, "non_boarder_allowance", day)
    assert granted is None, (
        f"on the register from 2025-09-01 only, taken on {day} as {facts.status} with {facts.categories}: "
        f"granted {granted.amount_per_term}"
    )
