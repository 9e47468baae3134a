"""The OpenAPI schema documents the refusals of issue 13's endpoints: each operation lists its 4xx responses
with the error body's shape (`detail`, or the fields with their messages)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

# operation -> the 4xx it must document
OPERATIONS = {
    ("/api/students/rollover/", "post"): {"400", "403"},
    ("/api/students/rollover/{id}/", "get"): {"403", "404"},
    ("/api/students/rollover/undo/", "post"): {"400", "403"},
    ("/api/students/rollover/confirm/", "post"): {"400", "403", "404"},
    ("/api/students/roll-import/", "post"): {"400", "403"},
    ("/api/imports/{id}/apply/", "post"): {"400", "403", "404"},
    ("/api/roll-missing/{id}/resolve/", "post"): {"400", "403", "404"},
    ("/api/subsidies/past-payment-imports/preview/", "post"): {"400", "403"},
    ("/api/subsidies/past-payment-imports/apply/", "post"): {"400", "403"},
    ("/api/reports/snapshots/{id}/publish/", "post"): {"400", "403", "404"},
    ("/api/reports/snapshots/{id}/download/", "get"): {"403", "404", "409"},
    ("/api/reports/snapshots/rebuild/", "post"): {"400", "403"},
    ("/api/reports/populations/", "post"): {"400", "403"},
    # Found by an outside attack: reads answer 400/403/404 too (portal.api.document_errors documents them).
    ("/api/reports/snapshots/current/", "get"): {"400", "403", "404"},
    ("/api/reports/snapshots/", "get"): {"403"},
    ("/api/reports/snapshots/{id}/", "get"): {"403", "404"},
    ("/api/subsidies/past-payment-imports/{id}/file/", "get"): {"403", "404"},
    ("/api/students/rollover/confirmations/", "get"): {"400", "403"},
    ("/api/imports/{id}/", "get"): {"403", "404"},
    # Issue 17: needy-student identification.
    ("/api/subsidies/identifications/", "post"): {"400", "403"},
    ("/api/subsidies/identifications/{id}/review/", "post"): {"400", "403", "404"},
    ("/api/subsidies/identifications/{id}/decide/", "post"): {"400", "403", "404"},
    ("/api/subsidies/identifications/{id}/objections/", "post"): {"400", "403", "404"},
    ("/api/subsidies/identifications/{id}/resolve-objection/", "post"): {"400", "403", "404"},
    ("/api/subsidies/identifications/{id}/confirm/", "post"): {"400", "403", "404"},
    ("/api/subsidies/identifications/publicise/", "post"): {"400", "403"},
    ("/api/subsidies/identifications/identified/", "get"): {"400", "403"},
}


_SERVED: list[dict] = []


@pytest.fixture
def schema(bureau_client):
    """The schema as served to bureau staff, generated once for the module (it does not depend on rows)."""
    if not _SERVED:
        response = bureau_client.get("/api/schema/?format=json")
        assert response.status_code == 200
        _SERVED.append(response.json())
    return _SERVED[0]


def _schema_of(response: dict, schema: dict) -> dict:
    body = response["content"]["application/json"]["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    return body


@pytest.mark.parametrize(("path", "method"), sorted(OPERATIONS), ids=lambda v: str(v))
def test_each_issue_13_operation_documents_its_refusals(schema, path, method):
    operation = schema["paths"][path][method]
    documented = {code for code in operation["responses"] if code.startswith("4")}
    assert OPERATIONS[(path, method)] <= documented, (path, method, documented)
    for code in OPERATIONS[(path, method)]:
        response = operation["responses"][code]
        assert response.get("description"), (path, code)
        body = _schema_of(response, schema)
        assert "detail" in body["properties"], (path, code)
        if code == "400":
            # The fields' messages beside `detail`.
            assert body["additionalProperties"]["type"] == "array", path
        else:
            assert body["properties"]["detail"]["type"] == "string" and body["required"] == ["detail"]


def test_the_walk_finds_every_operation_it_names(schema):
    """A renamed path fails here rather than silently leaving the list."""
    missing = [(p, m) for p, m in OPERATIONS if m not in schema["paths"].get(p, {})]
    assert not missing


def test_a_large_roll_over_is_documented_as_202_with_the_roll_over_to_follow(schema):
    post = schema["paths"]["/api/students/rollover/"]["post"]["responses"]
    assert {"200", "201", "202"} <= set(post)
    assert "rollover/{id}/" in post["202"]["description"]
