"""Attack (a17m): a confirmed level paying where it must not — a level of one school year used for a term of
another through the batch's eligibility date, and a level that can never be withdrawn during the year."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from django.core.exceptions import ValidationError

from students.models import Stage
from subsidies import eligibility, services
from subsidies.models import IdentificationLevel, Payment, Term
from tests.subsidies.test_identification import apply, identified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

SPECIAL = IdentificationLevel.SPECIAL


def test_a_batch_of_one_term_is_not_drawn_on_a_date_of_another_school_year(
    make_student, school_a, principal_a, bureau
):
    """The 2024-2025 spring batch drawn "on" 2025-10-01 pays a level confirmed for 2025-2026 in a term
    before the student was ever identified. The batch's eligibility date must lie in its own term."""
    student = make_student(Stage.PRIMARY, school=school_a)
    identified(student, principal_a, bureau, level=SPECIAL)  # school year 2025, effective 2025-09-01
    assert eligibility.decide(student, "non_boarder_allowance", date(2025, 3, 1)) is None
    with contextlib.suppress(ValidationError):
        services.batch_generate(
            aid_type="non_boarder_allowance",
            school_year=2024,
            term=Term.SPRING,
            by=bureau,
            on=date(2025, 10, 1),
        )
    paid_before = Payment.objects.filter(student=student, school_year=2024, term=Term.SPRING)
    assert not paid_before.exists(), (
        "spring 2024-2025 pays a level confirmed only for 2025-2026: "
        f"{list(paid_before.values_list('amount', 'reason'))}"
    )


def test_a_confirmed_level_can_be_withdrawn_during_the_year(make_student, school_a, principal_a, bureau):
    """The family's situation changes (or an objection proves the application false) after the county
    confirmed 特别困难: the in-year re-assessment finds the family not in difficulty from 2025-11-01.
    The spring term must no longer pay the level; today nothing can end it before the next school year."""
    student = make_student(Stage.PRIMARY, school=school_a)
    identified(student, principal_a, bureau, level=SPECIAL)
    change = apply(
        student,
        principal_a,
        kind="in_year",
        effective_from=date(2025, 11, 1),
        applied_on=date(2025, 10, 20),
        hardship_reasons="复核：家庭经济状况好转",
    )
    services.identification_review(
        by=principal_a,
        identification=change,
        members="班主任王老师、家长代表赵某、学生代表孙某",
        result="not_difficult",
        reviewed_on=date(2025, 10, 25),
    )
    # The withdrawal takes effect once the county confirms it (fx17a's path, subsidies.services.identification).
    services.identification_confirm(by=bureau, identification=change)
    spring = date(2026, 3, 1)
    granted = eligibility.decide(student, "non_boarder_allowance", spring)
    assert granted is None, f"still paid after the level was found withdrawn: {granted.reason}"


def test_a_school_year_long_past_is_not_identified_after_the_fact(
    make_student, school_a, principal_a, bureau
):
    """Today (2026-11) a school opens the 2023-2024 identification: applied "on" 2026-11-02, reviewed,
    publicised and confirmed now, effective from 2023-09-01 — a level for a year that ended long ago, which
    the eligibility rule then pays for every 2023-2024 term still open to a batch. The application of a
    school year must be made within that year."""
    student = make_student(Stage.PRIMARY, school=school_a)
    try:
        found = apply(student, principal_a, school_year=2023, applied_on=date(2026, 11, 2))
    except ValidationError:
        return  # refused: held
    assert found.effective_from == date(2023, 9, 1)
    services.identification_review(
        by=principal_a,
        identification=found,
        members="班主任王老师、家长代表赵某、学生代表孙某",
        result=SPECIAL,
        reviewed_on=date(2026, 11, 3),
    )
    services.identification_publicise(
        by=principal_a,
        school=school_a,
        school_year=2023,
        starts_on=date(2026, 11, 4),
        ends_on=date(2026, 11, 10),
    )
    services.identification_decide(
        by=principal_a, identification=found, level=SPECIAL, decided_on=date(2026, 11, 12)
    )
    services.identification_confirm(by=bureau, identification=found)
    granted = eligibility.decide(student, "non_boarder_allowance", date(2024, 3, 1))
    assert granted is None, f"spring 2023-2024 now pays a level identified in November 2026: {granted.reason}"
