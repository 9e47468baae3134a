"""Issue 14: the university students' roster and their aid, and social aid: who keeps and reads them, and what
is refused (wrong ID number, duplicates, amounts, dates), with the clerk's message and nothing written."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from students import id_numbers
from students.models import school_year_of
from subsidies import services
from subsidies.models import SocialAidGrant, SocialAidProgramme, UniversityAid, UniversityStudent
from tests.refusals import nothing_written

pytestmark = pytest.mark.django_db

STUDENTS = "/api/subsidies/university-students/"
AID = "/api/subsidies/university-aid/"
PROGRAMMES = "/api/subsidies/social-aid-programmes/"
GRANTS = "/api/subsidies/social-aid-grants/"
YEAR = school_year_of()


def _number(k: int = 0) -> str:
    return id_numbers.make("360730", date(2005, 3, 1) + timedelta(days=k), 11 + k)


@pytest.fixture
def roster(bureau, township_a, township_b):
    a = services.university_student_add(
        by=bureau,
        id_number=_number(0),
        name="王大学",
        university="南昌大学",
        enrolment_year=YEAR,
        home_township=township_a,
        category="poverty_alleviated",
    )
    b = services.university_student_add(
        by=bureau,
        id_number=_number(1),
        name="赵大学",
        university="江西师范大学",
        enrolment_year=YEAR,
        home_township=township_b,
    )
    return a, b


@pytest.fixture
def programme(bureau):
    return services.social_programme_add(
        by=bureau, name="泛海助学", donor="泛海公益基金会", target="大学新生"
    )


def _post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_bureau_records_a_student_and_a_travel_grant_through_the_api(bureau_client, township_a):
    response = _post(
        bureau_client,
        STUDENTS,
        {
            "id_number": _number(5),
            "name": "钱新生",
            "university": "武汉大学",
            "enrolment_year": YEAR,
            "home_township": township_a.pk,
            "category": "dibao",
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["id_number_masked"] == id_numbers.mask(_number(5))
    assert "id_number" not in response.json()
    today = timezone.localdate()
    response = _post(
        bureau_client,
        AID,
        {
            "id_number": _number(5),
            "kind": "freshman_travel",
            "school_year": YEAR,
            "amount": "600.00",
            "paid_on": str(today),
        },
    )
    assert response.status_code == 201, response.content
    aid = UniversityAid.objects.get()
    assert aid.amount == Decimal("600.00") and aid.student.name == "钱新生"
    assert aid.events.count() == 1  # history-tracked


def test_a_wrong_id_number_is_refused_with_a_message_and_nothing_written(bureau_client, township_a):
    wrong = _number(5)[:-1] + ("0" if _number(5)[-1] != "0" else "1")
    with nothing_written():
        response = _post(
            bureau_client,
            STUDENTS,
            {
                "id_number": wrong,
                "name": "错号",
                "university": "武汉大学",
                "enrolment_year": YEAR,
                "home_township": township_a.pk,
            },
        )
    assert response.status_code == 400
    assert "身份证" in str(response.json()["id_number"])


def test_a_child_on_a_schools_roll_is_not_a_university_student(bureau, student_a, township_a):
    with nothing_written(), pytest.raises(Exception) as refused:
        services.university_student_add(
            by=bureau,
            id_number=student_a.id_number,
            name=student_a.name,
            university="武汉大学",
            enrolment_year=YEAR,
            home_township=township_a,
        )
    assert "在籍" in str(refused.value)


def test_duplicate_negative_future_and_off_year_grants_are_refused(bureau_client, roster):
    today = timezone.localdate()
    body = {
        "id_number": _number(0),
        "kind": "freshman_travel",
        "school_year": YEAR,
        "amount": "500.00",
        "paid_on": str(today),
    }
    assert _post(bureau_client, AID, body).status_code == 201
    cases = [
        (body, "已有此项资助"),
        ({**body, "kind": "tuition", "amount": "-5.00"}, "大于零"),
        ({**body, "kind": "tuition", "amount": "0.00"}, "大于零"),
        ({**body, "kind": "tuition", "paid_on": str(today + timedelta(days=1))}, "今天之后"),
        ({**body, "id_number": _number(1), "school_year": YEAR - 1}, "就读期间"),
        # Outside attack: the payment date in another school year than the aid's (a grant four years early).
        (
            {**body, "id_number": _number(1), "kind": "tuition", "paid_on": f"{YEAR - 4}-10-01"},
            "发放日期不在",
        ),
        ({**body, "id_number": _number(1), "kind": "tuition", "school_year": YEAR + 70}, "发放日期不在"),
        ({**body, "id_number": _number(9)}, "请先登记"),
    ]
    for refused, words in cases:
        with nothing_written():
            response = _post(bureau_client, AID, refused)
        assert response.status_code == 400, refused
        assert words in str(response.json()), (refused, response.json())


def test_social_grants_to_a_pupil_and_a_university_student_and_their_refusals(
    bureau, bureau_client, roster, programme, student_a, school_a
):
    today = timezone.localdate()
    response = _post(
        bureau_client,
        GRANTS,
        {
            "programme": programme.pk,
            "id_number": student_a.id_number,
            "amount": "1000.00",
            "granted_on": str(today),
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["school"] == school_a.pk and response.json()["township"] == school_a.township_id
    response = _post(
        bureau_client,
        GRANTS,
        {
            "programme": programme.pk,
            "id_number": roster[1].id_number,
            "amount": "2000.00",
            "granted_on": str(today),
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["school"] is None and response.json()["township"] == roster[1].home_township_id
    cases = [
        ({"id_number": student_a.id_number, "amount": "1000.00"}, "已登记"),  # the same grant twice
        ({"id_number": roster[0].id_number, "amount": "-1.00"}, "大于零"),
        ({"id_number": roster[0].id_number, "amount": "1.005"}, "amount"),
        ({"id_number": _number(40), "amount": "10.00"}, "不在本县任何学校在籍"),
        ({"id_number": "36073020050301001X", "amount": "10.00"}, "身份证"),
    ]
    for fields, words in cases:
        with nothing_written():
            response = _post(
                bureau_client, GRANTS, {"programme": programme.pk, "granted_on": str(today), **fields}
            )
        assert response.status_code == 400, fields
        assert words in str(response.json()), (fields, response.json())
    with nothing_written():
        response = _post(bureau_client, PROGRAMMES, {"name": "泛海助学", "donor": "另一家"})
    assert response.status_code == 400 and "同名" in str(response.json())
    assert SocialAidGrant.objects.count() == 2


def test_principals_see_no_university_student_township_officers_their_townships(
    bureau, roster, programme, principal_a_client, township_client, official_client, student_a, township_a
):
    services.social_grant_add(
        by=bureau,
        programme=programme,
        id_number=student_a.id_number,
        amount=Decimal("100"),
        granted_on=timezone.localdate(),
    )
    services.social_grant_add(
        by=bureau,
        programme=programme,
        id_number=roster[1].id_number,
        amount=Decimal("200"),
        granted_on=timezone.localdate(),
    )
    assert principal_a_client.get(STUDENTS).json()["results"] == []
    assert principal_a_client.get(AID).json()["results"] == []
    # The principal sees the grant to the school's own child, not the university student's.
    assert [g["amount"] for g in principal_a_client.get(GRANTS).json()["results"]] == ["100.00"]
    assert [s["name"] for s in township_client.get(STUDENTS).json()["results"]] == ["王大学"]
    assert [g["amount"] for g in township_client.get(GRANTS).json()["results"]] == ["100.00"]
    assert len(official_client.get(STUDENTS).json()["results"]) == 2
    # Nobody but bureau staff writes.
    body = {
        "id_number": _number(7),
        "name": "孙",
        "university": "武汉大学",
        "enrolment_year": YEAR,
        "home_township": township_a.pk,
    }
    for client in (principal_a_client, township_client, official_client):
        with nothing_written():
            assert _post(client, STUDENTS, body).status_code == 403
            assert _post(client, PROGRAMMES, {"name": "新项目", "donor": "某企业"}).status_code == 403
    page = principal_a_client.get(reverse("subsidies:university_students"))
    assert page.status_code == 200 and not page.context["forms"] and "王大学" not in page.content.decode()
    assert (
        principal_a_client.post(
            reverse("subsidies:social_aid"), {"form_name": "programme", "name": "x", "donor": "y"}
        ).status_code
        == 403
    )


def test_the_pages_record_with_the_forms_and_show_the_refusals(bureau_client, township_a, roster):
    url = reverse("subsidies:social_aid")
    response = bureau_client.post(
        url, {"form_name": "programme", "name": "滋蕙计划", "donor": "滋蕙基金会", "target": "高中"}
    )
    assert response.status_code == 302
    programme = SocialAidProgramme.objects.get(name="滋蕙计划")
    today = timezone.localdate()
    body = {
        "form_name": "grant",
        "programme": programme.pk,
        "id_number": roster[0].id_number,
        "amount": "300.00",
        "granted_on": str(today),
    }
    assert bureau_client.post(url, body).status_code == 302
    with nothing_written():
        response = bureau_client.post(url, body)
    assert response.status_code == 200 and "不能重复登记" in response.content.decode()
    page = bureau_client.get(url).content.decode()
    assert "滋蕙计划" in page and "300" in page
    url = reverse("subsidies:university_students")
    response = bureau_client.post(
        url,
        {
            "form_name": "aid",
            "id_number": roster[0].id_number,
            "kind": "tuition",
            "school_year": YEAR,
            "amount": "-1",
            "paid_on": str(today),
        },
    )
    assert response.status_code == 200 and "金额必须大于零" in response.content.decode()
    page = bureau_client.get(url).content.decode()
    assert id_numbers.mask(roster[0].id_number) in page and roster[0].id_number not in page
    assert UniversityStudent.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        # Outside attack: a 7-year-old, a year of enrolment to come, a name that shows nothing.
        ({"id_number": id_numbers.make("360730", date(YEAR - 7, 5, 1), 41)}, "id_number", "年龄过小"),
        ({"enrolment_year": YEAR + 73}, "enrolment_year", "不能晚于本学年"),
        ({"name": "\u200b"}, "name", ""),
    ],
)
def test_an_implausible_university_student_is_refused(bureau_client, township_a, change, field, words):
    body = {
        "id_number": _number(6),
        "name": "李大学",
        "university": "武汉大学",
        "enrolment_year": YEAR,
        "home_township": township_a.pk,
        **change,
    }
    with nothing_written():
        response = _post(bureau_client, STUDENTS, body)
    assert response.status_code == 400, response.json()
    assert words in str(response.json()[field])


def test_a_programme_named_with_nothing_visible_is_refused(bureau):
    with nothing_written(), pytest.raises(ValidationError) as refused:
        services.social_programme_add(by=bureau, name="\u200b", donor="\u200b")
    assert "name" in refused.value.message_dict
