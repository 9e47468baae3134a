"""A student's facts that decide aid, as they were on a date: school, stage, grade, boarding, status, major
and categories.

Eligibility for a term is decided on the term's reference date, not on today's registry: a boarding flag
changed in October must not make a child a non-boarder on 1 September (issue 12: a boarder allowance and a
free lunch paid in one term after the flag changed between two batches).

Categories have their own dates (StudentCategory.valid_from/valid_to). The student row has none, so it is
read from its change history (pghistory's event table keeps every insert and update of Student): the state
on date D is the last recorded state at or before the end of D; a student with no record by then (recorded
later, or before history was kept) is taken as first recorded, else as the current row.

`facts_on` is the one place that answers "what was this student on date D". When the registry keeps dated
facts of its own (issue 13: a dated register), replace its body and keep its signature; nothing else reads
the history for eligibility.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from students.models import School, Student, StudentCategory

# The columns of a Student row (and of its history rows) that decide aid.
DECIDING = ("school_id", "stage", "grade", "is_boarding", "status", "is_agricultural_major")


@dataclass
class StudentFacts:
    student_id: int
    school: School
    stage: str
    grade: int
    is_boarding: bool
    status: str
    is_agricultural_major: bool = False
    categories: set[str] = field(default_factory=set)


def end_of(day: date) -> datetime:
    """The first moment after `day`: history recorded before it is the state on `day`."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _states(student_ids: list[int], on: date) -> dict[int, dict]:
    """The deciding columns of each student's row as recorded at or before `on` (else first recorded, else
    now): three queries at most, whatever the number of students."""
    Event = Student.pgh_event_model
    recorded = Event.objects.filter(pgh_obj_id__in=student_ids).exclude(pgh_label="delete")
    states = {
        row["pgh_obj_id"]: row
        for row in recorded.filter(pgh_created_at__lt=end_of(on))
        .order_by("pgh_obj_id", "-pgh_created_at", "-pgh_id")
        .distinct("pgh_obj_id")
        .values("pgh_obj_id", *DECIDING)
    }
    missing = [pk for pk in student_ids if pk not in states]
    if missing:
        states |= {
            row["pgh_obj_id"]: row
            for row in recorded.filter(pgh_obj_id__in=missing)
            .order_by("pgh_obj_id", "pgh_created_at", "pgh_id")
            .distinct("pgh_obj_id")
            .values("pgh_obj_id", *DECIDING)
        }
        missing = [pk for pk in student_ids if pk not in states]
    if missing:
        states |= {row["id"]: row for row in Student.objects.filter(pk__in=missing).values("id", *DECIDING)}
    return states


def categories_on(student_ids: Iterable[int], on: date) -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for student_id, category in (
        StudentCategory.objects.filter(student_id__in=student_ids)
        .on(on)
        .values_list("student_id", "category")
    ):
        found[student_id].add(category)
    return found


def facts_on(student_ids: Iterable[int], on: date, *, categories: bool = True) -> dict[int, StudentFacts]:
    """Student id -> their facts on `on`, for every id given that the registry has."""
    ids = list(dict.fromkeys(student_ids))
    if not ids:
        return {}
    states = _states(ids, on)
    schools = School.objects.in_bulk({s["school_id"] for s in states.values()})
    dated = categories_on(ids, on) if categories else {}
    return {
        pk: StudentFacts(
            student_id=pk,
            school=schools[state["school_id"]],
            stage=state["stage"],
            grade=state["grade"],
            is_boarding=state["is_boarding"],
            status=state["status"],
            is_agricultural_major=state["is_agricultural_major"],
            categories=set(dated.get(pk, ())),
        )
        for pk, state in states.items()
    }


def facts_of(student: Student, on: date) -> StudentFacts:
    return facts_on([student.pk], on)[student.pk]
