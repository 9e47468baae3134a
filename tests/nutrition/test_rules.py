"""The plan's rules, tested directly."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from nutrition import rules
from nutrition.models import NutritionTerm, PilotSchool

TERM = NutritionTerm(school_year=2022, season="autumn", start=date(2022, 9, 1), end=date(2022, 9, 30))


def test_school_days_skip_weekends_and_holidays():
    days = rules.school_days(TERM, {date(2022, 9, 12)})
    assert date(2022, 9, 1) in days
    assert date(2022, 9, 3) not in days  # Saturday
    assert date(2022, 9, 12) not in days  # holiday
    assert len(days) == 21


def test_school_days_stop_at_until():
    assert rules.school_days(TERM, [], until=date(2022, 9, 2)) == [date(2022, 9, 1), date(2022, 9, 2)]


@pytest.mark.parametrize(
    ("day", "fragment"),
    [
        (date(2022, 8, 31), "outside"),
        (date(2022, 10, 1), "outside"),
        (date(2022, 9, 4), "weekend"),
        (date(2022, 9, 12), "holiday"),
    ],
)
def test_school_day_problem_names_the_reason(day, fragment, settings):
    settings.LANGUAGE_CODE = "en"
    from django.utils import translation

    with translation.override("en"):
        assert fragment in rules.school_day_problem(TERM, day, {date(2022, 9, 12)})


def test_an_ordinary_weekday_is_a_school_day():
    assert rules.school_day_problem(TERM, date(2022, 9, 13), {date(2022, 9, 12)}) is None


def test_entitlement_is_meals_times_standard_with_preschool_at_800_over_200_days():
    pilot = PilotSchool(daily_standard=Decimal("5.00"), preschool_yearly_standard=Decimal("800.00"))
    assert rules.preschool_daily_standard(pilot) == Decimal("4.00")
    assert rules.entitlement(pilot, compulsory_meals=1000, preschool_meals=10) == Decimal("5040.00")


def test_a_year_of_meals_is_1000_yuan_per_pupil():
    pilot = PilotSchool(daily_standard=Decimal("5.00"))
    assert rules.entitlement(pilot, compulsory_meals=rules.ANNUAL_MEAL_DAYS, preschool_meals=0) == Decimal(
        "1000"
    )


def flags(received, entitled, spent, forbidden="0"):
    return rules.flags_for(
        received=Decimal(received),
        entitled=Decimal(entitled),
        spent=Decimal(spent),
        forbidden=Decimal(forbidden),
    )


def test_balanced_accounts_carry_no_flag():
    assert flags("1000", "1000", "1000") == []


def test_spending_above_entitlement_is_overspend():
    assert rules.OVERSPEND in flags("2000", "1000", "1000.01")


def test_underspend_within_tolerance_is_not_flagged():
    assert flags("1000", "1000", "950.00") == []


def test_underspend_beyond_tolerance_is_flagged():
    assert flags("1000", "1000", "949.99") == [rules.UNDERSPEND]


def test_tolerance_comes_from_settings(settings):
    settings.NUTRITION_UNDERSPEND_TOLERANCE = "0.10"
    assert flags("1000", "1000", "900.00") == []
    assert flags("1000", "1000", "899.99") == [rules.UNDERSPEND]


def test_bad_tolerance_fails_loudly(settings):
    settings.NUTRITION_UNDERSPEND_TOLERANCE = "1.5"
    with pytest.raises(ImproperlyConfigured):
        rules.underspend_tolerance()


def test_forbidden_spending_is_diversion_and_does_not_count_as_food():
    result = flags("1000", "1000", "1000", forbidden="100")
    assert rules.DIVERSION in result
    assert rules.UNDERSPEND in result  # only 900 reached the pupils


def test_receiving_less_than_entitled_is_short_funding():
    assert flags("500", "1000", "1000") == [rules.SHORT_FUNDED]


def test_shares_are_printed_like_the_papers():
    # Ningdu, autumn 2022: 217 of 224 schools, 25,526 of 37,808 pupils.
    assert rules.share(217, 224) == Decimal("96.9")
    assert rules.share(25526, 37808) == Decimal("67.5")
    assert rules.share(0, 0) == Decimal("0.0")
