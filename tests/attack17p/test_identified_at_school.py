"""Attack (a17p) on fix 3 (held checks): a category counts for a period only when it held on a day the child was
at school; the page, the API and the export agree."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction

from students import register
from students.models import Stage, Student
from subsidies import selectors
from tests.attack17.helpers import leave
from tests.attack17n.test_identified_terms import _term_sheet
from tests.factories import CategoryFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]


def _listed(term=None):
    return set(
        selectors.identified_students(2025, students=Student.objects.all(), term=term).values_list(
            "pk", flat=True
        )
    )


def test_a_category_ending_the_day_before_the_child_arrived_does_not_identify_them(
    make_student, school_a, bureau, client_for
):
    with transaction.atomic(), register.effective(date(2025, 10, 15), source="new"):
        student = make_student(Stage.PRIMARY, school=school_a, enrolled_on=None, name="十月新生")
    CategoryFactory(
        student=student, category="dibao", valid_from=date(2024, 1, 1), valid_to=date(2025, 10, 14)
    )
    assert student.pk not in _listed() and student.pk not in _listed("autumn")
    assert student.id_number not in _term_sheet(bureau, 2025, "autumn")
    api = client_for(bureau).get("/api/subsidies/identifications/identified/", {"school_year": 2025}).json()
    assert student.pk not in {r["id"] for r in api["results"]}


def test_a_category_held_only_during_a_gap_does_not_identify_the_child(make_student, school_a, bureau):
    student = make_student(Stage.PRIMARY, school=school_a, name="中途辍学")
    leave(student, Student.Status.DROPPED_OUT, date(2025, 10, 10))
    leave(student, Student.Status.ENROLLED, date(2025, 12, 1))
    CategoryFactory(
        student=student, category="dibao", valid_from=date(2025, 10, 20), valid_to=date(2025, 11, 20)
    )
    assert student.pk not in _listed() and student.pk not in _listed("autumn")
    assert student.id_number not in _term_sheet(bureau, 2025, "autumn")
