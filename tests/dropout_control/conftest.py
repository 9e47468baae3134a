"""Shared set-up of the dropout-control tests: fast hashing, and the dates a case is walked on.

A return writes the register from its date, and a school year that has ended changes only through its roll
(students.register.check_effective): a return is dated in the running school year. The watch after it runs by
the real clock (a month is confirmed once it has ended), so the tests that walk a whole watch use a short one
(`short_watch`: two months, from ten days into the running year) and are skipped in the weeks of a school year
before such a watch can have run.
"""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from dropout_control.services.common import add_months
from students.models import school_year_of


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The role fixtures hash a password each; argon2 is slow on purpose, and these tests never log in."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def today() -> date:
    return timezone.localdate()


# The running school year's first day: a return or any change of the register is dated on or after it.
YEAR_START = date(school_year_of(today()), 9, 1)
# A case found in the school year before, the child back at school ten days into the running one.
FOUND = YEAR_START - timedelta(days=180)
RETURNED = YEAR_START + timedelta(days=9)
WATCH_MONTHS = 2
WATCH_END = add_months(RETURNED, WATCH_MONTHS)
# The months the school confirms (September and October).
MONTHS = [add_months(YEAR_START, k) for k in range(WATCH_MONTHS)]

# A whole watch can be confirmed, and the case closed, once its last month has ended and the watch has run.
whole_watch_ran = pytest.mark.skipif(
    today() < max(WATCH_END, add_months(MONTHS[-1], 1)),
    reason="The running school year is too young for a whole watch to have run by the real clock.",
)


@pytest.fixture
def short_watch(db):
    """The county's watch period set to two months (a term is five)."""
    from dropout_control import services
    from tests.dropout_control.factories import bureau_user

    return services.watch_policy_set(months=WATCH_MONTHS, by=bureau_user())


def api_for(user):
    """An API client signed in as `user` (the second factor is the web pages' business)."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def case_a(school_a):
    """An open case of a child at school A."""
    from tests.dropout_control.factories import open_case

    return open_case(township=school_a.township, school=school_a, name="甲案")


@pytest.fixture
def case_b(school_b):
    """An open case of a child at school B."""
    from tests.dropout_control.factories import open_case

    return open_case(township=school_b.township, school=school_b, name="乙案")
