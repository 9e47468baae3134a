"""Issue 11, finding 2: a masked ID number must not be rebuildable from what a role without the reveal
right can read about the child.

The attack: the mask keeps the first 4 and last 4 characters (`3607**********0016`), and the last 4 are the
whole sequence and the check character. What is missing is the rest of the division code and the birth
date. Read the birth date and household county next to the mask, and one number is left. These tests collect
everything an official (and a principal reading lists) can read about a child — API list, detail and search,
the list and record pages with their change history, the masked Excel export, the aid and care pages — then
enumerate the numbers consistent with it.
"""

from __future__ import annotations

import calendar
import io
import json
from datetime import date, timedelta

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from students import id_numbers, services
from students.models import Student
from tests.factories import StudentFactory, make_id_number

# The county-level division codes of 赣州市 (3607xx): what the first four characters of a mask leave open.
GANZHOU = [
    "360702",
    "360703",
    "360704",
    "360721",
    "360722",
    "360723",
    "360724",
    "360725",
    "360726",
    "360727",
    "360728",
    "360729",
    "360730",
    "360731",
    "360732",
    "360733",
    "360734",
    "360735",
    "360781",
    "360783",
]
BIRTH = date(2013, 7, 19)
CORRECTED_BIRTH = date(2013, 9, 2)


def candidates(masked: str, *, days, divisions) -> set[str]:
    """Every valid number that shows as `masked`, for the given birth days and division codes."""
    first4, last4 = masked[:4], masked[-4:]
    found = set()
    for division in divisions:
        if not division.startswith(first4):
            continue
        for day in days:
            first17 = f"{division}{day:%Y%m%d}{last4[:3]}"
            if id_numbers.check_char(first17) == last4[3]:
                found.add(first17 + last4[3])
    return found


def days_of(year: int) -> list[date]:
    start = date(year, 1, 1)
    return [start + timedelta(days=n) for n in range(366 if calendar.isleap(year) else 365)]


def birth_date_forms(day: date) -> list[str]:
    return [
        day.isoformat(),
        f"{day:%Y%m%d}",
        f"{day:%Y/%m/%d}",
        f"{day.year}年{day.month}月{day.day}日",
        f"{day.year}年{day.month:02d}月{day.day:02d}日",
    ]


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def xlsx_text(content: bytes) -> str:
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(
        " ".join(str(v) for v in row if v is not None)
        for ws in workbook
        for row in ws.iter_rows(values_only=True)
    )


@pytest.fixture
def child(bureau, school_a):
    """A child whose ID number a clerk corrected once: the history holds two numbers and two birth dates."""
    student = StudentFactory(school=school_a, name="王小芳", id_number=make_id_number(BIRTH))
    old_number = student.id_number
    services.student_update(
        student=Student.objects.get(pk=student.pk),
        by=bureau,
        id_number=make_id_number(CORRECTED_BIRTH, female=student.sex == "F"),
        birth_date=CORRECTED_BIRTH,
    )
    student.refresh_from_db()
    student.old_id_number = old_number
    return student


def everything_readable(user, client_for, child: Student, *, lists_only: bool = False) -> str:
    """All an attacker with this account gets about the child, as one text."""
    client = client_for(user)
    rest = api(user)
    texts = [
        json.dumps(rest.get("/api/students/").json(), ensure_ascii=False),
        json.dumps(rest.get("/api/students/", {"q": child.name}).json(), ensure_ascii=False),
        json.dumps(rest.get("/api/students/", {"ordering": "birth_date"}).json(), ensure_ascii=False),
    ]
    searched = client.post(reverse("students:student_list"), {"q": child.name})
    texts.append(client.get(searched["Location"]).content.decode())
    export = client.get(reverse("students:student_export"))
    assert export.status_code == 200
    texts.append(xlsx_text(export.content))
    if not lists_only:
        texts += [
            json.dumps(rest.get(f"/api/students/{child.pk}/").json(), ensure_ascii=False),
            json.dumps(rest.get(f"/api/students/{child.pk}/", {"reveal": "id"}).json(), ensure_ascii=False),
            client.get(reverse("students:student_detail", args=[child.pk])).content.decode(),
            client.post(
                reverse("students:student_detail", args=[child.pk]), {"reveal": "id"}
            ).content.decode(),
            client.get(reverse("subsidies:student_aid", args=[child.pk])).content.decode(),
            client.get(reverse("dropout:care_student", args=[child.pk])).content.decode(),
        ]
    return "\n".join(texts)


def test_the_enumeration_rebuilds_the_number_from_mask_birth_date_and_household_county(child):
    """What the old list response carried (mask + birth_date + household_county_code) gives one number."""
    found = candidates(
        child.masked_id_number, days=[child.birth_date], divisions=[child.household_county_code]
    )
    assert found == {child.id_number}


def test_official_cannot_rebuild_a_masked_id_number_from_anything_he_reads(official, client_for, child):
    text = everything_readable(official, client_for, child)
    assert child.masked_id_number in text  # the mask itself is shown, as before
    for number in (child.id_number, child.old_id_number):  # the old one is in the change history
        assert number not in text
        assert number[:14] not in text  # nor division code + birth date
    for day in (child.birth_date, BIRTH):  # the current and the corrected-away birth date (history)
        for form in birth_date_forms(day):
            assert form not in text, f"birth date {form} readable by an official"
    assert child.household_county_code not in text
    # What is left: the birth year. Even granting the attacker the right division code, dozens remain.
    assert str(child.birth_date.year) in text
    left = candidates(
        child.masked_id_number, days=days_of(child.birth_date.year), divisions=[child.household_county_code]
    )
    assert child.id_number in left and len(left) >= 20
    assert (
        len(candidates(child.masked_id_number, days=days_of(child.birth_date.year), divisions=GANZHOU)) >= 200
    )


def test_principal_reading_lists_cannot_rebuild_a_masked_id_number(principal_a, client_for, child):
    text = everything_readable(principal_a, client_for, child, lists_only=True)
    assert child.masked_id_number in text
    assert child.id_number not in text
    for form in birth_date_forms(child.birth_date):
        assert form not in text, f"birth date {form} in a list"
    assert child.household_county_code not in text


@pytest.mark.parametrize("role", ["official", "bureau"])
def test_history_shows_old_and_new_id_numbers_masked_to_everyone(request, role, client_for, child):
    """The whole number is shown only through the logged reveal, not in a diff, whoever reads it."""
    user = request.getfixturevalue(role)
    page = client_for(user).get(reverse("students:student_detail", args=[child.pk])).content.decode()
    assert child.old_id_number not in page and child.id_number not in page
    assert id_numbers.mask(child.old_id_number) in page


def test_id_search_does_not_match_the_start_of_a_number(bureau, child):
    prefix = child.id_number[:14]  # division code + birth date, as an attacker would try
    assert api(bureau).get("/api/students/", {"q": prefix}).json()["count"] == 0
    assert api(bureau).get("/api/students/", {"q": child.id_number[:-1]}).json()["count"] == 0
    assert api(bureau).get("/api/students/", {"q": child.id_number}).json()["count"] == 1


def test_id_search_is_no_oracle_for_a_role_without_the_reveal_right(official, child):
    """Trying the few dozen candidates one by one must not pick out the right one."""
    left = candidates(
        child.masked_id_number, days=days_of(child.birth_date.year), divisions=[child.household_county_code]
    )
    client = api(official)
    hits = [n for n in sorted(left) if client.get("/api/students/", {"q": n}).json()["count"]]
    assert hits == []
    assert client.get("/api/students/", {"q": child.name}).json()["count"] == 1  # names still found


def test_page_id_search_is_no_oracle_for_an_official(official, client_for, child):
    client = client_for(official)
    searched = client.post(reverse("students:student_list"), {"q": child.id_number})
    assert child.id_number not in searched["Location"]
    page = client.get(searched["Location"]).content.decode()
    assert child.name not in page


@pytest.mark.parametrize(
    "url",
    ["/api/dropout/cases/", "/api/dropout/suspects/", "/api/subsidies/payments/"],
)
def test_other_areas_search_whole_numbers_only(bureau, child, url):
    from tests.dropout_control.factories import open_case

    open_case(township=child.school.township, school=child.school, student=child)
    assert api(bureau).get(url, {"q": child.id_number[:14]}).json()["count"] == 0
