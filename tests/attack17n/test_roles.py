"""Attack (a17n): who may take which step, through the API (held checks)."""

from __future__ import annotations

import pytest

from students.models import Stage
from subsidies.models import Identification
from tests.refusals import nothing_written
from tests.subsidies.test_identification import apply, decide, publicise, review

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

API = "/api/subsidies/identifications/"


def test_read_only_roles_and_the_other_schools_principal_take_no_step(
    make_student, school_a, principal_a, principal_b, township_officer, official, client_for
):
    """No confirm, decide, 公示 or period of the year through the API for the official, the township officer
    and the other school's principal; the school's own principal neither confirms nor sets the period."""
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    publicise(school_a, principal_a)
    decide(found, principal_a)
    found.refresh_from_db()
    publicity = {
        "school": school_a.pk,
        "school_year": 2025,
        "starts_on": "2025-09-20",
        "ends_on": "2025-09-28",
    }
    for user in (official, township_officer, principal_b, principal_a):
        client = client_for(user)
        with nothing_written(found):
            answers = {
                "confirm": client.post(f"{API}{found.pk}/confirm/", {}, content_type="application/json"),
                "decide": client.post(
                    f"{API}{found.pk}/decide/",
                    {"level": "general", "decided_on": "2025-09-19"},
                    content_type="application/json",
                )
                if user != principal_a
                else None,
                "publicise": client.post(f"{API}publicise/", publicity, content_type="application/json")
                if user != principal_a
                else None,
                "round": client.post(
                    "/api/subsidies/identification-rounds/",
                    {"school_year": 2025, "publicity_days": 9},
                    content_type="application/json",
                ),
            }
        for step, answer in answers.items():
            if answer is not None:
                assert answer.status_code in (400, 403, 404), (user.username, step, answer.status_code)
    assert Identification.objects.get(pk=found.pk).status == Identification.Status.DECIDED
