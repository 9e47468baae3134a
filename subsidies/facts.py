"""A student's facts that decide aid, as they were on a date: school, stage, grade, boarding, status, major
and categories.

Eligibility for a term is decided on the term's reference date, not on today's registry: a boarding flag
changed in October must not make a child a non-boarder on 1 September (issue 12: a boarder allowance and a
free lunch paid in one term after the flag changed between two batches).

Both are dated records of the registry: the register (`students.models.Enrollment`, the spells of school,
stage, grade, boarding, major and status; issue 13) and the categories (StudentCategory.valid_from/valid_to).
The state on date D is the register's spell on D. A student not yet on the register on D (recorded or
enrolled later) is taken as first registered, as this function has always taken a child recorded after the
reference date, unless their recorded enrolment date (`Student.enrolled_on`) is after the end of D's term:
such a child was on no roll in the county in that term (off the roll, never drawn for it); a student with no spell at all (none
is written only by a writer that keeps the register itself and has not yet) as the current row.

The level of needy-student identification (家庭经济困难学生认定, issue 17) is a fact of the date too: the county's
confirmed level of the identification of the date's school year in force on the date (the latest one effective
on or before it: an in-year change takes effect from its date).

`facts_on` is the one place that answers "what was this student on date D"; nothing else reads the register
for eligibility.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Exists, F, OuterRef, Q, Subquery

from students.models import Enrollment, School, Student, StudentCategory, school_year_of

# The register columns (Enrollment's, and the Student row's) that decide aid.
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
    # The confirmed identification level on the date (IdentificationLevel), or "".
    level: str = ""


def _states(student_ids: list[int], on: date) -> dict[int, dict]:
    """The deciding columns of each student's spell on `on` (else their next spell, else their last one, else
    the row; "off the roll" for a child on no roll during `on`'s term): five queries at most, whatever the
    number of students."""
    return _states_and_day(student_ids, on)[0]


def _states_and_day(student_ids: list[int], on: date) -> tuple[dict[int, dict], set[int]]:
    """`_states`, and the ids of the students the register has on `on` itself (the others' states stand in
    for the day)."""
    spells = Enrollment.objects.filter(student_id__in=student_ids)
    states = {row["student_id"]: row for row in spells.on(on).values("student_id", *DECIDING)}
    on_day = set(states)
    missing = [pk for pk in student_ids if pk not in states]
    first_days: dict[int, date] = {}
    ended: set[int] = set()
    if missing:
        # Not on the register on the day: their next spell stands in for it (a child registered later in the
        # term is taken as first registered), else their last one (a child whose spells all ended before the
        # day, on no roll since: off the roll).
        for row in (
            spells.filter(student_id__in=missing, valid_from__gt=on)
            .order_by("student_id", "valid_from")
            .distinct("student_id")
            .values("student_id", "valid_from", *DECIDING)
        ):
            first_days[row["student_id"]] = row.pop("valid_from")
            states[row["student_id"]] = row
        missing = [pk for pk in student_ids if pk not in states]
    if missing:
        for row in (
            spells.filter(student_id__in=missing)
            .order_by("student_id", "-valid_from")
            .distinct("student_id")
            .values("student_id", *DECIDING)
        ):
            states[row["student_id"]] = row
            if row["status"] == Student.Status.ENROLLED:
                ended.add(row["student_id"])
        missing = [pk for pk in student_ids if pk not in states]
    if missing:
        states |= {row["id"]: row for row in Student.objects.filter(pk__in=missing).values("id", *DECIDING)}
    # A child whose next spell on the register, or whose recorded enrolment date, is after the end of `on`'s
    # term was in no school of the county in that term: whatever spell stands in for the day, they were on no
    # roll then (a child who came in March is not paid for the autumn term; a child recorded in August, with or
    # without an enrolment date, is not paid for the spring term that ended before). A child registered later
    # in the same term is still taken as first registered: an imported roll records the day of its import (a
    # county that loads its roll in October draws the autumn term's aid on the term's first day for them).
    from subsidies.models.common import term_end, term_of

    term_over = term_end(*term_of(on))
    late = {pk for pk, first_day in first_days.items() if first_day > term_over} | ended
    late |= set(
        Student.objects.filter(
            pk__in=[pk for pk in student_ids if pk not in on_day and pk not in late],
            enrolled_on__gt=term_over,
        ).values_list("pk", flat=True)
    )
    for pk in late:
        states[pk] = {**states[pk], "status": Student.Status.OFF_ROLL}
    return states, on_day


def register_on(student_ids: Iterable[int], on: date) -> dict[int, dict]:
    """Student id -> the deciding columns of their register spell on `on` (school_id, stage, grade, ...), read
    as `facts_on` reads them: what a report of a past term prints (the national aid system's export), not
    today's Student row."""
    ids = list(dict.fromkeys(student_ids))
    return _states(ids, on) if ids else {}


def categories_on(
    student_ids: Iterable[int], on: date, *, off_register: Iterable[int] | None = None
) -> dict[int, set[str]]:
    """Student id -> the categories they held on `on`. A child not yet on the register on `on` but registered
    later (a roll imported in October: `_states` takes them as registered by their next spell) holds the
    categories written with that registration, those valid on that spell's first day (the import dates both on
    the day of the import); a category added after that day is not held on `on`. `off_register`: the ids among
    `student_ids` the register does not have on `on`, when the caller has read the register already (only
    they can hold categories of their first registration: none, no second query)."""
    ids = list(student_ids)
    found: dict[int, set[str]] = defaultdict(set)
    held = StudentCategory.objects.filter(student_id__in=ids)
    for student_id, category in held.on(on).values_list("student_id", "category"):
        found[student_id].add(category)
    if off_register is not None:
        off_register = list(off_register)
        if not off_register:
            return found
        held = StudentCategory.objects.filter(student_id__in=off_register)
    spells = Enrollment.objects.filter(student_id=OuterRef("student_id"))
    # The day they were (first, or again) registered after `on`: `_states` takes that spell for the day.
    first_day = spells.filter(valid_from__gt=on).order_by("valid_from").values("valid_from")[:1]
    at_first_registration = (
        held.annotate(first_day=Subquery(first_day))
        .filter(first_day__gt=on, valid_from__lte=F("first_day"))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=F("first_day")))
        .exclude(Exists(spells.on(on)))
        .values_list("student_id", "category")
    )
    for student_id, category in at_first_registration:
        found[student_id].add(category)
    return found


def confirmed_levels(on: date):
    """The confirmed identifications in force on `on` (of the date's school year, effective on or before it),
    latest first: a student's level on `on` is the first one's `confirmed_level`. `levels_on` reads it for
    students, a page that reads the register anyway as a subquery of its query (`.filter(student=OuterRef(..))`)."""
    from subsidies.models import Identification

    return (
        Identification.objects.filter(school_year=school_year_of(on), effective_from__lte=on)
        .confirmed()
        .order_by("-effective_from", "-pk")
    )


def levels_on(student_ids: Iterable[int], on: date) -> dict[int, str]:
    """Student id -> the confirmed identification level in force on `on` (students without one are absent)."""
    rows = (
        confirmed_levels(on)
        .filter(student_id__in=student_ids)
        .order_by("student_id", "-effective_from", "-pk")
        .distinct("student_id")
        .values_list("student_id", "confirmed_level")
    )
    return dict(rows)


def facts_on(student_ids: Iterable[int], on: date, *, categories: bool = True) -> dict[int, StudentFacts]:
    """Student id -> their facts on `on`, for every id given that the registry has."""
    ids = list(dict.fromkeys(student_ids))
    if not ids:
        return {}
    states, on_day = _states_and_day(ids, on)
    schools = School.objects.in_bulk({s["school_id"] for s in states.values()})
    off_register = [pk for pk in ids if pk not in on_day]
    dated = categories_on(ids, on, off_register=off_register) if categories else {}
    return facts_from_spells(states, schools, dated, levels_on(ids, on))


def facts_from_spells(
    states: dict[int, dict],
    schools: dict[int, School],
    dated: dict[int, Iterable[str]],
    levels: dict[int, str] | None = None,
) -> dict[int, StudentFacts]:
    """The facts of students whose register spells on the day the caller has already read (student id ->
    the spell's `DECIDING` columns; `Enrollment.objects.on(day)`), with their schools and their categories
    valid that day: a page that reads the register anyway (the principal's home page) decides eligibility
    without reading it twice."""
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
            level=(levels or {}).get(pk, ""),
        )
        for pk, state in states.items()
    }


def facts_of(student: Student, on: date) -> StudentFacts:
    return facts_on([student.pk], on)[student.pk]
