"""Fixtures of the page tests: the demo county, built once per test session, and a client per demo user."""

from __future__ import annotations

import pytest
from django.db import connection

from tests import demo_database as demo_db
from tests.conftest import _client_for


@pytest.fixture(scope="session")
def demo_database(django_db_setup, django_db_blocker):
    """The name of the database that holds the demo county, seeded once per test session."""
    with django_db_blocker.unblock():
        return demo_db.build(connection.settings_dict["NAME"])


@pytest.fixture(scope="module")
def demo_county(demo_database, django_db_blocker):
    """The module's tests run on the demo county (each in a transaction rolled back at its end)."""
    pointed = demo_db.pointed_at(demo_database)
    with django_db_blocker.unblock():
        pointed.__enter__()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            pointed.__exit__(None, None, None)


@pytest.fixture
def client_of(demo_county, db):
    from portal.models import User

    def make(username):
        client = _client_for(User.objects.get(username=username))
        client.get("/accounts/security/")  # the session's first write is not the page's
        return client

    return make
