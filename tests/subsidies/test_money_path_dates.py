"""The money path of issue 17 against dates (the a17m attack): a batch drawn on a day of its own term, a child
enrolled after a term not drawn for it, a child recorded late but enrolled before still drawn, and a year's fee
waiver paid to the fen over its two terms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from students.models import Stage
from subsidies import eligibility, services
from subsidies.facts import facts_on
from subsidies.models import Payment, Term, term_share
from tests.factories import CategoryFactory
from tests.refusals import nothing_written

pytestmark = pytest.mark.django_db


def test_a_batch_drawn_on_a_day_of_another_term_is_refused_in_chinese(bureau):
    with nothing_written(), pytest.raises(ValidationError) as refused:
        services.batch_generate(
            aid_type="non_boarder_allowance",
            school_year=2024,
            term=Term.SPRING,
            by=bureau,
            on=date(2025, 10, 1),
        )
    assert "须按该学期内的日期" in str(refused.value)


def test_a_child_enrolled_after_the_term_is_left_out_and_one_enrolled_before_is_drawn(
    make_student, school_a, bureau
):
    late = make_student(Stage.PRIMARY, school=school_a, categories=["dibao"], enrolled_on=date(2026, 3, 10))
    # Enrolled before the term: drawn as before.
    here = make_student(Stage.PRIMARY, school=school_a, categories=["dibao"], enrolled_on=date(2023, 9, 1))
    # Recorded during the term (an imported roll is dated the day of its import): still drawn for it.
    recorded = make_student(
        Stage.PRIMARY, school=school_a, categories=["dibao"], enrolled_on=date(2025, 10, 15)
    )
    batch = services.batch_generate(
        aid_type="non_boarder_allowance", school_year=2025, term=Term.AUTUMN, by=bureau
    )
    drawn = set(Payment.objects.filter(batch=batch).values_list("student_id", flat=True))
    assert here.pk in drawn and late.pk not in drawn
    assert recorded.pk in drawn
    assert eligibility.decide(late, "non_boarder_allowance", date(2025, 9, 1)) is None
    spring = eligibility.decide(late, "non_boarder_allowance", date(2026, 3, 10))
    assert spring is not None and spring.payable


def test_a_child_recorded_during_the_term_holds_the_categories_written_with_their_record(
    make_student, school_a, bureau
):
    """A roll imported on 15 October writes each new child's spell and categories from that day: for the
    autumn term (drawn on 1 September) the child is taken as first registered, categories included; a
    category added to the record later is not held before its own date."""
    recorded_on = date(2025, 10, 15)
    imported = make_student(
        Stage.PRIMARY, school=school_a, categories=["dibao"], enrolled_on=recorded_on, since=recorded_on
    )
    added_later = make_student(Stage.PRIMARY, school=school_a, enrolled_on=recorded_on)
    CategoryFactory(student=added_later, category="dibao", valid_from=date(2025, 11, 20))
    assert facts_on([imported.pk], date(2025, 9, 1))[imported.pk].categories == {"dibao"}
    assert facts_on([added_later.pk], date(2025, 9, 1))[added_later.pk].categories == set()
    batch = services.batch_generate(
        aid_type="non_boarder_allowance", school_year=2025, term=Term.AUTUMN, by=bureau
    )
    drawn = set(Payment.objects.filter(batch=batch).values_list("student_id", flat=True))
    assert imported.pk in drawn
    assert added_later.pk not in drawn


@pytest.mark.parametrize(
    ("year", "autumn", "spring"),
    [("1500.00", "750.00", "750.00"), ("1200.03", "600.02", "600.01"), ("1200.01", "600.00", "600.01")],
)
def test_a_years_amount_splits_into_two_terms_that_add_up_to_it(year, autumn, spring):
    assert term_share(Decimal(year), Term.AUTUMN) == Decimal(autumn)
    assert term_share(Decimal(year), Term.SPRING) == Decimal(spring)
