"""Attack (a17m): the preschool fee waiver (保教费, "据实补助", at most 1,500 a year) that issue 17 opened to
identified children pays each term half the year's fee rounded to the fen on its own, so a year's two terms do
not add up to the actual fee: an odd fen is paid twice over the fee (or once short of it)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from students.models import Stage
from subsidies import eligibility
from subsidies.models import IdentificationLevel
from tests.subsidies.test_identification import ON, identified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]


@pytest.mark.parametrize("fee", ["1200.03", "1200.01"])
def test_a_years_fee_waiver_is_the_actual_fee_to_the_fen(make_student, school_a, principal_a, bureau, fee):
    fee = Decimal(fee)
    school_a.school_type, school_a.preschool_fee = "kindergarten", fee
    school_a.save()
    child = make_student(Stage.PRESCHOOL, school=school_a)
    identified(child, principal_a, bureau, level=IdentificationLevel.GENERAL)
    autumn = eligibility.decide(child, "preschool_fee_waiver", ON)
    spring = eligibility.decide(child, "preschool_fee_waiver", date(2026, 3, 1))
    assert autumn is not None and spring is not None
    year = autumn.amount_per_term + spring.amount_per_term
    assert year == fee, (
        f"the fee is {fee} a year; the two terms waive {autumn.amount_per_term} + "
        f"{spring.amount_per_term} = {year}"
    )
