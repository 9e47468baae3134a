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
from django.urls import reverse

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
    # POST-only actions: they read an uploaded file.
    "aid-national-reconcile",
    "aid-national-reconcile-xlsx",
    "aid-identification-publicise",
}
# Lists on a page that `list_urls` leaves out for its name (an upload form above the list of uploads).
LISTS_BESIDE_A_FORM = ["students:student_import"]
PAGES = [(name, url) for name, url in list_urls() if name not in NOT_PAGES] + [
    (name, reverse(name)) for name in LISTS_BESIDE_A_FORM
]


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


def test_each_demo_role_has_work_in_its_scope(client_of):
    """Every demo login has something to do (issue 15: the township officer's 梅江镇 had no dropout case):
    open cases with a visit due for the officer and the principal, a returned child's month to confirm at the
    principal's school, a nutrition pilot school and an import to look at, a closing and a draft batch for the
    bureau, a report for the official."""
    from dropout_control import selectors as dropout_selectors
    from dropout_control.models import DropoutCase
    from nutrition.models import PilotSchool
    from portal.models import User
    from reports.models import YearEndSnapshot
    from students.models import ImportJob
    from subsidies.models import DisbursementBatch

    users = {name: User.objects.get(username=name) for name in ROLES}
    for name in ("township", "principal"):
        cases = DropoutCase.objects.visible_to(users[name])
        assert cases.filter(status=DropoutCase.Status.OPEN).exists(), name
        assert dropout_selectors.visits_due(cases).exists(), name
    watches = dropout_selectors.with_months_due(dropout_selectors.watches(users["principal"]))
    assert any(watch.months_due for watch in watches)
    assert dropout_selectors.pending_closings(users["bureau"]).exists()
    assert DisbursementBatch.objects.visible_to(users["bureau"]).filter(status="draft").exists()
    assert YearEndSnapshot.objects.visible_to(users["official"]).filter(status="ready").exists()
    for name in ("township", "principal"):
        assert PilotSchool.objects.visible_to(users[name]).exists(), name  # the nutrition pages
    # The principal's refused upload, with its rows to mend, on the principal's and the bureau's import page.
    for name in ("principal", "bureau"):
        jobs = ImportJob.objects.visible_to(users[name])
        assert jobs.filter(status=ImportJob.Status.REJECTED).exclude(errors=[]).exists(), name
    # And the pages show them: the officer's and the principal's case lists, the principal's watch list.
    for name in ("township", "principal"):
        page = client_of(name).get(reverse("dropout:case_list"), {"status": "open", "overdue": "true"})
        assert page.context["page"].paginator.count >= 1, name
    assert client_of("principal").get(reverse("dropout:watch_list")).context["page"].paginator.count >= 1
