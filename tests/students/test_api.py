"""Registry API, for each role."""

from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from students.models import School
from tests.conftest import PASSWORD
from tests.factories import make_id_number
from tests.refusals import nothing_written


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_token_login_then_list(principal_a, student_a, student_b):
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": principal_a.username, "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    assert AuthToken.objects.get(user=principal_a).token_key == token[:15]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/students/").json()["count"] == 1


def new_student(school, **overrides) -> dict:
    body = {"id_number": make_id_number(), "name": "甲", "school": school.pk, "stage": "primary", "grade": 1}
    body.update(overrides)
    return body


def test_anonymous_gets_nothing(client, student_a):
    # 401, not 403: the token scheme answers "WWW-Authenticate: Token", i.e. "sign in first".
    assert client.get("/api/students/").status_code == 401


def test_anonymous_writes_nothing(student_a, school_a):
    client = APIClient()
    with nothing_written(student_a):
        created = client.post("/api/students/", new_student(school_a), format="json")
        changed = client.patch(f"/api/students/{student_a.pk}/", {"name": "坏人"}, format="json")
    assert (created.status_code, changed.status_code) == (401, 401)


def test_list_masks_the_id_number(bureau, student_a):
    row = api_for(bureau).get("/api/students/").json()["results"][0]
    assert row["id_number_masked"] == student_a.masked_id_number
    assert student_a.id_number not in str(row)


@pytest.mark.parametrize("endpoint", ["/api/students/", "/api/schools/", "/api/townships/"])
def test_principal_lists_only_own_school(principal_a, student_a, student_b, endpoint):
    body = api_for(principal_a).get(endpoint).json()
    assert body["count"] == 1


@pytest.mark.parametrize("endpoint", ["/api/students/{b}/", "/api/schools/{s}/"])
def test_principal_cannot_read_another_school(principal_a, student_b, school_b, endpoint):
    url = endpoint.format(b=student_b.pk, s=school_b.pk)
    assert api_for(principal_a).get(url).status_code == 404


def test_principal_cannot_change_another_school_student(principal_a, principal_b, student_b):
    url = f"/api/students/{student_b.pk}/"
    with nothing_written(student_b):
        assert api_for(principal_a).patch(url, {"name": "坏人"}, format="json").status_code == 404
    assert api_for(principal_b).patch(url, {"name": "坏人"}, format="json").status_code == 200


def test_principal_cannot_create_in_another_school(principal_a, principal_b, school_b):
    body = new_student(school_b)
    with nothing_written():
        response = api_for(principal_a).post("/api/students/", body, format="json")
    assert response.status_code == 400  # school B is not among the schools principal A may choose
    assert "school" in response.json()
    assert api_for(principal_b).post("/api/students/", body, format="json").status_code == 201


def new_school(township) -> dict:
    return {"code": "X1", "name": "新学校", "township": township.pk, "school_type": "primary"}


def test_official_cannot_write(official, bureau, student_a, school_a, township_a):
    writes = [
        ("patch", f"/api/students/{student_a.pk}/", {"name": "改名"}, 200),
        ("post", "/api/students/", new_student(school_a), 201),
        ("post", "/api/schools/", new_school(township_a), 201),
        ("patch", f"/api/schools/{school_a.pk}/", {"name": "改名学校"}, 200),
    ]
    client = api_for(official)
    with nothing_written(student_a, school_a):
        for method, url, body, _ in writes:
            assert getattr(client, method)(url, body, format="json").status_code == 403, url
        assert client.delete(f"/api/schools/{school_a.pk}/").status_code == 403
    for method, url, body, allowed in writes:  # the same bodies go through for the bureau
        assert getattr(api_for(bureau), method)(url, body, format="json").status_code == allowed, url


def test_principal_cannot_create_schools(principal_a, bureau, township_a):
    with nothing_written():
        response = api_for(principal_a).post("/api/schools/", new_school(township_a), format="json")
    assert response.status_code == 403
    assert api_for(bureau).post("/api/schools/", new_school(township_a), format="json").status_code == 201


def test_township_officer_sees_own_township_only(township_officer, student_a, student_b):
    assert api_for(township_officer).get("/api/students/").json()["count"] == 1
    assert api_for(township_officer).get(f"/api/students/{student_b.pk}/").status_code == 404


def test_township_officer_cannot_change_a_student_of_another_township(township_officer, student_b):
    with nothing_written(student_b):
        response = api_for(township_officer).patch(
            f"/api/students/{student_b.pk}/", {"name": "坏人"}, format="json"
        )
    assert response.status_code == 404


def test_create_with_bad_check_digit_is_refused(bureau, school_a):
    number = make_id_number()
    bad = number[:17] + ("0" if number[17] != "0" else "1")
    with nothing_written():
        response = api_for(bureau).post("/api/students/", new_student(school_a, id_number=bad), format="json")
    assert response.status_code == 400
    assert "id_number" in response.json()


def test_duplicate_id_number_is_refused(bureau, student_a, school_a):
    with nothing_written(student_a):
        response = api_for(bureau).post(
            "/api/students/",
            {
                "id_number": student_a.id_number,
                "name": "甲",
                "school": school_a.pk,
                "stage": "primary",
                "grade": 1,
            },
            format="json",
        )
    assert response.status_code == 400
    assert "id_number" in response.json()


def test_full_id_only_when_revealed_by_a_writer_and_logged(bureau, official, student_a):
    from portal.models import AccessLog

    url = f"/api/students/{student_a.pk}/"
    assert api_for(bureau).get(url).json()["id_number_full"] is None
    assert api_for(bureau).get(url, {"reveal": "id"}).json()["id_number_full"] == student_a.id_number
    assert api_for(official).get(url, {"reveal": "id"}).json()["id_number_full"] is None
    reveal = AccessLog.objects.about(student_a).get(action=AccessLog.Action.REVEAL_ID)
    assert reveal.username == bureau.username


def test_filters_match_the_browser(bureau, student_a, student_b):
    client = api_for(bureau)
    assert client.get("/api/students/", {"school": student_a.school_id}).json()["count"] == 1
    assert client.get("/api/students/", {"q": "小红"}).json()["results"][0]["name"] == "李小红"


def test_schema_is_served(bureau):
    response = api_for(bureau).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/students/" in response.content


def test_list_query_count_is_flat(bureau, school_a, django_assert_max_num_queries):
    from tests.factories import CategoryFactory, StudentFactory

    for student in StudentFactory.create_batch(20, school=school_a):
        CategoryFactory(student=student)
    with django_assert_max_num_queries(6):
        assert api_for(bureau).get("/api/students/").status_code == 200


# --- Schools' opening and closing dates (the county's school list as of a date) ------------------------------


def test_closing_a_school_records_its_closing_date_and_takes_it_out_of_operation(bureau, school_a):
    closed_on = timezone.localdate() - timedelta(days=3)
    response = api_for(bureau).patch(
        f"/api/schools/{school_a.pk}/", {"closed_on": closed_on.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["is_active"] is False
    school_a.refresh_from_db()
    assert (school_a.closed_on, school_a.is_active) == (closed_on, False)
    assert not School.objects.open_on(timezone.localdate()).filter(pk=school_a.pk).exists()
    assert School.objects.open_on(closed_on - timedelta(days=1)).filter(pk=school_a.pk).exists()
    # Reopened: the closing date cleared, in operation again.
    response = api_for(bureau).patch(f"/api/schools/{school_a.pk}/", {"closed_on": None}, format="json")
    assert response.json()["is_active"] is True


def test_in_operation_is_not_written_apart_from_the_closing_date(bureau, school_a):
    response = api_for(bureau).patch(f"/api/schools/{school_a.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 200
    school_a.refresh_from_db()
    assert (school_a.is_active, school_a.closed_on) == (True, None)


@pytest.mark.parametrize(
    "dates",
    [
        {"closed_on": "2099-09-01"},  # a closing is recorded when it happens
        {"opened_on": "2020-09-01", "closed_on": "2020-09-01"},
        {"opened_on": "2020-09-01", "closed_on": "2019-07-01"},
    ],
)
def test_bad_school_dates_are_refused(bureau, school_a, dates):
    with nothing_written(school_a):
        response = api_for(bureau).patch(f"/api/schools/{school_a.pk}/", dates, format="json")
    assert response.status_code == 400
    assert "closed_on" in response.json()


def test_the_database_keeps_in_operation_and_the_closing_date_together(school_a):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        School.objects.filter(pk=school_a.pk).update(is_active=False)


def test_an_opening_date_after_pupils_were_on_the_register_is_refused(bureau, school_a):
    """Outside attack: setting a school's opening date after its pupils' spells dropped the school (and its
    pupils, aid and meals) from the school list of past years and moved their rebuilt reports."""
    from tests.factories import StudentFactory

    StudentFactory(school=school_a, enrolled_on=timezone.localdate().replace(year=2022, month=9, day=1))
    first = school_a.enrollments.order_by("valid_from").values_list("valid_from", flat=True).first()
    with nothing_written(school_a):
        response = api_for(bureau).patch(
            f"/api/schools/{school_a.pk}/",
            {"opened_on": (first + timedelta(days=1)).isoformat()},
            format="json",
        )
    assert response.status_code == 400
    assert first.isoformat() in str(response.json()["opened_on"])
    # On the first pupil's day or before is an opening the register agrees with.
    response = api_for(bureau).patch(
        f"/api/schools/{school_a.pk}/", {"opened_on": first.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.json()
