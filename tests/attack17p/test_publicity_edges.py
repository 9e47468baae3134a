"""Attack (a17p) on fix 6: the 公示 ends by 31 August, objections are dated within the 公示, an ended year's
round does not change (held checks at the edges)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from students.models import Stage
from subsidies import services
from subsidies.models import IdentificationRound
from tests.refusals import nothing_written
from tests.subsidies.test_identification import apply, publicise, review

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]


def test_a_publicity_ending_before_the_last_day_is_taken_and_on_it_refused(
    make_student, school_a, principal_a
):
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    found.refresh_from_db()
    # A 公示 ending on the year's last day (or after) could never be confirmed within the year: refused.
    for last_day in (date(2026, 9, 1), date(2026, 8, 31)):
        with nothing_written(found), pytest.raises(ValidationError):
            publicise(school_a, principal_a, starts_on=date(2026, 8, 20), ends_on=last_day)
    assert publicise(school_a, principal_a, starts_on=date(2026, 8, 20), ends_on=date(2026, 8, 30)) == 1


def test_objections_on_the_publicitys_first_and_last_day_are_taken_and_not_the_day_after(
    make_student, school_a, principal_a
):
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    publicise(school_a, principal_a)  # 10-16 September 2025
    for day in (date(2025, 9, 10), date(2025, 9, 16)):
        services.identification_objection_add(
            by=principal_a, identification=found, raised_on=day, content="异议"
        )
    found.refresh_from_db()
    for day in (date(2025, 9, 9), date(2025, 9, 17)):
        with nothing_written(found), pytest.raises(ValidationError):
            services.identification_objection_add(
                by=principal_a, identification=found, raised_on=day, content="异议"
            )


def test_an_ended_years_round_is_refused_through_the_api_and_the_page(bureau, client_for):
    IdentificationRound.objects.create(school_year=2024, publicity_days=5)
    client = client_for(bureau)
    api = client.post(
        "/api/subsidies/identification-rounds/",
        {"school_year": 2024, "publicity_days": 9},
        content_type="application/json",
    )
    assert api.status_code == 400, api.content
    assert IdentificationRound.objects.get(school_year=2024).publicity_days == 5


def test_a_publicity_the_service_accepts_can_be_confirmed_within_the_year(
    make_student, school_a, principal_a, bureau
):
    """The fix refuses a 公示 running past 31 August "so that the county can confirm the levels within the
    year". It accepts one ending ON 31 August; the county confirms only once the 公示 has ended (the day after
    its last day) and takes no step after the year's end: on 31 August it is "still running", on 1 September
    the year "has ended". The level is never confirmed."""
    import datetime as dt

    import time_machine

    from tests.subsidies.test_identification import decide

    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    decide(found, principal_a)
    try:
        publicise(school_a, principal_a, starts_on=date(2026, 8, 20), ends_on=date(2026, 8, 31))
    except ValidationError:
        return  # refused: the rule holds
    answers = {}
    for moment in (dt.datetime(2026, 8, 31, 10, 0), dt.datetime(2026, 9, 1, 10, 0)):
        with time_machine.travel(moment.replace(tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False):
            try:
                services.identification_confirm(by=bureau, identification=found)
            except ValidationError as exc:
                answers[moment.date()] = exc.messages
            else:
                return
    pytest.fail(f"a 公示 accepted (2026-08-20 to 2026-08-31) can never be confirmed: {answers}")
