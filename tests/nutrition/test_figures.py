"""County figures computed from records equal a hand count of the test data."""

from datetime import date
from decimal import Decimal

import pytest

from nutrition import services
from nutrition.models import NutritionTerm
from nutrition.selectors import county_figures
from students.models import School, Stage
from tests.factories import SchoolFactory, StudentFactory
from tests.nutrition.conftest import SCHOOL_DAY


@pytest.fixture
def county(term, bureau, school_a, township_b):
    """Hand count: 4 pilots.

    school A   primary    canteen  5 primary                      (principal_a's school)
    nine-year  nine_year  catered  3 primary + 2 junior
    junior     junior     canteen  4 junior
    point      teaching   mixed    1 primary (+ 1 preschool pupil, no preschool plan)
    pupils 9 primary + 6 junior = 15; canteen: 2 schools of 4 (50.0%), 9 pupils of 15 (60.0%).
    """
    nine = SchoolFactory(township=township_b, school_type=School.Type.NINE_YEAR)
    junior = SchoolFactory(township=township_b, school_type=School.Type.JUNIOR)
    point = SchoolFactory(township=township_b, school_type=School.Type.TEACHING_POINT)
    SchoolFactory(township=township_b, is_rural=False)  # not in the plan
    StudentFactory.create_batch(5, school=school_a)
    StudentFactory.create_batch(3, school=nine)
    StudentFactory.create_batch(2, school=nine, stage=Stage.JUNIOR, grade=1)
    StudentFactory.create_batch(4, school=junior, stage=Stage.JUNIOR, grade=1)
    StudentFactory(school=point)
    StudentFactory(school=point, stage=Stage.PRESCHOOL, grade=1)
    pilots = {
        "a": services.pilot_enrol(term=term, school=school_a, supply_mode="canteen", by=bureau),
        "nine": services.pilot_enrol(term=term, school=nine, supply_mode="catered", by=bureau),
        "junior": services.pilot_enrol(term=term, school=junior, supply_mode="canteen", by=bureau),
        "point": services.pilot_enrol(term=term, school=point, supply_mode="mixed", by=bureau),
    }
    for key, amount, day in [
        ("a", "1000.10", SCHOOL_DAY),
        ("a", "200.00", date(2023, 1, 5)),
        ("nine", "300.25", SCHOOL_DAY),
        ("junior", "99.65", SCHOOL_DAY),
    ]:
        services.purchase_add(
            pilot=pilots[key], purchased_on=day, supplier="供应商", category="meat", amount=amount, by=bureau
        )
    services.purchase_add(
        pilot=pilots["junior"],
        purchased_on=SCHOOL_DAY,
        supplier="x",
        category="equipment",
        amount="50",
        by=bureau,
    )
    services.receipt_add(pilot=pilots["a"], received_on=SCHOOL_DAY, amount="2000", by=bureau)
    services.meal_record(pilot=pilots["a"], day=SCHOOL_DAY, stage=Stage.PRIMARY, meals=5, by=bureau)
    return pilots


def test_term_figures_equal_the_hand_count(county, term, official):
    f = county_figures(term, official)
    assert (f["pilot_schools"], f["pilot_schools_primary"], f["pilot_schools_junior"]) == (4, 2, 2)
    assert (f["pupils"], f["pupils_primary"], f["pupils_junior"], f["pupils_preschool"]) == (15, 9, 6, 0)
    assert (f["canteen_schools"], f["canteen_pupils"]) == (2, 9)
    assert f["canteen_school_share"] == Decimal("50.0")
    assert f["canteen_pupil_share"] == Decimal("60.0")
    assert (f["mixed_schools"], f["catered_schools"]) == (1, 1)
    assert f["funds_used"] == Decimal("1650.00")
    assert f["funds_diverted"] == Decimal("50.00")
    assert f["funds_received"] == Decimal("2000.00")
    assert f["meals_compulsory"] == 5
    assert f["funds_used_wan"] == Decimal("0.165")


def test_year_figures_take_the_calendar_year_for_money(county, official):
    f = county_figures(2022, official)
    assert f["pilot_schools"] == 4
    assert f["funds_used"] == Decimal("1450.00")  # the January 2023 purchase belongs to 2023
    assert county_figures(2023, official)["funds_used"] == Decimal("200.00")


def test_a_year_prefers_its_autumn_term(county, bureau):
    services.term_create(
        school_year=2022, season="spring", start=date(2022, 2, 14), end=date(2022, 6, 30), by=bureau
    )
    assert county_figures(2022, bureau)["term"] == str(NutritionTerm.objects.get(season="autumn"))


def test_a_year_without_terms_is_all_zero(official, db):
    f = county_figures(2019, official)
    assert f["pilot_schools"] == 0 and f["canteen_school_share"] == Decimal("0.0")
    assert f["funds_used"] == Decimal("0")


def test_a_principal_gets_the_figures_of_their_school_only(county, term, principal_a):
    f = county_figures(term, principal_a)
    assert (f["pilot_schools"], f["pupils"], f["funds_used"]) == (1, 5, Decimal("1200.10"))


def test_figures_are_ints_and_decimals(county, term, official):
    for key, value in county_figures(term, official).items():
        assert isinstance(value, int | Decimal | str), key


def test_ningdu_autumn_2022_figures_are_reproduced(term, official, township_a):
    """224 pilots (198 primary, 26 junior), 37,808 pupils; canteen: 217 schools, 25,526 pupils = 96.9% / 67.5%."""
    from nutrition.models import PilotSchool
    from students.models import School

    primary = School.objects.bulk_create(
        [
            School(township=township_a, code=f"NP{n:03d}", name=f"小学{n}", school_type="primary")
            for n in range(198)
        ]
    )
    junior = School.objects.bulk_create(
        [
            School(township=township_a, code=f"NJ{n:03d}", name=f"初中{n}", school_type="junior")
            for n in range(26)
        ]
    )
    pilots = []
    for n, school in enumerate(primary):
        if n < 7:  # seven large catered schools: 12,282 pupils
            pupils, mode = (1752 if n == 0 else 1755), "catered"
        else:  # 191 canteen schools: 12,398 pupils
            pupils, mode = (65 if n - 7 < 174 else 64), "canteen"
        pilots.append(PilotSchool(term=term, school=school, supply_mode=mode, covered_primary=pupils))
    for n, school in enumerate(junior):
        pilots.append(
            PilotSchool(
                term=term, school=school, supply_mode="canteen", covered_junior=505 if n < 24 else 504
            )
        )
    PilotSchool.objects.bulk_create(pilots)

    f = county_figures(term, official)
    assert (f["pilot_schools"], f["pilot_schools_primary"], f["pilot_schools_junior"]) == (224, 198, 26)
    assert (f["pupils"], f["pupils_primary"], f["pupils_junior"]) == (37808, 24680, 13128)
    assert (f["canteen_schools"], f["canteen_pupils"]) == (217, 25526)
    assert (f["canteen_school_share"], f["canteen_pupil_share"]) == (Decimal("96.9"), Decimal("67.5"))
