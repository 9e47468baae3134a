"""Needy-student identification through the pages and the API (issue 17): a school year walks from the
family's application to the county's confirmation, the 公示 prints and downloads without sensitive details,
and each role sees and does only its own part."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from students.models import Stage
from subsidies import eligibility, services
from subsidies.models import Identification, IdentificationObjection
from tests.refusals import nothing_written

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

YEAR = 2025
LIST = reverse("subsidies:identification_list")
PUBLICITY = reverse("subsidies:identification_publicity")
API = "/api/subsidies/identifications/"


def _detail(pk: int) -> str:
    return reverse("subsidies:identification_detail", args=[pk])


def _application(student) -> dict:
    return {
        "form_name": "apply",
        "id_number": student.id_number,
        "school_year": YEAR,
        "kind": "annual",
        "applied_on": "2025-09-03",
        "family_members": 4,
        "family_income": "12000.00",
        "hardship_reasons": "母亲患重病住院，医疗支出大",
        "guardian_name": "王桂花",
        "guardian_declared": "on",
    }


def test_a_school_year_walks_through_the_pages(
    make_student, school_a, principal_a_client, bureau_client, official_client
):
    student = make_student(Stage.SENIOR, school=school_a)
    response = principal_a_client.post(LIST, _application(student))
    assert response.status_code == 302, response.content.decode()[-2000:]
    found = Identification.objects.get(student=student)
    url = _detail(found.pk)
    assert (
        principal_a_client.post(
            url,
            {"form_name": "decide", "level": "special", "decided_on": "2025-09-18"},
        ).status_code
        == 302
    )
    found.refresh_from_db()
    assert found.status == Identification.Status.APPLIED  # refused: no review yet
    principal_a_client.post(
        url,
        {
            "form_name": "review",
            "members": "班主任、教师代表、家长代表",
            "result": "special",
            "reviewed_on": "2025-09-08",
        },
    )
    short = principal_a_client.post(
        PUBLICITY,
        {"school": school_a.pk, "school_year": YEAR, "starts_on": "2025-09-10", "ends_on": "2025-09-12"},
    )
    assert short.status_code == 200 and "至少" in short.content.decode()
    published = principal_a_client.post(
        PUBLICITY,
        {"school": school_a.pk, "school_year": YEAR, "starts_on": "2025-09-10", "ends_on": "2025-09-16"},
    )
    assert published.status_code == 302
    principal_a_client.post(
        url, {"form_name": "objection", "raised_on": "2025-09-11", "content": "家有营运车辆"}
    )
    objection = IdentificationObjection.objects.get(identification=found)
    principal_a_client.post(
        url,
        {
            "form_name": "resolve",
            "objection": objection.pk,
            "outcome": "dismissed",
            "finding": "车辆属亲戚所有",
            "resolved_on": "2025-09-15",
        },
    )
    principal_a_client.post(url, {"form_name": "decide", "level": "special", "decided_on": "2025-09-18"})
    assert (
        "confirm" not in principal_a_client.get(url).context["forms"]
        or not principal_a_client.get(url).context["forms"]["confirm"]
    )
    assert bureau_client.post(url, {"form_name": "confirm", "level": ""}).status_code == 302
    found.refresh_from_db()
    assert (found.status, found.confirmed_level) == (Identification.Status.CONFIRMED, "special")
    grant = eligibility.decide(student, "national_grant", date(YEAR, 10, 1))
    assert grant is not None and grant.level == "special"
    page = official_client.get(url)
    assert page.status_code == 200 and "母亲患重病" not in page.content.decode()
    identified = official_client.get(reverse("subsidies:identified_list") + f"?school_year={YEAR}")
    assert student.name in identified.content.decode()


def test_the_publicity_prints_and_downloads_without_sensitive_details(make_student, school_a, principal_a):
    student = make_student(Stage.SENIOR, school=school_a)
    found = services.identification_apply(
        by=principal_a,
        student=student,
        school_year=YEAR,
        applied_on=date(YEAR, 9, 3),
        family_members=3,
        family_income="9000.00",
        hardship_reasons="父亲残疾，丧失劳动能力",
        guardian_name="李某",
        guardian_declared=True,
    )
    services.identification_review(
        by=principal_a,
        identification=found,
        members="班主任等五人",
        result="difficult",
        reviewed_on=date(YEAR, 9, 8),
    )
    services.identification_publicise(
        by=principal_a,
        school=school_a,
        school_year=YEAR,
        starts_on=date(YEAR, 9, 10),
        ends_on=date(YEAR, 9, 16),
    )
    from tests.conftest import _client_for

    client = _client_for(principal_a)
    page = client.get(PUBLICITY + f"?school={school_a.pk}&school_year={YEAR}")
    text = page.content.decode()
    assert student.name in text and "2025-09-10" in text
    assert student.id_number not in text and student.id_number[-4:] not in text and "残疾" not in text
    download = client.get(PUBLICITY + f"?school={school_a.pk}&school_year={YEAR}&format=xlsx")
    assert download.status_code == 200
    sheet = load_workbook(io.BytesIO(download.content)).active
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert student.name in cells and any(c == "困难" or c == "Difficult" for c in cells)
    assert not any(student.id_number[-6:] in c or "残疾" in c or "9000" in c for c in cells)


def test_other_schools_identifications_are_404(
    make_student, school_b, principal_b, principal_a_client, township_client
):
    other = make_student(Stage.SENIOR, school=school_b)
    found = services.identification_apply(
        by=principal_b,
        student=other,
        school_year=YEAR,
        applied_on=date(YEAR, 9, 3),
        family_members=3,
        family_income="9000.00",
        hardship_reasons="因灾",
        guardian_name="李某",
        guardian_declared=True,
    )
    assert principal_a_client.get(_detail(found.pk)).status_code == 404
    assert township_client.get(_detail(found.pk)).status_code == 404
    assert principal_a_client.get(f"{API}{found.pk}/").status_code == 404
    with nothing_written(found):
        response = principal_a_client.post(
            _detail(found.pk),
            {"form_name": "review", "members": "x", "result": "special", "reviewed_on": "2025-09-08"},
        )
    assert response.status_code == 404


def test_an_application_for_another_schools_child_is_refused_on_the_page(
    make_student, school_b, principal_a_client
):
    other = make_student(Stage.SENIOR, school=school_b)
    with nothing_written():
        response = principal_a_client.post(LIST, _application(other))
    assert response.status_code == 200
    assert "不是本校学生" in response.content.decode()


def test_the_township_officer_reads_but_does_not_apply(make_student, school_a, township_client):
    student = make_student(Stage.SENIOR, school=school_a)
    assert township_client.get(LIST).status_code == 200
    with nothing_written():
        assert township_client.post(LIST, _application(student)).status_code == 403


# --- The API -----------------------------------------------------------------------------------------------------


def test_a_school_year_walks_through_the_api(make_student, school_a, principal_a, bureau, client_for):
    student = make_student(Stage.VOCATIONAL, school=school_a, grade=1)
    principal, county = client_for(principal_a), client_for(bureau)
    body = {k: v for k, v in _application(student).items() if k not in ("form_name", "id_number")}
    body |= {"student": student.pk, "guardian_declared": True}
    created = principal.post(API, body, content_type="application/json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    refused = principal.post(
        f"{API}{pk}/decide/",
        {"level": "general", "decided_on": "2025-09-18"},
        content_type="application/json",
    )
    assert refused.status_code == 400 and "民主评议" in str(refused.json())
    assert (
        principal.post(
            f"{API}{pk}/review/",
            {"members": "班主任、家长代表", "result": "general", "reviewed_on": "2025-09-08"},
            content_type="application/json",
        ).status_code
        == 200
    )
    short = principal.post(
        f"{API}publicise/",
        {"school": school_a.pk, "school_year": YEAR, "starts_on": "2025-09-10", "ends_on": "2025-09-11"},
        content_type="application/json",
    )
    assert short.status_code == 400 and "ends_on" in short.json()
    assert principal.post(
        f"{API}publicise/",
        {"school": school_a.pk, "school_year": YEAR, "starts_on": "2025-09-10", "ends_on": "2025-09-16"},
        content_type="application/json",
    ).json() == {"publicised": 1}
    again = principal.post(
        f"{API}publicise/",
        {"school": school_a.pk, "school_year": YEAR, "starts_on": "2025-09-20", "ends_on": "2025-09-26"},
        content_type="application/json",
    )
    assert again.status_code == 400 and "已在公示" in str(again.json())
    assert Identification.objects.get(pk=pk).publicity_from == date(YEAR, 9, 10)
    objection = principal.post(
        f"{API}{pk}/objections/",
        {"raised_on": "2025-09-11", "content": "收入不实"},
        content_type="application/json",
    )
    assert objection.status_code == 201
    principal.post(
        f"{API}{pk}/decide/",
        {"level": "general", "decided_on": "2025-09-18"},
        content_type="application/json",
    )
    assert principal.post(f"{API}{pk}/confirm/", {}, content_type="application/json").status_code == 403
    blocked = county.post(f"{API}{pk}/confirm/", {}, content_type="application/json")
    assert blocked.status_code == 400 and "未处理的异议" in str(blocked.json())
    principal.post(
        f"{API}{pk}/resolve-objection/",
        {
            "objection": objection.json()["id"],
            "outcome": "upheld",
            "finding": "经核实收入属实",
            "resolved_on": "2025-09-15",
        },
        content_type="application/json",
    )
    confirmed = county.post(f"{API}{pk}/confirm/", {}, content_type="application/json")
    assert confirmed.status_code == 200 and confirmed.json()["confirmed_level"] == "general"
    listed = county.get(f"{API}identified/?school_year={YEAR}").json()
    assert [r["identified_level"] for r in listed["results"] if r["id"] == student.pk] == ["general"]
    grant = eligibility.decide(student, "national_grant", date(YEAR, 10, 1))
    assert grant.amount_per_term == 1000


def test_officials_read_the_api_without_the_familys_reasons(
    make_student, school_a, principal_a, official, client_for
):
    student = make_student(Stage.SENIOR, school=school_a)
    found = services.identification_apply(
        by=principal_a,
        student=student,
        school_year=YEAR,
        applied_on=date(YEAR, 9, 3),
        family_members=3,
        family_income="9000.00",
        hardship_reasons="患白血病",
        guardian_name="李某",
        guardian_declared=True,
    )
    reader = client_for(official)
    data = reader.get(f"{API}{found.pk}/").json()
    assert data["hardship_reasons"] is None and data["student_name"] == student.name
    assert client_for(principal_a).get(f"{API}{found.pk}/").json()["hardship_reasons"] == "患白血病"
    with nothing_written(found):
        assert reader.post(f"{API}{found.pk}/review/", {}, content_type="application/json").status_code == 403
