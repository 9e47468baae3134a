"""Large lists reuse their count for a minute; small ones, and each scope's own, stay exact (issue 19)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal import pagination
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


def _count(client) -> int:
    return client.get(reverse("students:student_list")).context["page"].paginator.count


def test_a_large_count_is_reused_and_a_small_one_is_exact(monkeypatch, bureau_client, school_a):
    StudentFactory.create_batch(3, school=school_a)
    monkeypatch.setattr(pagination, "CACHED_COUNT_FROM", 5)
    assert _count(bureau_client) == 3
    StudentFactory(school=school_a)
    assert _count(bureau_client) == 4  # below the threshold: counted, not reused
    StudentFactory(school=school_a)
    assert _count(bureau_client) == 5  # counted, and now kept
    StudentFactory(school=school_a)
    assert _count(bureau_client) == 5  # reused within the minute


def test_a_scope_never_gets_another_scopes_count(
    monkeypatch, bureau_client, principal_a_client, school_a, school_b
):
    monkeypatch.setattr(pagination, "CACHED_COUNT_FROM", 1)
    StudentFactory.create_batch(2, school=school_a)
    StudentFactory.create_batch(3, school=school_b)
    assert _count(bureau_client) == 5
    assert _count(principal_a_client) == 2
    api = principal_a_client.get("/api/students/").json()
    assert api["count"] == 2


def test_the_api_lists_use_the_same_count(monkeypatch, bureau_client, school_a):
    monkeypatch.setattr(pagination, "CACHED_COUNT_FROM", 2)
    StudentFactory.create_batch(2, school=school_a)
    assert bureau_client.get("/api/students/").json()["count"] == 2
    StudentFactory(school=school_a)
    assert bureau_client.get("/api/students/").json()["count"] == 2
    assert bureau_client.get("/api/students/?page_size=1").status_code == 200
