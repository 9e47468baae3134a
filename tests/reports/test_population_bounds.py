"""Population figures (the gross enrolment rates' denominators)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from students.models import school_year_of

pytestmark = pytest.mark.django_db

YEAR = school_year_of(timezone.localdate())


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("value", [9999999999, "9999999999", 10**15])
def test_a_population_too_large_for_the_column_is_refused_with_a_message_not_a_500(bureau, value):
    """Expected 400 with a message; actual: the figure passes the serializer (10 plain digits, or a JSON integer
    of any size) and the PositiveIntegerField column overflows."""
    client = api_for(bureau)
    client.raise_request_exception = False
    response = client.post(
        "/api/reports/populations/",
        {"school_year": YEAR, "band": "3-5", "population": value},
        format="json",
    )
    assert response.status_code == 400


def test_the_population_page_refuses_a_figure_too_large_for_the_column(bureau_client):
    bureau_client.raise_request_exception = False
    response = bureau_client.post(
        "/reports/populations/", {"school_year": YEAR, "band": "3-5", "population": "9999999999"}
    )
    assert response.status_code in (200, 302)


def test_the_refusal_says_why_in_chinese(bureau_client):
    response = bureau_client.post(
        "/reports/populations/", {"school_year": YEAR, "band": "3-5", "population": "9999999999"}
    )
    assert "超过任何一个县该年龄段的人口" in response.content.decode()
    from reports.models import AgePopulation

    assert not AgePopulation.objects.exists()
