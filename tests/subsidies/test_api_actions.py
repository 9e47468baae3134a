"""Issue 12, "Through the API": data matching's export and apply, and the out-of-county letter (发函), are API
actions as well as pages, documented in the schema."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from portal.excel import XLSX_CONTENT_TYPE
from portal.models import AccessLog
from students.models import Stage, StudentCategory
from subsidies import matching
from subsidies.models import MatchResult, OutOfCountyStudent
from tests.factories import make_id_number
from tests.subsidies.conftest import xlsx

PA = "poverty_alleviated"
API = "/api/subsidies"


@pytest.fixture
def run(bureau, make_student, school_a):
    missed = make_student(Stage.PRIMARY, boarding=True, school=school_a, name="漏助")
    return matching.match_upload(
        upload=xlsx([["身份证号", "姓名"], [missed.id_number, missed.name]]),
        source="rural",
        category=PA,
        school_year=2022,
        term="autumn",
        by=bureau,
        file_name="list.xlsx",
    )


def test_matching_export_through_the_api(client_for, bureau, principal_a, run):
    response = client_for(bureau).get(f"{API}/matching-runs/{run.pk}/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    sheet = load_workbook(io.BytesIO(response.content))["在名单上但本学期未资助"]
    assert "漏助" in str(list(sheet.iter_rows(values_only=True)))
    assert AccessLog.objects.filter(action=AccessLog.Action.EXPORT, object_id=str(run.pk)).exists()
    assert client_for(principal_a).get(f"{API}/matching-runs/{run.pk}/export/").status_code == 404


def test_matching_apply_through_the_api(client_for, bureau, official, run):
    result = run.results.get(kind=MatchResult.Kind.UNAIDED)
    url = f"{API}/matching-runs/{run.pk}/apply/"
    body = {"results": [result.pk], "valid_from": "2022-09-01"}
    assert client_for(official).post(url, body, content_type="application/json").status_code in (403, 404)
    response = client_for(bureau).post(url, body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json() == {"added": 1}
    assert StudentCategory.objects.get(student=result.student).category == PA
    again = client_for(bureau).post(url, body, content_type="application/json")
    assert again.status_code == 400


@pytest.fixture
def ledger(bureau, township_a):
    for name in ("县外甲", "县外乙"):
        OutOfCountyStudent.objects.create(
            id_number=make_id_number(),
            name=name,
            home_township=township_a,
            destination_county_code="360731",
            destination_county="于都县",
            destination_school="于都中学",
            stage=Stage.JUNIOR,
            category=PA,
            school_year=2022,
        )


def test_out_of_county_letter_through_the_api(client_for, bureau, township_officer, ledger):
    api = client_for(bureau)
    query = {"destination_county_code": "360731", "school_year": 2022}
    response = api.get(f"{API}/out-of-county/letter/", query)
    assert response.status_code == 200, response.content
    letter = response.json()
    assert letter["destination_county"] == "于都县"
    assert {line["name"] for line in letter["lines"]} == {"县外甲", "县外乙"}
    assert all(len(line["id_number"]) == 18 and "*" not in line["id_number"] for line in letter["lines"])
    assert AccessLog.objects.filter(action=AccessLog.Action.REVEAL_ID).exists()
    officer = client_for(township_officer)
    assert officer.get(f"{API}/out-of-county/letter/", query).status_code == 403
    assert (
        officer.post(f"{API}/out-of-county/letter-sent/", query, content_type="application/json").status_code
        == 403
    )
    response = api.post(f"{API}/out-of-county/letter-sent/", query, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json() == {"marked": 2}
    assert set(OutOfCountyStudent.objects.values_list("follow_up", flat=True)) == {"sent"}
    missing = {"destination_county_code": "999999", "school_year": 2022}
    assert api.get(f"{API}/out-of-county/letter/", missing).status_code == 404


def test_schema_documents_matching_and_letter_actions(bureau_client):
    paths = bureau_client.get("/api/schema/?format=json").json()["paths"]
    export = paths["/api/subsidies/matching-runs/{id}/export/"]["get"]
    assert export["responses"]["200"]["content"][XLSX_CONTENT_TYPE]["schema"]["format"] == "binary"
    for path in (
        "/api/subsidies/matching-runs/{id}/apply/",
        "/api/subsidies/out-of-county/letter/",
        "/api/subsidies/out-of-county/letter-sent/",
    ):
        assert path in paths, path
