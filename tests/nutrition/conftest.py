"""Nutrition fixtures: the autumn 2022 term, school A (in the plan, 6 primary + 3 junior pupils) and school B."""

from __future__ import annotations

from datetime import date

import pytest

from nutrition import services
from nutrition.models import NutritionTerm, PilotSchool
from students.models import School, Stage
from tests.factories import StudentFactory

# Monday 3 October 2022 is inside the National Day holiday; Friday 14 October is an ordinary school day.
SCHOOL_DAY = date(2022, 10, 14)
HOLIDAY = date(2022, 10, 3)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Every test creates users; a slow password hash per user would dominate this app's test time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def term(bureau):
    term = services.term_create(
        school_year=2022,
        season=NutritionTerm.Season.AUTUMN,
        start=date(2022, 9, 1),
        end=date(2023, 1, 13),
        by=bureau,
    )
    services.holiday_add(term=term, day=HOLIDAY, reason="国庆节", by=bureau)
    return term


@pytest.fixture
def pilot_a(term, school_a, bureau):
    school_a.school_type = School.Type.NINE_YEAR
    school_a.save()
    StudentFactory.create_batch(6, school=school_a, stage=Stage.PRIMARY)
    StudentFactory.create_batch(3, school=school_a, stage=Stage.JUNIOR, grade=2)
    return services.pilot_enrol(
        term=term, school=school_a, supply_mode=PilotSchool.SupplyMode.CANTEEN, by=bureau
    )


@pytest.fixture
def pilot_b(term, school_b, bureau):
    StudentFactory.create_batch(4, school=school_b, stage=Stage.PRIMARY)
    return services.pilot_enrol(
        term=term, school=school_b, supply_mode=PilotSchool.SupplyMode.CATERED, by=bureau
    )
