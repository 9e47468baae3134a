"""Attack (a17m): the level the county confirms (and the money paid by it) must be the one the 公示 showed.
A class review changed after the 公示 ended keeps the old 公示's dates, so a level nobody could object to is
confirmed and paid."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from students.models import Stage
from subsidies import eligibility, services
from subsidies.models import IdentificationLevel
from tests.subsidies.test_identification import ON, apply, publicise, review

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

SPECIAL, GENERAL = IdentificationLevel.SPECIAL, IdentificationLevel.GENERAL


def test_a_level_reviewed_after_the_publicity_is_not_confirmed_on_it(
    make_student, school_a, principal_a, bureau
):
    student = make_student(Stage.SENIOR, school=school_a)
    found = apply(student, principal_a)
    review(found, principal_a, result=GENERAL)  # 2025-09-08
    publicise(school_a, principal_a)  # 公示 2025-09-10 .. 2025-09-16: 一般困难
    services.identification_review(  # after the 公示 ended: now 特别困难
        by=principal_a,
        identification=found,
        members="班主任王老师、家长代表赵某、学生代表孙某",
        result=SPECIAL,
        reviewed_on=date(2025, 9, 20),
    )
    services.identification_decide(
        by=principal_a, identification=found, level=SPECIAL, decided_on=date(2025, 9, 21)
    )
    try:
        services.identification_confirm(by=bureau, identification=found)
    except ValidationError:
        return  # refused: held
    granted = eligibility.decide(student, "national_grant", ON)
    pytest.fail(
        "the 公示 (ended 2025-09-16) showed the review of 2025-09-08; the review of 2025-09-20 was never "
        f"publicised, yet its level was confirmed and pays {granted.amount_per_term} a term"
    )
