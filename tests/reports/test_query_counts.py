"""The reports app's list page and API list: as many queries for 20 snapshots as for 1, within the goal."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports.models import YearEndSnapshot

pytestmark = pytest.mark.django_db

GOAL = 10


def _snapshots(n, by, start=2000):
    for year in range(start, start + n):
        YearEndSnapshot.objects.create(
            county_code=settings.HOME_COUNTY_CODE,
            year=year,
            status=YearEndSnapshot.Status.FAILED,
            error="测试",
            built_by=by,
        )


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", [reverse("reports:snapshot_list"), "/api/reports/snapshots/"])
@pytest.mark.parametrize("who", ["bureau", "official"])
def test_snapshot_lists_are_flat_in_the_number_of_snapshots(
    url, who, request, client_for, django_assert_max_num_queries
):
    user = request.getfixturevalue(who)
    bureau = request.getfixturevalue("bureau")
    client = client_for(user)
    client.get(reverse("reports:snapshot_list"))  # the session's first write is not the list's
    _snapshots(1, bureau)
    one = _count(client, url)
    _snapshots(19, bureau, start=2001)
    with django_assert_max_num_queries(GOAL):
        response = client.get(url)
    assert response.status_code == 200
    if url.startswith("/api/"):
        assert response.json()["count"] == 20
    else:
        assert all(str(year) in response.content.decode() for year in (2000, 2019))
    assert _count(client, url) == one
