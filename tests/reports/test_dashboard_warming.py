"""Dashboards read lately are counted again by Celery beat before their cached figures expire (issue 19), so
a reader never pays the first count of a cache window; the figures stay what a fresh count gives, and none is
older than `CACHE_SECONDS`."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports import selectors, tasks
from tests.reports.test_dashboards import JSON, more_records, tiles


@pytest.fixture(autouse=True)
def _every_count_is_slow(monkeypatch):
    """Only a dashboard whose count takes a second or more is warmed; the test county's take milliseconds."""
    monkeypatch.setattr(selectors, "WARM_FROM_SECONDS", 0.0)


def _expire_figures():
    """The window ended: every dashboard entry is gone, the note of who read what is kept."""
    readers = cache.get(selectors.READERS_KEY)
    cache.clear()
    if readers is not None:
        cache.set(selectors.READERS_KEY, readers, selectors.WARM_WINDOW_SECONDS)


def _read(client) -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(JSON)
    assert response.status_code == 200
    return response.json(), len(queries)


@pytest.mark.parametrize("who", ["bureau_client", "township_client", "principal_a_client"])
def test_a_dashboard_read_lately_is_counted_before_the_next_reader_comes(county, areas, who, request):
    client = request.getfixturevalue(who)
    first, counted = _read(client)
    _expire_figures()
    assert tasks.warm_dashboards.delay().get() >= 1
    again, cached = _read(client)
    # Only the session, the user and the access check: the figures were already counted.
    assert cached <= 4 < counted
    assert tiles(again) == tiles(first)


def test_warming_counts_the_records_written_since(county, areas, bureau_client):
    first, _ = _read(bureau_client)
    more_records(county, areas)
    selectors.warm_dashboards()
    fresh, _ = _read(bureau_client)
    assert tiles(fresh)["students"] == tiles(first)["students"] + 1
    assert tiles(fresh)["dropout_open"] == tiles(first)["dropout_open"] + 1


def test_warming_keeps_each_readers_scope_and_language(county, areas, bureau_client, principal_a_client):
    county_view, _ = _read(bureau_client)
    school_view, _ = _read(principal_a_client)
    english = principal_a_client.get(JSON, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 200
    _expire_figures()
    assert selectors.warm_dashboards() >= 2
    assert _read(bureau_client)[0]["level"] == county_view["level"] == selectors.COUNTY
    assert tiles(_read(principal_a_client)[0]) == tiles(school_view)
    assert _read(principal_a_client)[0]["level"] == selectors.SCHOOL


def test_nothing_read_nothing_counted(county, areas):
    assert selectors.warm_dashboards() == 0


def test_a_dashboard_quick_to_count_is_left_to_its_reader(county, areas, bureau_client, monkeypatch):
    """A school's dashboard (0.3 s at Ningdu scale) is not counted every 4 minutes for each of 224 schools:
    only those whose last count took `WARM_FROM_SECONDS` or more (the county's: 3-5 s)."""
    monkeypatch.setattr(selectors, "WARM_FROM_SECONDS", 60.0)
    _read(bureau_client)
    _expire_figures()
    assert selectors.warm_dashboards() == 0
    monkeypatch.setattr(selectors, "WARM_FROM_SECONDS", 0.0)
    assert selectors.warm_dashboards() == 1


def test_the_beat_runs_it_within_the_cache_window(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["reports-warm-dashboards"]
    assert entry["task"] == "reports.tasks.warm_dashboards"
    assert entry["schedule"] == selectors.WARM_EVERY_SECONDS < selectors.CACHE_SECONDS
