"""The autumn roll-over (升级/毕业): opening a school year's register on 1 September.

Who was on the register on 31 August of year Y (`Enrollment.objects.on`) moves up a grade, or, in the last
grade of a stage (`STAGE_GRADES`), graduates; a primary school leaver at a school that also teaches junior
middle (九年一贯制, 十二年一贯制) goes on to junior 1 there. Leavers whose next school the portal cannot know
(幼升小, 小升初 at a primary school, 初升高: the next school comes from the roll or the 中考) graduate and are
listed as expected in grade 1 of the next stage. What needs a person's decision is listed and not touched: a
suspended child (休学), a grade the stage does not have, a pupil moving up at a school closed on 1 September,
and a child whose record already changed on or after 1 September.

The roll-over writes the register itself (`register.unsynced()`): each rolled child's spell is closed on
31 August and a spell from 1 September is opened that names the `Rollover`, and the Student row is set to that
spell's state. A child known from the past year's roll only (off the roll: that year's spell ends on 31 August
and nothing follows it) is rolled on from that spell and enrolled again. The Student row's `updated_at` is left
alone on purpose: it then says "changed by a person after the roll-over", which is what undo asks (and undo
gives back the rows exactly as they were).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, Max, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.access import can_confirm_school_list, can_roll_over, scope_of
from portal.services import service
from students import register
from students.models import (
    STAGE_GRADES,
    Enrollment,
    ImportJob,
    Rollover,
    RolloverConfirmation,
    School,
    Stage,
    Student,
    school_year_of,
)

SOURCE = "rollover"
# The source of a spell the roll-over opened for a child known from the past year's roll only (off the roll
# until then): undo leaves that year's spell ending on 31 August and the child off the roll again.
SOURCE_AFTER_PAST_ROLL = "rollover after past roll"

# What a roll-over does with one child.
MOVES_UP = "moves_up"  # grade + 1 in the same stage and school
CONTINUES = "continues"  # primary 6 -> junior 1 at the same 一贯制 school
GRADUATES = "graduates"  # last grade of the stage
DECISION = "decision"  # left as it is, listed for a person to decide

# Where the leavers of a stage are expected (the next school is not the portal's to know).
EXPECTED_IN = {
    Stage.PRESCHOOL: ("primary", gettext_lazy("Primary grade 1")),
    Stage.PRIMARY: ("junior", gettext_lazy("Junior middle grade 1")),
    Stage.JUNIOR: ("senior_vocational", gettext_lazy("Senior high or vocational grade 1")),
}

REASONS = {
    "suspended": gettext_lazy(
        "Suspended (休学): decide whether the child returns, repeats the year or leaves."
    ),
    "grade_beyond_stage": gettext_lazy("The grade does not exist in this stage: correct the record first."),
    "school_closed": gettext_lazy("The school is closed on 1 September: transfer the pupil first."),
    "changed": gettext_lazy("The record changed on or after 1 September: set the new grade by hand."),
}
REASON_CODES = sorted(REASONS)


def first_day(school_year: int) -> date:
    return date(school_year, 9, 1)


@dataclass(frozen=True)
class Step:
    """One child in a roll-over: the spell held on 31 August and what becomes of it."""

    spell_id: int
    student_id: int
    school_id: int
    stage: str
    grade: int
    outcome: str
    is_boarding: bool = False
    is_agricultural_major: bool = False
    new_stage: str = ""
    new_grade: int = 0
    new_status: str = ""
    reason: str = ""
    # The spell already ended on 31 August (a past year's roll) and the child was off the roll.
    off_roll: bool = False


def _step(spell: dict, *, eve: date, closed: set[int], teaches_junior: set[int]) -> Step:
    base = {
        k: spell[k]
        for k in ("student_id", "school_id", "stage", "grade", "is_boarding", "is_agricultural_major")
    }
    base["spell_id"] = spell["pk"]

    def decide(reason: str) -> Step:
        return Step(**base, outcome=DECISION, reason=reason)

    last = STAGE_GRADES[spell["stage"]]
    # A spell ending on 31 August with nothing after it is a past year's roll: the child is rolled on from it.
    # One ending later, or followed by another, was changed in the new year.
    base["off_roll"] = spell["valid_to"] == eve and not spell["followed"]
    if spell["valid_to"] is not None and not base["off_roll"]:
        return decide("changed")
    if spell["status"] == Student.Status.SUSPENDED:
        return decide("suspended")
    if spell["grade"] > last:
        return decide("grade_beyond_stage")
    school_open = spell["school_id"] not in closed
    if spell["grade"] < last:
        if not school_open:
            return decide("school_closed")
        return Step(
            **base,
            outcome=MOVES_UP,
            new_stage=spell["stage"],
            new_grade=spell["grade"] + 1,
            new_status=Student.Status.ENROLLED,
        )
    if spell["stage"] == Stage.PRIMARY and school_open and spell["school_id"] in teaches_junior:
        return Step(
            **base, outcome=CONTINUES, new_stage=Stage.JUNIOR, new_grade=1, new_status=Student.Status.ENROLLED
        )
    # A leaver graduates even where the school closes with its last class.
    return Step(
        **base,
        outcome=GRADUATES,
        new_stage=spell["stage"],
        new_grade=spell["grade"],
        new_status=Student.Status.GRADUATED,
    )


def plan(school_year: int) -> list[Step]:
    """What the roll-over of `school_year` does with every child enrolled (or suspended) on 31 August."""
    start = first_day(school_year)
    eve = start - timedelta(days=1)
    later = Enrollment.objects.filter(student_id=OuterRef("student_id"), valid_from__gt=eve)
    spells = (
        Enrollment.objects.on(eve)
        .filter(status__in=(Student.Status.ENROLLED, Student.Status.SUSPENDED))
        .annotate(followed=Exists(later))
        .order_by("school_id", "stage", "grade", "student_id")
        .values(
            "pk",
            "student_id",
            "school_id",
            "stage",
            "grade",
            "status",
            "valid_to",
            "is_boarding",
            "is_agricultural_major",
            "followed",
        )
    )
    # The schools in one query: which are closed on 1 September, which teach junior middle.
    schools = School.objects.annotate(
        open_then=ExpressionWrapper(Q(pk__in=School.objects.open_on(start)), output_field=BooleanField())
    ).values_list("pk", "school_type", "open_then")
    closed, teaches_junior = set(), set()
    for pk, school_type, open_then in schools:
        if not open_then:
            closed.add(pk)
        if Stage.JUNIOR in School.TYPE_STAGES[school_type]:
            teaches_junior.add(pk)
    return [_step(spell, eve=eve, closed=closed, teaches_junior=teaches_junior) for spell in spells]


def summarise(school_year: int, steps: list[Step]) -> dict:
    """The preview: counts per school and stage, the expected leavers, each decision; JSON as it is stored."""
    schools = {
        s.pk: s
        for s in School.objects.filter(pk__in={step.school_id for step in steps}).only("pk", "code", "name")
    }
    rows: dict[tuple[int, str], Counter] = defaultdict(Counter)
    expected: Counter = Counter()
    for step in steps:
        row = rows[(step.school_id, step.stage)]
        row[step.outcome] += 1
        if step.outcome == GRADUATES and step.stage in EXPECTED_IN:
            row["expected"] += 1
            expected[step.stage] += 1
    decided = [step for step in steps if step.outcome == DECISION]
    names = dict(Student.objects.filter(pk__in=[s.student_id for s in decided]).values_list("pk", "name"))
    stage_order = Stage.values
    table = [
        {
            "school": school_id,
            "school_code": schools[school_id].code,
            "school_name": schools[school_id].name,
            "stage": stage,
            "stage_display": str(Stage(stage).label),
            "moves_up": counts[MOVES_UP],
            "continues": counts[CONTINUES],
            "graduates": counts[GRADUATES],
            "expected": counts["expected"],
            "expected_in": str(EXPECTED_IN[stage][1]) if stage in EXPECTED_IN else "",
            "decisions": counts[DECISION],
        }
        for (school_id, stage), counts in sorted(
            rows.items(), key=lambda item: (schools[item[0][0]].code, stage_order.index(item[0][1]))
        )
    ]
    decisions = [
        {
            "student": step.student_id,
            "name": names.get(step.student_id, ""),
            "school": step.school_id,
            "school_name": schools[step.school_id].name,
            "stage": step.stage,
            "stage_display": str(Stage(step.stage).label),
            "grade": step.grade,
            "reason": step.reason,
            "reason_display": str(REASONS[step.reason]),
        }
        for step in decided
    ]
    outcomes = Counter(step.outcome for step in steps)
    preview = {
        "school_year": school_year,
        "effective_on": first_day(school_year).isoformat(),
        "totals": {
            "moves_up": outcomes[MOVES_UP],
            "continues": outcomes[CONTINUES],
            "graduates": outcomes[GRADUATES],
            "expected": sum(expected.values()),
            "decisions": outcomes[DECISION],
        },
        "expected": [
            {
                "from_stage": stage,
                "to": EXPECTED_IN[stage][0],
                "to_display": str(EXPECTED_IN[stage][1]),
                "count": n,
            }
            for stage, n in sorted(expected.items(), key=lambda item: stage_order.index(item[0]))
        ],
        "schools": table,
        "decisions": decisions,
    }
    # The preview a clerk read, as a short digest: an apply that names it is refused if the register has moved.
    digest_of = [(s.student_id, s.spell_id, s.outcome, s.reason) for s in steps]
    preview["fingerprint"] = hashlib.sha256(json.dumps([school_year, digest_of]).encode()).hexdigest()[:16]
    return preview


def _today(today: date | None) -> date:
    return today or timezone.localdate()


def check_open(school_year: int, *, today: date | None = None, planning: bool = False) -> None:
    """Refuse a school year that cannot be rolled over (or, `planning`, previewed) today.

    The roll-over opens the current school year, from its first day: a past year is closed (its register is
    what it was, or comes from that year's roll), and a later year has not begun (a roll-over written ahead
    would stand in the Student rows months before it holds). A preview may look at next September's too.
    """
    current = school_year_of(_today(today))
    applying, applied_ = Rollover.Status.APPLYING, Rollover.Status.APPLIED
    applied = Rollover.objects.filter(status__in=(applying, applied_)).aggregate(
        last=Max("school_year", filter=Q(status=applied_)),
        this=Count("pk", filter=Q(school_year=school_year, status=applied_)),
        running=Count("pk", filter=Q(school_year=school_year, status=applying)),
    )
    if applied["running"]:
        raise ValidationError(
            _("The roll-over of %(year)s is being applied: wait until it is done.") % {"year": school_year}
        )
    if applied["this"]:
        raise ValidationError(
            _("The school year %(year)s has already been rolled over.") % {"year": school_year}
        )
    last = applied["last"]
    if last is not None and school_year < last:
        raise ValidationError(
            _("The school year %(year)s is closed: the school year %(last)s has already been opened.")
            % {"year": school_year, "last": last}
        )
    if school_year < current:
        raise ValidationError(
            _(
                "The school year %(year)s is closed: only the current school year (%(current)s) can be rolled over."
            )
            % {"year": school_year, "current": current}
        )
    # The year's full roll already placed every child where the 学籍 system has them: rolling over after it
    # would move them up a second time.
    if ImportJob.objects.filter(
        kind=ImportJob.Kind.FULL_ROLL, school_year=school_year, status=ImportJob.Status.DONE
    ).exists():
        raise ValidationError(
            _(
                "The full roll of the school year %(year)s has already been applied: the children are where the "
                "roll places them, and rolling over now would move them up again."
            )
            % {"year": school_year}
        )
    if school_year > current + (1 if planning else 0):
        raise ValidationError(
            _("The school year %(year)s has not begun: it can be rolled over from 1 September %(year)s.")
            % {"year": school_year}
        )


def preview(*, school_year: int, today: date | None = None) -> dict:
    """What applying the roll-over of `school_year` would do (a read: the caller checks `can_roll_over`)."""
    check_open(school_year, today=today, planning=True)
    return summarise(school_year, plan(school_year))


def _lock() -> None:
    # One roll-over at a time: a second apply or undo waits for the first and then sees what it did.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('students.rollover'))")


# Set-based writes, one statement each: a county's hundred thousand children in seconds, not minutes (the
# exclusion constraint and the history triggers are the cost, not the round trips).
_CLOSE = "UPDATE students_enrollment SET valid_to = %s WHERE id = ANY(%s)"
_OPEN = """
    INSERT INTO students_enrollment (student_id, school_id, stage, grade, is_boarding, is_agricultural_major,
                                     status, valid_from, valid_to, source, rollover_id, recorded_at)
    SELECT e.student_id, e.school_id, u.stage, u.grade, e.is_boarding, e.is_agricultural_major,
           u.status, %s, NULL, CASE WHEN u.off_roll THEN %s ELSE %s END, %s, %s
      FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::text[], %s::boolean[])
           AS u(spell, stage, grade, status, off_roll)
      JOIN students_enrollment e ON e.id = u.spell
"""
# The Student row takes the state of the spell the roll-over opened (a child off the roll is on it again).
_ROWS_FORWARD = """
    UPDATE students_student s SET stage = e.stage, grade = e.grade, status = e.status
      FROM students_enrollment e WHERE e.rollover_id = %s AND e.student_id = s.id
"""
# ... and, on undo, of the spell it closed (a child the roll-over took from off the roll is off it again).
_ROWS_BACK = f"""
    UPDATE students_student s SET stage = p.stage, grade = p.grade,
           status = CASE WHEN n.source = '{SOURCE_AFTER_PAST_ROLL}' THEN '{Student.Status.OFF_ROLL.value}'
                         ELSE p.status END
      FROM students_enrollment p
      JOIN students_enrollment n ON n.student_id = p.student_id AND n.rollover_id = %s
     WHERE p.valid_to = %s AND s.id = p.student_id
"""


def _write(rollover: Rollover, rolled: list[Step]) -> None:
    start = first_day(rollover.school_year)
    with connection.cursor() as cursor, register.unsynced():
        cursor.execute(_CLOSE, [start - timedelta(days=1), [step.spell_id for step in rolled]])
        cursor.execute(
            _OPEN,
            [
                start,
                SOURCE_AFTER_PAST_ROLL,
                SOURCE,
                rollover.pk,
                rollover.applied_at,
                [step.spell_id for step in rolled],
                [step.new_stage for step in rolled],
                [step.new_grade for step in rolled],
                [step.new_status for step in rolled],
                [step.off_roll for step in rolled],
            ],
        )
        cursor.execute(_ROWS_FORWARD, [rollover.pk])


def _write_back(rollover: Rollover) -> None:
    eve = first_day(rollover.school_year) - timedelta(days=1)
    with connection.cursor() as cursor, register.unsynced():
        cursor.execute(_ROWS_BACK, [rollover.pk, eve])
        # The spells it closed are open again; a past year's spell it rolled on from keeps its end.
        cursor.execute(
            "SELECT coalesce(array_agg(student_id), '{}') FROM students_enrollment "
            "WHERE rollover_id = %s AND source <> %s",
            [rollover.pk, SOURCE_AFTER_PAST_ROLL],
        )
        students = cursor.fetchone()[0]
        cursor.execute("DELETE FROM students_enrollment WHERE rollover_id = %s", [rollover.pk])
        cursor.execute(
            "UPDATE students_enrollment SET valid_to = NULL WHERE valid_to = %s AND student_id = ANY(%s)",
            [eve, students],
        )


rollover_service = service(
    allowed=can_roll_over, refusal=gettext_lazy("Only bureau staff may open a school year.")
)


@rollover_service
def rollover_apply(*, school_year: int, by, fingerprint: str = "", today: date | None = None) -> Rollover:
    """Open `school_year`'s register on 1 September: one transaction, or nothing.

    A county of more than `ROLLOVER_ASYNC_THRESHOLD_STUDENTS` children is written by a Celery task
    (`students.tasks.apply_rollover`): the Rollover is returned `applying` (a second apply is refused until it
    ends: the constraint one_rollover_per_year counts it) and becomes `applied`, or `failed` with its reason
    and nothing written."""
    _lock()
    check_open(school_year, today=today)
    steps = plan(school_year)
    summary = summarise(school_year, steps)
    if fingerprint and fingerprint != summary["fingerprint"]:
        raise ValidationError(
            _("The register has changed since the preview was made: look at the new preview and apply again.")
        )
    rolled = [step for step in steps if step.outcome != DECISION]
    rollover = Rollover.objects.create(
        school_year=school_year,
        applied_by=by,
        status=Rollover.Status.APPLYING,
        summary={**summary, "rolled": len(rolled)},
    )
    if len(rolled) > settings.ROLLOVER_ASYNC_THRESHOLD_STUDENTS:
        from students.tasks import apply_rollover

        transaction.on_commit(lambda: apply_rollover.delay(rollover.pk))
        return rollover
    return _finish(rollover, steps, summary)


def _finish(rollover: Rollover, steps: list[Step], summary: dict) -> Rollover:
    rolled = [step for step in steps if step.outcome != DECISION]
    _write(rollover, rolled)
    # Every spell written after this one is a change of the new year: undo stops there.
    last_spell = Enrollment.objects.aggregate(last=Max("pk"))["last"] or 0
    rollover.summary = {**summary, "rolled": len(rolled), "last_spell_id": last_spell}
    rollover.status = Rollover.Status.APPLIED
    rollover.save(update_fields=["summary", "status"])
    return rollover


@rollover_service
def rollover_run(*, rollover_id: int, by) -> Rollover:
    """The task's part of a large apply: write the roll-over the request accepted, if the register is still
    the one it previewed (else refused: nothing written, the Rollover is marked failed by the task)."""
    _lock()
    rollover = Rollover.objects.select_for_update().get(pk=rollover_id)
    if rollover.status != Rollover.Status.APPLYING:
        return rollover
    steps = plan(rollover.school_year)
    summary = summarise(rollover.school_year, steps)
    if summary["fingerprint"] != rollover.summary.get("fingerprint"):
        raise ValidationError(
            _(
                "The register changed between the apply and its run (a record was changed or a roll "
                "imported): nothing was rolled over. Look at the new preview and apply again."
            )
        )
    return _finish(rollover, steps, summary)


def rollover_fail(rollover_id: int, message: str) -> None:
    """Mark a roll-over the task could not write as failed (its transaction wrote nothing)."""
    Rollover.objects.filter(pk=rollover_id, status=Rollover.Status.APPLYING).update(
        status=Rollover.Status.FAILED, message=message[:2000]
    )


@rollover_service
def rollover_undo(*, school_year: int, by) -> Rollover:
    """Give back the register and the Student rows as they were before the roll-over of `school_year`, as long
    as nothing of the new year has changed since and no principal has confirmed a school's list."""
    _lock()
    rollover = Rollover.objects.applied().filter(school_year=school_year).first()
    if rollover is None:
        raise ValidationError(
            _("The school year %(year)s has not been rolled over: there is nothing to undo.")
            % {"year": school_year}
        )
    # A principal's word that the new list is right stands: what it confirms is not undone under it (the
    # bureau corrects single records instead).
    confirmed = list(
        rollover.confirmations.select_related("school")
        .order_by("school__code")
        .values_list("school__name", flat=True)[:4]
    )
    if confirmed:
        raise ValidationError(
            _(
                "Principals have confirmed their school's list of %(year)s (%(schools)s): the roll-over can no "
                "longer be undone; correct the records that are wrong one by one."
            )
            % {"year": school_year, "schools": "、".join(confirmed[:3]) + ("…" if len(confirmed) > 3 else "")}
        )
    start = first_day(school_year)
    opened = Enrollment.objects.filter(rollover=rollover)
    changed = _("Students have changed since the roll-over of %(year)s: it can no longer be undone.") % {
        "year": school_year
    }
    if Rollover.objects.applied().filter(school_year__gt=school_year).exists():
        raise ValidationError(changed)
    # A later change of a rolled child closes or replaces the roll-over's spell (the register trigger).
    if opened.count() != rollover.summary.get("rolled") or opened.filter(valid_to__isnull=False).exists():
        raise ValidationError(changed)
    later = Enrollment.objects.filter(pk__gt=rollover.summary.get("last_spell_id", 0))
    if later.filter(Q(valid_from__gte=start) | Q(student__in=opened.values("student_id"))).exists():
        raise ValidationError(changed)
    if Student.objects.filter(
        pk__in=opened.values("student_id"), updated_at__gt=rollover.applied_at
    ).exists():
        raise ValidationError(changed)
    _write_back(rollover)
    rollover.status = Rollover.Status.UNDONE
    rollover.undone_at = timezone.now()
    rollover.save(update_fields=["status", "undone_at"])
    return rollover


# --- The principals' confirmation ---------------------------------------------------------------------------


def school_list(rollover: Rollover, school: School):
    """The school's pupils on the register from the roll-over's first day (what the principal confirms)."""
    return (
        Enrollment.objects.on(first_day(rollover.school_year))
        .enrolled()
        .filter(school=school)
        .select_related("student")
        .order_by("stage", "grade", "student__name", "student_id")
    )


def counts_seen_by(rollover: Rollover, user) -> dict:
    """The roll-over's counts as `user` may read them: the county's for bureau staff and officials; for a
    township officer or a principal, those of the schools in their scope only (the stored summary holds every
    school's row). `rolled` is the children moved (up, on or out), as the summary's own."""
    if scope_of(user).county:
        return {"totals": rollover.summary.get("totals", {}), "rolled": rollover.summary.get("rolled", 0)}
    mine = set(School.objects.visible_to(user).values_list("pk", flat=True))
    totals: Counter = Counter(dict.fromkeys((MOVES_UP, CONTINUES, GRADUATES, "expected", "decisions"), 0))
    for row in rollover.summary.get("schools", []):
        if row["school"] in mine:
            totals.update({key: row[key] for key in totals})
    return {"totals": dict(totals), "rolled": totals[MOVES_UP] + totals[CONTINUES] + totals[GRADUATES]}


def schools_to_confirm(rollover: Rollover):
    """The schools with pupils on the new register, each with its confirmation (or None): the bureau's list."""
    on_register = (
        Enrollment.objects.on(first_day(rollover.school_year)).enrolled().values("school_id").distinct()
    )
    confirmations = {c.school_id: c for c in rollover.confirmations.select_related("confirmed_by")}
    schools = School.objects.filter(pk__in=on_register).select_related("township").order_by("code")
    return [(school, confirmations.get(school.pk)) for school in schools]


@service(
    allowed=can_confirm_school_list,
    refusal=gettext_lazy("Only the school's principal confirms its list."),
)
def rollover_confirm(*, school_year: int, school: School, by, note: str = "") -> RolloverConfirmation:
    if not School.objects.editable_by(by).filter(pk=school.pk).exists():
        raise PermissionDenied(_("You may not change records of this school."))
    rollover = Rollover.objects.applied().filter(school_year=school_year).first()
    if rollover is None:
        raise ValidationError(
            _("The school year %(year)s has not been rolled over: there is no list to confirm yet.")
            % {"year": school_year}
        )
    if rollover.confirmations.filter(school=school).exists():
        raise ValidationError(_("This school's list has already been confirmed."))
    confirmation = RolloverConfirmation(
        rollover=rollover,
        school=school,
        pupils=school_list(rollover, school).count(),
        note=note,
        confirmed_by=by,
    )
    confirmation.full_clean()
    confirmation.save()
    return confirmation
