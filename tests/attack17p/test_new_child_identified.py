"""Attack (a17p) on fix 1 meeting fix 5: a child new to the county's register in the spring (recorded on
10 March 2026, coming from outside the county) is off the roll for the autumn term (fix 1). Their school's
annual identification takes effect from 1 September (`_joined` looks only at spells at another school of the
county) and is then refused: "on 2025-09-01 the register has this student as off the roll". The school
cannot run the year's identification of a child who is on its roll; it should take effect from the day the
child came, as for a child who moved from another school of the county."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from students import register
from students.models import Stage
from subsidies.models import Identification
from tests.subsidies.test_identification_transfer import _apply

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

CAME = date(2026, 3, 10)


def test_a_child_new_to_the_county_in_march_gets_the_annual_identification_from_the_day_they_came(
    make_student, school_a, principal_a
):
    with transaction.atomic(), register.effective(CAME, source="new"):
        student = make_student(Stage.SENIOR, school=school_a, enrolled_on=None, name="外县转入")
    try:
        found = _apply(student, principal_a, date(2026, 3, 12))
    except ValidationError as exc:
        pytest.fail(f"the annual identification of a child on 甲's roll since {CAME} is refused: {exc}")
    assert found.kind == Identification.Kind.ANNUAL and found.effective_from == CAME, found.effective_from
