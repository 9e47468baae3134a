"""Issue 11, findings 6 and 7: a whole ID number is shown only through the one logged reveal, and opening a
child's record (page or API) always leaves an access-log entry."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from dropout_control import services as dropout_services
from portal.models import AccessLog
from subsidies import services as aid_services
from tests.dropout_control.factories import open_case
from tests.factories import make_id_number


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def entries(user, action, obj) -> int:
    return AccessLog.objects.filter(
        user=user, action=action, object_type=obj._meta.label_lower, object_id=str(obj.pk)
    ).count()


@pytest.fixture
def case_a(township_a, school_a, student_a, bureau):
    return open_case(township=township_a, school=school_a, student=student_a, by=bureau)


# --- Finding 6: whole numbers only through the logged reveal -------------------------------------------


def test_case_page_shows_the_number_masked_until_a_logged_reveal(bureau_client, bureau, case_a):
    url = reverse("dropout:case_detail", args=[case_a.pk])
    page = bureau_client.get(url).content.decode()
    assert case_a.id_number not in page and case_a.masked_id_number in page
    assert entries(bureau, AccessLog.Action.REVEAL_ID, case_a) == 0
    revealed = bureau_client.post(url, {"reveal": "id"}).content.decode()
    assert case_a.id_number in revealed
    assert entries(bureau, AccessLog.Action.REVEAL_ID, case_a) == 1


def test_official_cannot_reveal_a_case_number(official_client, official, case_a):
    url = reverse("dropout:case_detail", args=[case_a.pk])
    response = official_client.post(url, {"reveal": "id"})
    assert response.status_code == 200
    assert case_a.id_number not in response.content.decode()
    assert entries(official, AccessLog.Action.REVEAL_ID, case_a) == 0


def test_case_api_gives_the_whole_number_only_when_asked_and_logs_it(bureau, official, case_a):
    url = f"/api/dropout/cases/{case_a.pk}/"
    assert case_a.id_number not in str(api(bureau).get(url).json())
    assert entries(bureau, AccessLog.Action.REVEAL_ID, case_a) == 0
    assert api(bureau).get(url, {"reveal": "id"}).json()["id_number_full"] == case_a.id_number
    assert entries(bureau, AccessLog.Action.REVEAL_ID, case_a) == 1
    assert case_a.id_number not in str(api(official).get(url, {"reveal": "id"}).json())


def test_student_edit_form_shows_the_number_masked(bureau_client, student_a):
    page = bureau_client.get(reverse("students:student_edit", args=[student_a.pk])).content.decode()
    assert student_a.id_number not in page
    assert student_a.masked_id_number in page


def test_saving_the_edit_form_with_the_masked_number_keeps_the_number(bureau_client, student_a, school_a):
    number = student_a.id_number
    data = {
        "id_number": student_a.masked_id_number,
        "name": "张晓明",
        "sex": student_a.sex,
        "school": school_a.pk,
        "stage": student_a.stage,
        "grade": student_a.grade,
        "status": student_a.status,
    }
    response = bureau_client.post(reverse("students:student_edit", args=[student_a.pk]), data)
    assert response.status_code == 302
    student_a.refresh_from_db()
    assert (student_a.id_number, student_a.name) == (number, "张晓明")


def test_typing_a_new_whole_number_in_the_edit_form_changes_it(bureau_client, student_a, school_a):
    new = make_id_number(student_a.birth_date, female=student_a.sex == "F")
    data = {
        "id_number": new,
        "name": student_a.name,
        "school": school_a.pk,
        "stage": student_a.stage,
        "grade": student_a.grade,
        "status": student_a.status,
    }
    response = bureau_client.post(reverse("students:student_edit", args=[student_a.pk]), data)
    assert response.status_code == 302
    student_a.refresh_from_db()
    assert student_a.id_number == new


# --- Finding 7: every opening of a child's record is logged -------------------------------------------


@pytest.mark.parametrize(
    "page",
    ["students:student_edit", "subsidies:student_aid", "dropout:care_student", "students:student_detail"],
)
def test_opening_a_childs_page_is_logged(bureau_client, bureau, student_a, page):
    assert bureau_client.get(reverse(page, args=[student_a.pk])).status_code == 200
    assert entries(bureau, AccessLog.Action.VIEW_RECORD, student_a) == 1


def test_opening_a_case_page_is_logged(official_client, official, case_a):
    assert official_client.get(reverse("dropout:case_detail", args=[case_a.pk])).status_code == 200
    assert entries(official, AccessLog.Action.VIEW_RECORD, case_a) == 1


def test_opening_a_case_through_the_api_is_logged(official, case_a):
    assert api(official).get(f"/api/dropout/cases/{case_a.pk}/").status_code == 200
    assert entries(official, AccessLog.Action.VIEW_RECORD, case_a) == 1


def test_opening_an_aid_letter_is_logged(bureau_client, bureau, student_a):
    url = reverse("subsidies:student_letter", args=[student_a.pk, 2022, "autumn"])
    assert bureau_client.get(url).status_code == 200
    assert entries(bureau, AccessLog.Action.VIEW_RECORD, student_a) == 1


@pytest.fixture
def child_rows(bureau, student_a):
    """One row of each API detail endpoint that belongs to a child's record."""
    today = date.today()
    return {
        "/api/dropout/care-records/{}/": dropout_services.care_record_add(
            student=student_a, visited_on=today, teacher="周老师", content="家访", by=bureau
        ),
        "/api/dropout/long-absences/{}/": dropout_services.long_absence_mark(
            student=student_a, since=today, by=bureau
        ),
        "/api/subsidies/bank-accounts/{}/": aid_services.bank_account_set(
            student=student_a,
            holder_name="张大山",
            bank_name="农商银行",
            account_number="6230000011112222333",
            by=bureau,
        ),
    }


def test_opening_a_childs_row_through_the_api_is_logged_against_the_child(official, student_a, child_rows):
    for url, row in child_rows.items():
        before = entries(official, AccessLog.Action.VIEW_RECORD, student_a)
        assert api(official).get(url.format(row.pk)).status_code == 200, url
        assert entries(official, AccessLog.Action.VIEW_RECORD, student_a) == before + 1, url
