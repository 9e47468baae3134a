"""Every list and dashboard page, for every role that sees it, in at most 10 queries (issue 19).

Measured on a realistic small county (the demo county of `seed_demo`, 300 students: schools of every type,
aid batches, dropout cases, nutrition pilots, a year-end snapshot) built once for the module, on a first
view: the dashboard cache is empty (tests/conftest.py empties it for each test), so the figures are counted,
not read back. The session, the user and the second factor (3 queries) are part of the 10. The pages are
those `make bench` measures (`benchmarks.bench_queries.list_urls`: every page and API list that takes no
argument), so `pages.over_query_goal` and these tests name the same pages.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from benchmarks.bench_queries import QUERY_GOAL, list_urls

ROLES = ["bureau", "official", "township", "principal"]
# Not pages to look at: the search box's POST target, the API actions that need a term, a year or a letter.
NOT_PAGES = {
    "search",
    "dropout:watch_policy",
    "nutrition-figures-list",
    "reports-snapshot-current",
    "aid-out-of-county-letter",
    "aid-out-of-county-letter-sent",
    "rollover-undo",
    "rollover-confirm",
    "aid-identification-publicise",
}
PAGES = [(name, url) for name, url in list_urls() if name not in NOT_PAGES]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "url"), PAGES, ids=[name for name, _url in PAGES])
def test_page_needs_at_most_10_queries(client_of, role, name, url):
    client = client_of(role)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    if response.status_code in (403, 404):
        pytest.skip(f"{name} is not a page of the {role} role")
    assert response.status_code == 200, (name, response.status_code)
    assert len(queries) <= QUERY_GOAL, "\n".join(q["sql"][:300] for q in queries.captured_queries)


def test_every_menu_page_is_measured():
    """The navigation's areas are all among the pages above (a new area cannot escape the goal)."""
    from django.urls import reverse

    from portal.navigation import ITEMS

    measured = {url for _name, url in PAGES}
    assert {reverse(name) for name, _label, _allowed in ITEMS} <= measured


def test_the_demo_county_has_rows_on_the_pages(client_of):
    """The pages are measured with records on them (not an empty county, where nothing can be N+1)."""
    from dropout_control.models import DropoutCase
    from nutrition.models import PilotSchool
    from reports.models import YearEndSnapshot
    from students.models import Student
    from subsidies.models import Payment

    assert (
        Student.objects.filter(status=Student.Status.ENROLLED).count() >= 300
    )  # the first roll, grown since
    assert Payment.objects.count() > 100
    assert DropoutCase.objects.exists() and PilotSchool.objects.exists()
    assert YearEndSnapshot.objects.filter(status=YearEndSnapshot.Status.READY).exists()
