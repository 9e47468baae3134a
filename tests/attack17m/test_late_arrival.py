"""Attack (a17m): a child who first enrolled in the county after a term is drawn into that term's batch —
the draw takes every student in the stage *today* as a candidate and, finding no register spell on the term's
date, reads their first (later) spell as if it held then."""

from __future__ import annotations

from datetime import date

import pytest

from students.models import Enrollment, Stage
from subsidies import services
from subsidies.models import Payment, Term

pytestmark = pytest.mark.django_db


def test_a_child_enrolled_after_the_term_is_not_paid_for_it(make_student, school_a, bureau):
    """Enrolled on 2026-03-10 (came from another county, which aided the autumn term there): the autumn
    2025-2026 batch, drawn on 2025-09-01, pays them the non-boarder allowance of a term they were not here."""
    child = make_student(Stage.PRIMARY, school=school_a, categories=["dibao"], enrolled_on=date(2026, 3, 10))
    spells = list(Enrollment.objects.filter(student=child).values_list("valid_from", flat=True))
    assert spells and min(spells) >= date(2026, 3, 1), spells  # on no register before March 2026
    batch = services.batch_generate(
        aid_type="non_boarder_allowance", school_year=2025, term=Term.AUTUMN, by=bureau
    )
    paid = Payment.objects.filter(batch=batch, student=child)
    assert not paid.exists(), (
        f"drawn on {batch.eligibility_date} though first enrolled 2026-03-10: "
        f"{list(paid.values_list('amount', 'reason'))}"
    )
