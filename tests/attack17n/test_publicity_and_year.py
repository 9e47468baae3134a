"""Attack (a17n) on fixes 4 and 6: the level the 公示 showed, objections, and the school year that has ended."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from students.models import Stage
from subsidies import eligibility, services
from subsidies.models import Identification, IdentificationLevel, IdentificationRound
from tests.refusals import nothing_written
from tests.subsidies.test_identification import YEAR, apply, publicise, review

SH = ZoneInfo("Asia/Shanghai")
API = "/api/subsidies/identifications/"
SPECIAL, DIFFICULT, GENERAL = (
    IdentificationLevel.SPECIAL,
    IdentificationLevel.DIFFICULT,
    IdentificationLevel.GENERAL,
)

during = pytest.mark.usefixtures("during_school_year_2025")
pytestmark = pytest.mark.django_db


def _decide(found, by, level, on):
    return services.identification_decide(by=by, identification=found, level=level, decided_on=on)


@during
def test_an_objection_dated_after_the_publicity_ended_is_refused(make_student, school_a, principal_a):
    """The 公示 ran 10-16 September; an "objection" dated 20 October is not one raised during it (the service's
    own rule: objections come during the 公示)."""
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    publicise(school_a, principal_a)
    found.refresh_from_db()
    found.refresh_from_db()
    with nothing_written(found), pytest.raises(ValidationError):
        services.identification_objection_add(
            by=principal_a, identification=found, raised_on=date(YEAR, 10, 20), content="家中新购轿车"
        )


@during
def test_a_publicity_as_long_as_the_period_when_it_ran_is_confirmed_after_the_county_lengthens_it(
    make_student, school_a, principal_a, bureau
):
    """Chosen rule (a17n D9, arguable): the 公示's length is checked when the school publishes it, against the
    county's period of that day. The county lengthening the period afterwards (5 -> 7 days) does not void a
    公示 that has run: the county confirms it (a 公示 shorter than the period in force is refused at
    publishing: tests/subsidies/test_identification.py)."""
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    publicise(school_a, principal_a, starts_on=date(YEAR, 9, 10), ends_on=date(YEAR, 9, 14))
    services.identification_round_set(by=bureau, school_year=YEAR, publicity_days=7)
    _decide(found, principal_a, SPECIAL, date(YEAR, 9, 18))
    found.refresh_from_db()
    confirmed = services.identification_confirm(by=bureau, identification=found)
    assert (confirmed.status, confirmed.confirmed_level) == ("confirmed", SPECIAL)
    with pytest.raises(ValidationError) as short:
        publicise(school_a, principal_a, starts_on=date(YEAR, 9, 20), ends_on=date(YEAR, 9, 24))
    assert "7" in str(short.value)


@during
def test_a_level_changed_and_changed_back_is_confirmed_on_the_publicity_that_showed_it(
    make_student, school_a, principal_a, bureau, client_for
):
    """Held check: 公示 showed 特别困难; the school decided 一般困难 (published again), then 特别困难 again: the
    county cannot confirm on the 一般困难 公示, nor set a level of its own through the API; once published
    again it confirms 特别困难 and the grant pays the upper tier."""
    student = make_student(Stage.SENIOR, school=school_a)
    found = review(apply(student, principal_a), principal_a, result=SPECIAL)
    publicise(school_a, principal_a)  # 10-16 Sep: 特别困难
    _decide(found, principal_a, GENERAL, date(YEAR, 9, 18))
    publicise(school_a, principal_a, starts_on=date(YEAR, 9, 19), ends_on=date(YEAR, 9, 25))
    _decide(found, principal_a, SPECIAL, date(YEAR, 9, 27))
    bureau_api = client_for(bureau)
    found.refresh_from_db()
    with nothing_written(found):
        plain = bureau_api.post(f"{API}{found.pk}/confirm/", {}, content_type="application/json")
        own = bureau_api.post(
            f"{API}{found.pk}/confirm/", {"level": "general"}, content_type="application/json"
        )
    assert plain.status_code == 400 and "重新公示" in str(plain.json())
    assert own.status_code == 400
    publicise(school_a, principal_a, starts_on=date(YEAR, 9, 28), ends_on=date(YEAR, 10, 4))
    done = bureau_api.post(f"{API}{found.pk}/confirm/", {}, content_type="application/json")
    assert done.status_code == 200 and done.json()["confirmed_level"] == "special", done.json()
    assert eligibility.decide(student, "national_grant", date(YEAR + 1, 3, 1)).amount_per_term == 1500


@during
def test_an_objection_open_at_confirmation_is_refused_on_the_page_and_the_api(
    make_student, school_a, principal_a, bureau, client_for, bureau_client
):
    """Held check."""
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    publicise(school_a, principal_a)
    services.identification_objection_add(
        by=principal_a, identification=found, raised_on=date(YEAR, 9, 12), content="家中新购轿车"
    )
    _decide(found, principal_a, SPECIAL, date(YEAR, 9, 18))
    found.refresh_from_db()
    with nothing_written(found):
        api = client_for(bureau).post(f"{API}{found.pk}/confirm/", {}, content_type="application/json")
        bureau_client.post(
            reverse("subsidies:identification_detail", args=[found.pk]), {"form_name": "confirm", "level": ""}
        )
    assert api.status_code == 400 and "异议" in str(api.json())


def _decided(make_student, school_a, principal_a):
    with time_machine.travel(datetime(2026, 8, 20, 10, 0, tzinfo=SH), tick=False):
        found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
        publicise(school_a, principal_a)
        return _decide(found, principal_a, SPECIAL, date(YEAR, 9, 18))


def test_the_county_confirms_on_31_august_late_in_the_evening(
    make_student, school_a, principal_a, bureau, client_for
):
    """Held check: 31 August 23:50 Beijing time (15:50 UTC) is still the 2025-2026 year."""
    found = _decided(make_student, school_a, principal_a)
    with time_machine.travel(datetime(2026, 8, 31, 23, 50, tzinfo=SH), tick=False):
        response = client_for(bureau).post(f"{API}{found.pk}/confirm/", {}, content_type="application/json")
    assert response.status_code == 200, response.json()


def test_the_county_does_not_confirm_just_after_midnight_on_1_september(
    make_student, school_a, principal_a, bureau, client_for
):
    """Held check: 1 September 00:10 Beijing time (still 31 August in UTC) is the next school year."""
    found = _decided(make_student, school_a, principal_a)
    with time_machine.travel(datetime(2026, 9, 1, 0, 10, tzinfo=SH), tick=False):
        found.refresh_from_db()
        with nothing_written(found):
            response = client_for(bureau).post(
                f"{API}{found.pk}/confirm/", {}, content_type="application/json"
            )
    assert response.status_code == 400 and "已结束" in str(response.json())


def test_the_publicity_period_of_a_school_year_that_has_ended_does_not_change(bureau, client_for):
    """The 2024-2025 year ended on 31 August 2025: its setting (what its 公示s were checked against, shown on
    its pages) is refused a change like every other step of that year."""
    IdentificationRound.objects.create(school_year=2024, publicity_days=5)
    with time_machine.travel(datetime(2026, 8, 20, 10, 0, tzinfo=SH), tick=False):
        response = client_for(bureau).post(
            "/api/subsidies/identification-rounds/",
            {"school_year": 2024, "publicity_days": 30},
            content_type="application/json",
        )
    assert response.status_code == 400, (response.status_code, response.content)
    assert IdentificationRound.objects.get(school_year=2024).publicity_days == 5


@during
def test_an_in_year_change_of_a_child_whose_level_was_never_confirmed_is_not_a_withdrawal(
    make_student, school_a, principal_a, bureau
):
    """Held check: a 'no longer in difficulty' in-year finding without a level in force is not confirmable."""
    student = make_student(Stage.SENIOR, school=school_a)
    change = apply(
        student, principal_a, kind="in_year", effective_from=date(YEAR, 12, 1), applied_on=date(YEAR, 11, 20)
    )
    services.identification_review(
        by=principal_a,
        identification=change,
        members="班主任",
        result="not_difficult",
        reviewed_on=date(YEAR, 11, 25),
    )
    change.refresh_from_db()
    with nothing_written(change), pytest.raises(ValidationError):
        services.identification_confirm(by=bureau, identification=change)
    assert Identification.objects.get(pk=change.pk).status == Identification.Status.NOT_IDENTIFIED


@during
def test_a_publicity_that_runs_past_the_end_of_its_school_year_is_refused(
    make_student, school_a, principal_a
):
    """A 公示 of the 2025-2026 year from 28 August to 3 September 2026: it ends after the year's last day, when
    every step of that year (the county's confirmation included) is refused, so the identification it
    publishes could never be confirmed. Publishing it must be refused, nothing written."""
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    found.refresh_from_db()
    with nothing_written(found), pytest.raises(ValidationError):
        publicise(school_a, principal_a, starts_on=date(YEAR + 1, 8, 28), ends_on=date(YEAR + 1, 9, 3))
