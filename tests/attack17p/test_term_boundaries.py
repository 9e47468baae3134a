"""Attack (a17p) on fix 1 at the term's edges: facts._states_and_day takes a term to end on 31 January / 31 July
(models.common.term_end), while a batch of the term may be drawn on any day `term_of` gives to it, which runs
to the end of February / of August (batch_create: "a batch of a term is drawn on a day of that term"). A
spring batch drawn on 20 August (or an autumn batch on 20 February) pays a child first recorded after the
term ended, by the categories of that recording: the very case the fix refuses for a batch drawn on
1 March."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from students import register
from students.models import Stage
from subsidies import eligibility, services
from subsidies.models import DisbursementBatch, Payment

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]


def _recorded(make_student, school, on):
    with transaction.atomic(), register.effective(on, source="new"):
        return make_student(
            Stage.PRIMARY, school=school, categories=["dibao"], since=on, enrolled_on=None, name="期末后新生"
        )


@pytest.mark.parametrize(
    "recorded, term, drawn_on",
    [
        (date(2026, 8, 18), "spring", date(2026, 8, 20)),
        (date(2026, 2, 10), "autumn", date(2026, 2, 20)),
    ],
    ids=["spring-drawn-in-august", "autumn-drawn-in-february"],
)
def test_a_batch_drawn_after_the_term_ended_does_not_pay_a_child_recorded_after_it(
    make_student, school_a, bureau, recorded, term, drawn_on
):
    student = _recorded(make_student, school_a, recorded)
    assert (
        eligibility.decide(
            student, "non_boarder_allowance", date(2026, 3, 1) if term == "spring" else date(2025, 9, 1)
        )
        is None
    )  # the fix's own case holds
    # A batch of the term is drawn on a day of the term itself, not of the holiday after it: refused, nothing
    # written (before the fix it was drawn, and paid the child recorded in the holiday).
    with pytest.raises(ValidationError) as refused:
        services.batch_generate(
            aid_type="non_boarder_allowance", school_year=2025, term=term, by=bureau, on=drawn_on
        )
    assert drawn_on.isoformat() in str(refused.value)
    assert not Payment.objects.filter(student=student).exists()
    assert not DisbursementBatch.objects.filter(school_year=2025, term=term).exists()


@pytest.mark.parametrize(
    "recorded, paid",
    [(date(2026, 7, 31), True), (date(2026, 8, 1), False)],
    ids=["last-day-of-term", "day-after"],
)
def test_the_spring_terms_last_day(make_student, school_a, recorded, paid):
    student = _recorded(make_student, school_a, recorded)
    granted = eligibility.decide(student, "non_boarder_allowance", date(2026, 3, 1))
    assert (granted is not None) == paid, (recorded, granted)
