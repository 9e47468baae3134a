"""The autumn roll-over (升级/毕业): preview, apply, undo and the principals' confirmation (issue 13)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from students import register, rollover, tasks
from students.models import Enrollment, Rollover, RolloverConfirmation, School, Stage, Student
from tests.factories import SchoolFactory, StudentFactory, move_on
from tests.refusals import nothing_written

pytestmark = pytest.mark.django_db

YEAR = 2025
TODAY = date(2025, 9, 15)
EVE, FIRST = date(2025, 8, 31), date(2025, 9, 1)


@dataclass
class County:
    primary: School
    nine_year: School
    closing: School
    up: list[Student]
    leavers: list[Student]
    goes_on: Student
    suspended: Student
    beyond: Student
    moved: Student
    closing_pupil: Student
    junior_leavers: list[Student]
    late_leaver: Student


def enrolled(**kwargs) -> Student:
    return StudentFactory(enrolled_on=date(2024, 9, 1), **kwargs)


@pytest.fixture
def county(bureau) -> County:
    primary = SchoolFactory(school_type=School.Type.PRIMARY, code="P001")
    nine_year = SchoolFactory(school_type=School.Type.NINE_YEAR, code="N001")
    closing = SchoolFactory(school_type=School.Type.JUNIOR, code="J001", closed_on=FIRST)
    built = County(
        primary=primary,
        nine_year=nine_year,
        closing=closing,
        up=[enrolled(school=primary, grade=1, is_boarding=True), enrolled(school=primary, grade=1)],
        leavers=[
            enrolled(school=primary, stage=Stage.PRESCHOOL, grade=3),
            *(enrolled(school=primary, grade=6) for _ in range(2)),
        ],
        goes_on=enrolled(school=nine_year, grade=6),
        suspended=enrolled(school=primary, grade=4, status=Student.Status.SUSPENDED),
        beyond=enrolled(school=primary, grade=7),
        moved=enrolled(school=primary, grade=2),
        closing_pupil=enrolled(school=closing, stage=Stage.JUNIOR, grade=2),
        junior_leavers=[enrolled(school=nine_year, stage=Stage.JUNIOR, grade=3) for _ in range(2)],
        late_leaver=enrolled(school=closing, stage=Stage.JUNIOR, grade=3),
    )
    # Not on the register of 31 August: left before, or new this September.
    enrolled(school=primary, grade=5, status=Student.Status.GRADUATED)
    StudentFactory(school=primary, grade=1, enrolled_on=FIRST)
    # Already moved in the new year: a person decides its grade.
    move_on(built.moved, nine_year, date(2025, 9, 5))
    return built


def grades_on(day: date, students) -> list[tuple[str, int, str, int]]:
    spells = Enrollment.objects.on(day).filter(student__in=students).order_by("student_id")
    return [(e.stage, e.grade, e.status, e.school_id) for e in spells]


def register_rows():
    return list(Enrollment.objects.order_by("pk").values())


def student_rows():
    return list(Student.objects.order_by("pk").values())


def apply(bureau, **kwargs) -> Rollover:
    return rollover.rollover_apply(school_year=YEAR, by=bureau, today=TODAY, **kwargs)


def test_the_preview_counts_per_school_and_stage(county):
    preview = rollover.preview(school_year=YEAR, today=TODAY)
    assert preview["totals"] == {"moves_up": 2, "continues": 1, "graduates": 6, "expected": 6, "decisions": 4}
    assert {(e["to"], e["count"]) for e in preview["expected"]} == {
        ("primary", 1),
        ("junior", 2),
        ("senior_vocational", 3),
    }
    rows = {(r["school_code"], r["stage"]): r for r in preview["schools"]}
    assert (rows[("P001", "primary")]["moves_up"], rows[("P001", "primary")]["graduates"]) == (2, 2)
    assert rows[("P001", "primary")]["decisions"] == 3  # suspended, grade 7, moved in September
    assert rows[("P001", "preschool")]["expected"] == 1
    assert rows[("N001", "primary")]["continues"] == 1
    assert rows[("N001", "junior")]["graduates"] == rows[("N001", "junior")]["expected"] == 2
    assert (rows[("J001", "junior")]["graduates"], rows[("J001", "junior")]["decisions"]) == (1, 1)
    reasons = {d["student"]: d["reason"] for d in preview["decisions"]}
    assert reasons == {
        county.suspended.pk: "suspended",
        county.beyond.pk: "grade_beyond_stage",
        county.moved.pk: "changed",
        county.closing_pupil.pk: "school_closed",
    }


def test_a_preview_writes_nothing(county):
    with nothing_written():
        rollover.preview(school_year=YEAR, today=TODAY)


def test_apply_opens_the_new_register_on_the_first_of_september(county, bureau):
    rolled = [*county.up, *county.leavers, county.goes_on, *county.junior_leavers, county.late_leaver]
    before = grades_on(EVE, rolled)
    done = apply(bureau)
    assert done.summary["rolled"] == 9 and done.applied_by == bureau
    assert grades_on(EVE, rolled) == before
    p, n = county.primary.pk, county.nine_year.pk
    assert grades_on(FIRST, county.up) == [("primary", 2, "enrolled", p)] * 2
    assert grades_on(FIRST, county.leavers) == [
        ("preschool", 3, "graduated", p),
        ("primary", 6, "graduated", p),
        ("primary", 6, "graduated", p),
    ]
    assert grades_on(FIRST, [county.goes_on]) == [("junior", 1, "enrolled", n)]
    assert grades_on(FIRST, county.junior_leavers) == [("junior", 3, "graduated", n)] * 2
    assert Enrollment.objects.filter(rollover=done).count() == 9
    assert set(Enrollment.objects.filter(rollover=done).values_list("source", flat=True)) == {"rollover"}
    # The Student rows are the new spells' state; the ones left for a decision are untouched.
    county.up[0].refresh_from_db()
    assert (county.up[0].grade, county.up[0].status) == (2, "enrolled")
    assert Enrollment.objects.on(FIRST).get(student=county.up[0]).is_boarding  # carried over
    for student in (county.suspended, county.beyond, county.closing_pupil, county.moved):
        assert not Enrollment.objects.filter(student=student, rollover=done).exists()
        assert Student.objects.get(pk=student.pk).grade == student.grade
    # Reports of the new year read the new register (the child moved on 5 September waits for a decision).
    assert Enrollment.objects.on(FIRST).enrolled().filter(school=county.primary, grade=2).count() == 3
    assert Enrollment.objects.on(FIRST).enrolled().filter(school=county.primary, grade=1).count() == 1


def test_a_roll_over_applied_twice_is_refused_and_writes_nothing(county, bureau):
    apply(bureau)
    with nothing_written(), pytest.raises(ValidationError, match="已经升级"):
        apply(bureau)


@pytest.mark.parametrize(
    ("year", "message"),
    [(2024, "已结束"), (2026, "尚未开始")],
)
def test_a_closed_or_future_school_year_is_refused(county, bureau, year, message):
    with nothing_written(), pytest.raises(ValidationError, match=message):
        rollover.rollover_apply(school_year=year, by=bureau, today=TODAY)


def test_a_school_year_before_the_last_one_opened_is_closed(county, bureau):
    Rollover.objects.create(school_year=2026, summary={"rolled": 0})
    with nothing_written(), pytest.raises(ValidationError, match="2026"):
        rollover.rollover_apply(school_year=YEAR, by=bureau, today=date(2026, 10, 1))


def test_next_september_can_be_previewed_but_not_applied(county, bureau):
    assert rollover.preview(school_year=2026, today=TODAY)["school_year"] == 2026
    with pytest.raises(ValidationError):
        rollover.rollover_apply(school_year=2026, by=bureau, today=TODAY)


def test_a_stale_preview_is_refused(county, bureau):
    fingerprint = rollover.preview(school_year=YEAR, today=TODAY)["fingerprint"]
    assert rollover.preview(school_year=YEAR, today=TODAY)["fingerprint"] == fingerprint
    StudentFactory(school=county.primary, grade=3, enrolled_on=date(2024, 9, 1))
    with nothing_written(), pytest.raises(ValidationError, match="预览"):
        apply(bureau, fingerprint=fingerprint)


# --- A large county: applied by a Celery task (students.tasks.apply_rollover) --------------------------------


@pytest.fixture
def large(settings):
    """Every county is "large": the apply is handed to the task (eager in tests, run at commit)."""
    settings.ROLLOVER_ASYNC_THRESHOLD_STUDENTS = 0


def test_a_large_county_is_applied_by_a_task_after_the_request(
    county, bureau, large, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        accepted = apply(bureau)
    assert accepted.status == Rollover.Status.APPLYING and len(queued) == 1
    assert [g[1] for g in grades_on(FIRST, county.up)] == [1, 1]  # nothing written yet: the task writes it
    queued[0]()
    accepted.refresh_from_db()
    assert (accepted.status, accepted.summary["rolled"]) == (Rollover.Status.APPLIED, 9)
    assert [g[1] for g in grades_on(FIRST, county.up)] == [2, 2]
    # ... and it is undone like any other.
    assert rollover.rollover_undo(school_year=YEAR, by=bureau).status == Rollover.Status.UNDONE


def test_a_second_apply_while_the_task_runs_is_refused(
    county, bureau, large, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        apply(bureau)
    with nothing_written(), pytest.raises(ValidationError, match="正在"):
        apply(bureau)
    # Two at the same moment: the constraint counts a roll-over being applied as one of the year.
    with nothing_written(), pytest.raises(IntegrityError), transaction.atomic():
        Rollover.objects.create(school_year=YEAR, status=Rollover.Status.APPLYING)


def test_a_task_that_finds_the_register_changed_fails_and_writes_nothing(
    county, bureau, large, django_capture_on_commit_callbacks
):
    spells, rows = register_rows(), student_rows()
    with django_capture_on_commit_callbacks():
        accepted = apply(bureau)
    late = enrolled(school=county.primary, grade=3)
    assert tasks.apply_rollover(accepted.pk) == Rollover.Status.FAILED
    accepted.refresh_from_db()
    assert accepted.status == Rollover.Status.FAILED and "预览" in accepted.message
    assert [r for r in register_rows() if r["student_id"] != late.pk] == spells
    assert [r for r in student_rows() if r["id"] != late.pk] == rows
    # The year can be applied again (a failed attempt is no roll-over of the year).
    with django_capture_on_commit_callbacks(execute=True):
        again = apply(bureau)
    again.refresh_from_db()
    assert again.status == Rollover.Status.APPLIED


def test_undo_gives_back_the_register_and_the_rows_exactly(county, bureau):
    spells, rows = register_rows(), student_rows()
    apply(bureau)
    assert register_rows() != spells and student_rows() != rows
    undone = rollover.rollover_undo(school_year=YEAR, by=bureau)
    assert register_rows() == spells
    assert student_rows() == rows
    assert (undone.status, undone.undone_at is not None) == ("undone", True)
    # The year can be opened again after an undo.
    assert apply(bureau).summary["rolled"] == 9


def _grade_changed(county, bureau):
    student = Student.objects.get(pk=county.up[0].pk)
    student.grade = 5
    student.save()


def _name_changed(county, bureau):
    student = Student.objects.get(pk=county.up[0].pk)
    student.name = "改了名"
    student.save()


def _back_dated_change(county, bureau):
    student = Student.objects.get(pk=county.up[1].pk)
    with transaction.atomic(), register.effective(date(2025, 8, 20)):
        student.is_boarding = True
        student.save()


def _new_pupil(county, bureau):
    StudentFactory(school=county.primary, grade=1, enrolled_on=date(2025, 9, 20))


@pytest.mark.parametrize("change", [_grade_changed, _name_changed, _back_dated_change, _new_pupil])
def test_undo_is_refused_once_the_new_year_has_changed(county, bureau, change):
    done = apply(bureau)
    change(county, bureau)
    with nothing_written(), pytest.raises(ValidationError, match="不能再撤销"):
        rollover.rollover_undo(school_year=YEAR, by=bureau)
    done.refresh_from_db()
    assert done.status == "applied"


def test_undo_is_refused_once_a_principal_has_confirmed_the_schools_list(
    county, bureau, principal_a, school_a
):
    """A principal's word that the new list is right stands: the roll-over it confirms is not undone under it
    (the bureau corrects single records instead)."""
    StudentFactory(school=school_a, grade=2, enrolled_on=date(2024, 9, 1))
    done = apply(bureau)
    rollover.rollover_confirm(school_year=YEAR, school=school_a, by=principal_a)
    with nothing_written(), pytest.raises(ValidationError) as refused:
        rollover.rollover_undo(school_year=YEAR, by=bureau)
    assert "确认" in refused.value.messages[0] and school_a.name in refused.value.messages[0]
    done.refresh_from_db()
    assert done.status == "applied"


def test_undo_before_any_confirmation_still_goes_through(county, bureau, school_a):
    StudentFactory(school=school_a, grade=2, enrolled_on=date(2024, 9, 1))
    apply(bureau)
    assert rollover.rollover_undo(school_year=YEAR, by=bureau).status == "undone"


def test_undo_of_a_year_never_rolled_over_is_refused(county, bureau):
    with nothing_written(), pytest.raises(ValidationError):
        rollover.rollover_undo(school_year=YEAR, by=bureau)


def test_only_bureau_staff_roll_over(county, bureau, principal_a, official, township_officer):
    for user in (principal_a, official, township_officer):
        with nothing_written(), pytest.raises(PermissionDenied):
            rollover.rollover_apply(school_year=YEAR, by=user, today=TODAY)
    apply(bureau)
    with nothing_written(), pytest.raises(PermissionDenied):
        rollover.rollover_undo(school_year=YEAR, by=principal_a)


def test_a_principal_confirms_the_own_schools_list_once(county, bureau, principal_a, school_a, school_b):
    StudentFactory(school=school_a, grade=2, enrolled_on=date(2024, 9, 1))
    apply(bureau)
    confirmation = rollover.rollover_confirm(school_year=YEAR, school=school_a, by=principal_a, note="无误")
    assert (confirmation.pupils, confirmation.confirmed_by) == (1, principal_a)
    with nothing_written(), pytest.raises(ValidationError):
        rollover.rollover_confirm(school_year=YEAR, school=school_a, by=principal_a)
    with nothing_written(), pytest.raises(PermissionDenied):
        rollover.rollover_confirm(school_year=YEAR, school=school_b, by=principal_a)
    with nothing_written(), pytest.raises(PermissionDenied):
        rollover.rollover_confirm(school_year=YEAR, school=school_a, by=bureau)
    confirmed = {s.pk: c for s, c in rollover.schools_to_confirm(Rollover.objects.get())}
    assert confirmed[school_a.pk] == confirmation and confirmed[county.primary.pk] is None


def test_there_is_nothing_to_confirm_before_the_roll_over(school_a, principal_a):
    with nothing_written(), pytest.raises(ValidationError):
        rollover.rollover_confirm(school_year=YEAR, school=school_a, by=principal_a)
    assert not RolloverConfirmation.objects.exists()


def test_a_county_with_nobody_to_roll_over_opens_and_undoes_the_year(bureau):
    done = apply(bureau)
    assert done.summary["rolled"] == 0 and done.summary["schools"] == []
    assert rollover.rollover_undo(school_year=YEAR, by=bureau).status == "undone"
