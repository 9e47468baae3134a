"""Every write of the API, tried by an official (reads only) and by an anonymous caller, on the demo county.

The per-area tests send each refused write the body an allowed user succeeds with; this one walks every
write operation of the OpenAPI schema, so that a new endpoint cannot forget the refusal. Each request
names a real row and carries that row as the API itself shows it, and must be refused with exactly one
status and write nothing.
"""

from __future__ import annotations

import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from portal.models import User
from tests.refusals import nothing_written

WRITE_METHODS = ("post", "put", "patch", "delete")
# Signing in is the one write an anonymous caller may make; it is tested in tests/portal/test_security*.py.
OPEN_PATHS = ("/api/auth/token/",)

WRITE_OPERATIONS = sorted(
    (path, method)
    for path, operations in json.loads(
        json.dumps(SchemaGenerator().get_schema(request=None, public=True), cls=DjangoJSONEncoder)
    )["paths"].items()
    for method in operations
    if method in WRITE_METHODS and path not in OPEN_PATHS
)


def rows(payload) -> list:
    if isinstance(payload, dict) and isinstance(payload.get("results"), list):
        return payload["results"]
    return payload if isinstance(payload, list) else []


# The two walks ask for the same rows of the same demo county: read each collection once.
_REQUESTS: dict[str, tuple[str, dict]] = {}


def request_for(reader: APIClient, path: str) -> tuple[str, dict]:
    if path not in _REQUESTS:
        _REQUESTS[path] = _request_for(reader, path)
    return _REQUESTS[path]


def _request_for(reader: APIClient, path: str) -> tuple[str, dict]:
    """The path with a real row's id, and that row as the API shows it (the shape a writer would send)."""
    collection = path.split("{id}")[0]
    if collection.endswith("/import/") or collection.endswith("/rebuild/"):
        return path, {}
    listed = [row for row in rows(reader.get(collection).json()) if isinstance(row, dict)]
    if not listed:
        return path.replace("{id}", "0"), {}
    row = {key: value for key, value in listed[0].items() if key != "id"}
    return path.replace("{id}", str(listed[0].get("id", 0))), row


def test_the_walk_covers_every_area():
    areas = {path.split("/")[2] for path, _ in WRITE_OPERATIONS}
    assert {"students", "schools", "subsidies", "dropout", "nutrition", "reports"} <= areas
    assert len(WRITE_OPERATIONS) >= 40


@pytest.mark.django_db
def test_an_official_is_refused_every_write_and_nothing_is_written(demo_county, db):
    official = User.objects.get(username="official")
    client = APIClient()
    client.force_authenticate(official)
    for path, method in WRITE_OPERATIONS:
        url, body = request_for(client, path)
        with nothing_written():
            response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 403, f"{method.upper()} {url}: {response.status_code}"


@pytest.mark.django_db
def test_an_anonymous_caller_is_refused_every_write_and_nothing_is_written(demo_county, db):
    official = User.objects.get(username="official")
    reader = APIClient()
    reader.force_authenticate(official)
    anonymous = APIClient()
    for path, method in WRITE_OPERATIONS:
        url, body = request_for(reader, path)
        with nothing_written():
            response = getattr(anonymous, method)(url, body, format="json")
        # 401, not 403: the token scheme answers "WWW-Authenticate: Token", i.e. "sign in first".
        assert response.status_code == 401, f"{method.upper()} {url}: {response.status_code}"
