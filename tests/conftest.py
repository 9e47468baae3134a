"""Role fixtures in the healthchecks manner, on two townships and two schools.

township A has school A (principal_a); township B has school B (principal_b). The township officer works
for township A. Bureau staff see everything and write; the official sees everything and writes nothing.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client

from portal.celery import app as celery_app
from portal.models import User
from tests.factories import SchoolFactory, StudentFactory, TownshipFactory, UserFactory

PASSWORD = "correct-horse-battery-staple"


PRODUCTION_HASHERS = list(django_settings.PASSWORD_HASHERS)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 is deliberately slow; tests create many users. tests/portal/test_security.py checks argon2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PRODUCTION_HASHERS]


# A day near the end of the 2025-2026 school year (Beijing time): its identification is still open (a school
# year that has ended no longer changes) and every date of it a test uses is past.
LAST_DAYS_OF_2025 = datetime(2026, 8, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def during_school_year_2025():
    """The clock (Python's, not PostgreSQL's) moved to 20 August 2026 for the test, running on from there: the
    tests of a whole 2025-2026 identification year do not depend on the day they run."""
    with time_machine.travel(LAST_DAYS_OF_2025, tick=True):
        yield


@pytest.fixture(autouse=True)
def _empty_cache():
    """Dashboards cache their figures: no test sees another test's."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks run in-process unless a test asks for the real worker (fixture `celery_worker_real`)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def celery_worker_real(transactional_db):
    """A real Celery worker thread on the configured broker (Redis in CI), for end-to-end task tests."""
    from celery.contrib.testing.worker import start_worker

    celery_app.conf.task_always_eager = False
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING") as worker:
        yield worker
    celery_app.conf.task_always_eager = True


@pytest.fixture
def township_a(db):
    return TownshipFactory(name="甲镇")


@pytest.fixture
def township_b(db):
    return TownshipFactory(name="乙镇")


@pytest.fixture
def school_a(township_a):
    return SchoolFactory(township=township_a, name="甲镇中心小学")


@pytest.fixture
def school_b(township_b):
    return SchoolFactory(township=township_b, name="乙镇中心小学")


@pytest.fixture
def student_a(school_a):
    return StudentFactory(school=school_a, name="张小明")


@pytest.fixture
def student_b(school_b):
    return StudentFactory(school=school_b, name="李小红")


@pytest.fixture
def bureau(db):
    return UserFactory(username="bureau_clerk", role=User.Role.BUREAU, is_staff=True)


@pytest.fixture
def official(db):
    return UserFactory(username="official", role=User.Role.OFFICIAL)


@pytest.fixture
def township_officer(township_a):
    return UserFactory(username="township_a", role=User.Role.TOWNSHIP, township=township_a)


@pytest.fixture
def principal_a(school_a):
    return UserFactory(username="principal_a", role=User.Role.PRINCIPAL, school=school_a)


@pytest.fixture
def principal_b(school_b):
    return UserFactory(username="principal_b", role=User.Role.PRINCIPAL, school=school_b)


def verify_second_factor(client: Client, user) -> None:
    """Mark the client's session as having passed the second factor, as the real verify page does."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="authenticator", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    if user.needs_second_factor:
        verify_second_factor(client, user)
    return client


@pytest.fixture
def bureau_client(bureau):
    return _client_for(bureau)


@pytest.fixture
def official_client(official):
    return _client_for(official)


@pytest.fixture
def township_client(township_officer):
    return _client_for(township_officer)


@pytest.fixture
def principal_a_client(principal_a):
    return _client_for(principal_a)


@pytest.fixture
def principal_b_client(principal_b):
    return _client_for(principal_b)


@pytest.fixture
def client_for():
    return _client_for
