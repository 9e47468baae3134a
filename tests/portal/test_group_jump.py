"""A page number of the student list, jumped to on a big list, is found by counting the students by the sort's
first value (school, stage, ...) and reading among the rows of the values the page spans (issue 19): the same
rows as reading the whole list with an OFFSET, in every sort and direction, at every page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from students.models import Stage, Student
from students.views import STUDENT_SORTS
from tests.factories import SchoolFactory, StudentFactory

pytestmark = pytest.mark.django_db

URL = reverse("students:student_list")
SIZE = 20


@pytest.fixture
def big_list(monkeypatch, township_a):
    """53 students in 4 schools of unequal size; the list counts as big (the jump is used from 10 rows)."""
    monkeypatch.setattr("portal.lists.CACHED_COUNT_FROM", 10)
    schools = [SchoolFactory(township=township_a) for _ in range(4)]
    for school, n in zip(schools, (7, 25, 1, 20), strict=True):
        for i in range(n):
            StudentFactory(
                school=school,
                stage=(Stage.PRIMARY, Stage.JUNIOR)[i % 2],
                grade=1 + i % 3,
                is_boarding=bool(i % 4 == 0),
            )
    return schools


def _offset_page(sort: str, number: int) -> list[int]:
    key, descending = (sort[1:], True) if sort.startswith("-") else (sort, False)
    terms = [*STUDENT_SORTS[key], "pk"]
    order = [(f"-{t}" if not t.startswith("-") else t[1:]) if descending else t for t in terms]
    ids = list(Student.objects.order_by(*order).values_list("pk", flat=True))
    return ids[(number - 1) * SIZE : number * SIZE]


@pytest.mark.parametrize("sort", ["school", "-school", "stage", "-grade", "boarding", "-sex", "status"])
def test_every_page_is_the_offset_page(bureau_client, big_list, sort):
    for number in (1, 2, 3):
        response = bureau_client.get(URL, {"sort": sort, "size": SIZE, "page": number})
        shown = [s.pk for s in response.context["page"].object_list]
        assert shown == _offset_page(sort, number), (sort, number)


def test_a_jump_reads_the_schools_the_page_spans(bureau_client, big_list):
    bureau_client.get(URL, {"size": SIZE, "page": 2})
    with CaptureQueriesContext(connection) as queries:
        bureau_client.get(URL, {"size": SIZE, "page": 2})
    page_query = [
        q["sql"] for q in queries.captured_queries if "OFFSET" in q["sql"] or "LIMIT 20" in q["sql"]
    ]
    assert page_query and all('"students_school"."code" IN (' in sql for sql in page_query)
