"""Fixtures of the page tests: the demo county, built once per module, and a client per demo user."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import TestCase

from subsidies import pengshui
from subsidies.models import AidExclusionGroup, AidPolicy
from tests.conftest import _client_for


@pytest.fixture(scope="module")
def demo_county(django_db_setup, django_db_blocker):
    """The demo county, built once in a transaction that is rolled back after the module's tests."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            # The aid rule book a migrated database holds (the test database is flushed between test kinds),
            # so that the demo draws its aid batches; their tasks run on commit: here, in the transaction.
            pengshui.load(AidPolicy, AidExclusionGroup)
            with TestCase.captureOnCommitCallbacks(execute=True):
                call_command("seed_demo", students=300, stdout=io.StringIO())
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def client_of(demo_county, db):
    from portal.models import User

    def make(username):
        client = _client_for(User.objects.get(username=username))
        client.get("/accounts/security/")  # the session's first write is not the page's
        return client

    return make
