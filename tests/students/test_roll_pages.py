"""A school year's roll through the API and the pages: upload into a preview, apply, resolve the missing;
who may, who may not; the dropout office's lists show the unresolved compulsory-age children."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from students.models import Enrollment, ImportJob, MissingFromRoll, Student
from tests.factories import StudentFactory, make_id_number
from tests.refusals import nothing_written
from tests.students.test_roll import ROLL_DATE, YEAR, line, of, xlsx

pytestmark = pytest.mark.django_db


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def two_schools(school_a, school_b):
    start = date(YEAR - 1, 9, 1)
    return (
        StudentFactory(school=school_a, grade=3, enrolled_on=start),
        StudentFactory(school=school_b, grade=4, enrolled_on=start),
    )


def upload_body(rows, **fields):
    return {"file": xlsx(rows), "kind": "full_roll", "school_year": YEAR, "roll_date": ROLL_DATE, **fields}


def test_api_roll_preview_then_apply_then_resolve(bureau, two_schools, school_a):
    stays, gone = two_schools
    client = api_for(bureau)
    newcomer = make_id_number()
    response = client.post(
        "/api/students/roll-import/",
        upload_body([of(stays), line(school_a, number=newcomer, grade=1)]),
        format="multipart",
    )
    assert response.status_code == 201, response.content
    job = response.json()
    assert (job["status"], job["kind"], job["school_year"]) == ("preview", "full_roll", YEAR)
    assert job["preview"]["counts"]["new"] == 1
    assert [m["student"] for m in job["preview"]["missing"]] == [gone.pk]
    assert not Student.objects.filter(id_number=newcomer).exists()

    response = client.post(f"/api/imports/{job['id']}/apply/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "done"
    assert Enrollment.objects.on(ROLL_DATE).filter(student__id_number=newcomer).exists()

    listed = client.get("/api/roll-missing/", {"is_compulsory": "true", "status": "pending"}).json()[
        "results"
    ]
    assert [m["student"] for m in listed] == [gone.pk]
    response = client.post(
        f"/api/roll-missing/{listed[0]['id']}/resolve/",
        {"reason": "graduated", "on": ROLL_DATE.isoformat()},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["reason"] == "graduated"
    assert Student.objects.get(pk=gone.pk).status == Student.Status.GRADUATED


def test_api_refuses_a_closed_year_with_a_message_and_writes_nothing(bureau, two_schools):
    stays, _gone = two_schools
    with nothing_written(stays):
        response = api_for(bureau).post(
            "/api/students/roll-import/", upload_body([of(stays)], school_year=YEAR - 1), format="multipart"
        )
    assert response.status_code == 400
    assert "school_year" in response.json()
    with nothing_written(stays):
        response = api_for(bureau).post(
            "/api/students/roll-import/", upload_body([of(stays)], kind="past_roll"), format="multipart"
        )
    assert response.status_code == 400


def test_api_only_bureau_staff_upload_or_apply_a_roll(bureau, principal_a, official, two_schools):
    stays, _gone = two_schools
    for user in (principal_a, official):
        with nothing_written(stays):
            response = api_for(user).post(
                "/api/students/roll-import/", upload_body([of(stays)]), format="multipart"
            )
        assert response.status_code == 403
    job = (
        api_for(bureau)
        .post("/api/students/roll-import/", upload_body([of(stays)]), format="multipart")
        .json()
    )
    for user in (principal_a, official):
        with nothing_written(ImportJob.objects.get(pk=job["id"]), stays):
            response = api_for(user).post(f"/api/imports/{job['id']}/apply/")
        assert response.status_code in (403, 404)


def test_api_missing_children_are_scoped_and_resolved_only_in_scope(
    bureau, principal_a, principal_b, two_schools
):
    stays, gone = two_schools  # gone is at school B
    client = api_for(bureau)
    job = client.post("/api/students/roll-import/", upload_body([of(stays)]), format="multipart").json()
    client.post(f"/api/imports/{job['id']}/apply/")
    missing = MissingFromRoll.objects.get()
    assert api_for(principal_a).get("/api/roll-missing/").json()["results"] == []
    assert len(api_for(principal_b).get("/api/roll-missing/").json()["results"]) == 1
    with nothing_written(missing, gone):
        response = api_for(principal_a).post(
            f"/api/roll-missing/{missing.pk}/resolve/",
            {"reason": "deceased", "on": "2020-01-01"},
            format="json",
        )
    assert response.status_code == 404
    with nothing_written(missing, gone):
        response = api_for(principal_b).post(
            f"/api/roll-missing/{missing.pk}/resolve/",
            {"reason": "on_later_roll", "on": "2020-01-01"},
            format="json",
        )
    assert response.status_code == 400


def test_the_schema_documents_the_roll_endpoints(bureau):
    schema = api_for(bureau).get("/api/schema/", {"format": "json"}).json()
    upload = schema["paths"]["/api/students/roll-import/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"201", "202", "400"} <= set(upload["responses"])
    assert "200" in schema["paths"]["/api/imports/{id}/apply/"]["post"]["responses"]
    assert "requestBody" in schema["paths"]["/api/roll-missing/{id}/resolve/"]["post"]


def test_pages_upload_preview_apply_and_resolve(bureau_client, two_schools, school_a):
    stays, gone = two_schools
    page = bureau_client.get(reverse("students:roll_import"))
    assert page.status_code == 200
    response = bureau_client.post(reverse("students:roll_import"), upload_body([of(stays)]))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("students:import_detail", args=[job.pk])
    detail = bureau_client.get(response.url).content.decode()
    assert 'id="roll-apply"' in detail and 'id="preview-missing"' in detail and gone.name in detail
    bureau_client.post(reverse("students:import_apply", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    listing = bureau_client.get(reverse("students:missing_list")).content.decode()
    assert gone.name in listing
    missing = MissingFromRoll.objects.get()
    bureau_client.post(
        reverse("students:missing_resolve", args=[missing.pk]),
        {"reason": "suspended", "on": timezone.localdate().isoformat(), "note": "病休"},
    )
    missing.refresh_from_db()
    assert (missing.status, missing.note) == ("resolved", "病休")
    assert Student.objects.get(pk=gone.pk).status == Student.Status.SUSPENDED


def test_pages_refuse_a_closed_year_on_the_form(bureau_client, two_schools):
    stays, _gone = two_schools
    with nothing_written(stays):
        response = bureau_client.post(
            reverse("students:roll_import"), upload_body([of(stays)], school_year=YEAR + 1)
        )
    assert response.status_code == 200
    assert ImportJob.objects.count() == 0
    assert response.context["form"].errors["school_year"]


def test_only_bureau_staff_open_the_roll_page(principal_a_client, official_client):
    for client in (principal_a_client, official_client):
        assert client.get(reverse("students:roll_import")).status_code == 403


def test_the_dropout_office_sees_unresolved_compulsory_age_children(
    bureau, bureau_client, principal_a_client, two_schools
):
    stays, gone = two_schools
    job = (
        api_for(bureau)
        .post("/api/students/roll-import/", upload_body([of(stays)]), format="multipart")
        .json()
    )
    api_for(bureau).post(f"/api/imports/{job['id']}/apply/")
    suspects = bureau_client.get(reverse("dropout:suspect_list")).content.decode()
    assert 'id="missing-from-roll"' in suspects and gone.name in suspects
    assert "#missing-from-roll" in bureau_client.get(reverse("dropout:index")).content.decode()
    # Another school's principal does not see the child.
    assert gone.name not in principal_a_client.get(reverse("dropout:suspect_list")).content.decode()
    MissingFromRoll.objects.update(status="resolved", reason="elsewhere", resolved_on=ROLL_DATE)
    assert 'id="missing-from-roll"' not in bureau_client.get(reverse("dropout:suspect_list")).content.decode()


def test_missing_list_query_count_is_flat(bureau, bureau_client, school_a, django_assert_max_num_queries):
    start = date(YEAR - 1, 9, 1)
    kept = StudentFactory(school=school_a, enrolled_on=start)
    StudentFactory.create_batch(15, school=school_a, enrolled_on=start)
    job = (
        api_for(bureau).post("/api/students/roll-import/", upload_body([of(kept)]), format="multipart").json()
    )
    api_for(bureau).post(f"/api/imports/{job['id']}/apply/")
    assert MissingFromRoll.objects.count() == 15
    with django_assert_max_num_queries(12):
        assert bureau_client.get(reverse("students:missing_list")).status_code == 200
