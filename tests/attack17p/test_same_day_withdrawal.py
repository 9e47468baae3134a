"""Attack (a17q) on fix 5 (is_withdrawal reads the confirmed findings of its own day, `effective_from__lte`,
excluding itself): a finding of no difficulty is a withdrawal only if a confirmed level was in force BEFORE it.
The former school's finding of no difficulty (made first, lower pk) is not a withdrawal of the new school's
level confirmed afterwards for the same day (higher pk, the one in force)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from students.models import Stage
from subsidies import services
from subsidies.facts import levels_on
from subsidies.models import Identification, IdentificationLevel
from tests.attack17.helpers import leave
from tests.subsidies.test_identification_transfer import _apply, _through

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

YEAR = 2025
SPECIAL = IdentificationLevel.SPECIAL


def _review(found, by, result, on):
    return services.identification_review(
        by=by, identification=found, members="班主任、家长代表", result=result, reviewed_on=on
    )


def test_the_former_schools_finding_of_no_difficulty_is_no_withdrawal_of_the_new_schools_later_level(
    make_student, school_a, school_b, principal_a, principal_b, bureau
):
    """甲's annual (effective 1 September) found the family not in difficulty: nothing to confirm (no level
    before it). The child's move to 乙 is dated from 1 September; 乙 identifies 特别困难, confirmed. The county
    may now 'confirm' 甲's finding as a withdrawal: it reads 乙's later finding of the same day as a level in
    force before it."""
    student = make_student(Stage.SENIOR, school=school_a, since=date(2020, 9, 1))
    at_a = _review(
        _apply(student, principal_a, date(YEAR, 9, 2)), principal_a, "not_difficult", date(YEAR, 9, 3)
    )
    at_a.refresh_from_db()
    assert at_a.status == Identification.Status.NOT_IDENTIFIED
    with pytest.raises(ValidationError):
        services.identification_confirm(by=bureau, identification=at_a)  # nothing before it: refused
    leave(student, "", date(YEAR, 9, 1), school=school_b)
    at_b = _apply(student, principal_b, date(YEAR, 9, 20))
    assert at_b.effective_from == date(YEAR, 9, 1)
    _through(at_b, principal_b, bureau, SPECIAL, date(YEAR, 9, 21))
    at_a.refresh_from_db()
    try:
        services.identification_confirm(by=bureau, identification=at_a)
    except ValidationError:
        return
    at_a.refresh_from_db()
    pytest.fail(
        f"甲's finding of no difficulty (pk {at_a.pk}, made before 乙's, pk {at_b.pk}) confirmed as a withdrawal "
        f"of 乙's later level of the same day: status {at_a.status}, level in force "
        f"{levels_on([student.pk], date(YEAR, 10, 1))}"
    )
