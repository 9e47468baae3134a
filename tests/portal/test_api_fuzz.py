"""Schemathesis against our OpenAPI schema, bounded.

Every operation gets a few generated requests as bureau staff (the widest scope, writes included): none
may answer with a server error, and no list response may carry a whole ID number. Requests go to the WSGI
application in-process (no socket at all), so each operation runs inside the test's rolled-back transaction:
a live server would need the database flushed after every operation, ten times slower.
"""

from __future__ import annotations

import json
import re

import pytest
import schemathesis
from django.core.serializers.json import DjangoJSONEncoder
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings

from students import id_numbers

RAW_SCHEMA = json.loads(
    json.dumps(SchemaGenerator().get_schema(request=None, public=True), cls=DjangoJSONEncoder)
)
schema = schemathesis.openapi.from_dict(RAW_SCHEMA)
schema.app = get_wsgi_application()
WHOLE_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9X])")

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]


def whole_id_numbers(text: str) -> list[str]:
    found = []
    for candidate in WHOLE_ID.findall(text):
        try:
            id_numbers.parse(candidate)
        except Exception:  # noqa: BLE001 - not an ID number, just a long number
            continue
        found.append(candidate)
    return found


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: a request must not close the connection holding the test's transaction."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(bureau, student_a, student_b):
    from portal.tokens import token_issue

    return token_issue(user=bureau)


@schema.parametrize()
@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_has_no_server_error_and_no_whole_id_in_lists(case, token):
    response = case.call(headers={"Authorization": f"Token {token}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
    # Lists are JSON; a file an export sends (the national aid system's, with whole ID numbers for bureau staff
    # by design) is not a list.
    json_list = any("json" in value for value in response.headers.get("content-type", []))
    if case.method.upper() == "GET" and "{" not in case.path and response.status_code == 200 and json_list:
        assert not whole_id_numbers(response.text), f"whole ID number in {case.path}"
