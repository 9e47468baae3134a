"""A school year's roll: the full roll previewed then applied on its date, children missing from it kept and
resolved, a past year's roll building that year's register; refusals write nothing."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from students import importing, roll, services
from students.models import (
    Enrollment,
    ImportJob,
    MissingFromRoll,
    School,
    Stage,
    Student,
    Transfer,
    school_year_of,
)
from tests.factories import SchoolFactory, StudentFactory, make_id_number
from tests.refusals import nothing_written

pytestmark = pytest.mark.django_db

HEADER = [c[0] for c in importing.COLUMNS] + [roll.YEAR_COLUMN, roll.REASON_COLUMN, roll.DATE_COLUMN]
YEAR = school_year_of(timezone.localdate())
ROLL_DATE = date(YEAR, 9, 1)


def xlsx(rows) -> SimpleUploadedFile:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return SimpleUploadedFile("学籍.xlsx", buffer.getvalue())


def line(
    school: School,
    *,
    number: str,
    name="王小二",
    stage="小学",
    grade=3,
    year="",
    reason="",
    on="",
    national="",
):
    return [number, name, school.code, stage, grade, "", "否", "", "", "", "", "", national, year, reason, on]


def of(student: Student, school: School | None = None, *, grade=None, stage="小学", **extra):
    return line(
        school or student.school,
        number=student.id_number,
        name=student.name,
        stage=stage,
        grade=grade or student.grade,
        **extra,
    )


@pytest.fixture
def county(school_a, school_b):
    """Five children on the register since last year: at school A two in grade 3, one in grade 6; at school
    B one in grade 2 and a kindergarten-age child's older sibling of 17 in senior... kept simple: grade 5."""
    start = date(YEAR - 1, 9, 1)
    return {
        "stays": StudentFactory(school=school_a, grade=3, enrolled_on=start),
        "moves": StudentFactory(school=school_a, grade=3, enrolled_on=start),
        "up": StudentFactory(school=school_a, grade=6, enrolled_on=start),
        "gone": StudentFactory(school=school_b, grade=2, enrolled_on=start),
        "repeats": StudentFactory(school=school_b, grade=5, enrolled_on=start),
    }


def full_roll(bureau, rows, *, on=ROLL_DATE):
    return services.roll_import_start(
        upload=xlsx(rows), kind=ImportJob.Kind.FULL_ROLL, school_year=YEAR, roll_date=on, by=bureau
    )


def past_roll(bureau, rows, year):
    return services.roll_import_start(
        upload=xlsx(rows), kind=ImportJob.Kind.PAST_ROLL, school_year=year, by=bureau
    )


def county_roll(county, school_a, school_b, newcomer):
    junior = SchoolFactory(township=school_a.township, school_type=School.Type.JUNIOR, name="甲镇中学")
    return [
        of(county["stays"]),
        of(county["moves"], school_b),
        of(county["up"], junior, stage="初中", grade=1),
        of(county["repeats"], grade=4, reason="留级"),
        line(school_a, number=newcomer, name="新来的", grade=1),
    ], junior


def test_the_preview_lists_new_changed_and_missing_and_writes_nothing(bureau, county, school_a, school_b):
    newcomer = make_id_number(date(YEAR - 6, 3, 1))
    rows, _junior = county_roll(county, school_a, school_b, newcomer)
    with nothing_written(*county.values(), besides=(ImportJob,)):
        job = full_roll(bureau, rows)
    assert job.status == ImportJob.Status.PREVIEW, job.message
    preview = job.preview
    assert preview["counts"] == {
        "new": 1,
        "changed": 3,
        "unchanged": 1,
        "missing": 1,
        "missing_compulsory": 1,
    }
    assert [e["name"] for e in preview["new"]] == ["新来的"]
    changed = {e["student"]: e["what"] for e in preview["changed"]}
    assert changed == {
        county["moves"].pk: ["school"],
        county["up"].pk: ["school", "stage"],
        county["repeats"].pk: ["grade"],
    }
    assert [(e["student"], e["compulsory"]) for e in preview["missing"]] == [(county["gone"].pk, True)]
    assert job.file  # kept for the apply


def test_applying_writes_the_changes_on_the_rolls_date_and_keeps_the_missing(
    bureau, county, school_a, school_b
):
    newcomer = make_id_number(date(YEAR - 6, 3, 1))
    rows, junior = county_roll(county, school_a, school_b, newcomer)
    job = services.roll_import_apply(job=full_roll(bureau, rows), by=bureau)
    assert job.status == ImportJob.Status.DONE, job.message
    assert not job.file
    before = Enrollment.objects.on(ROLL_DATE - timedelta(days=1))
    on_roll = {e.student_id: e for e in Enrollment.objects.on(ROLL_DATE)}
    assert (on_roll[county["moves"].pk].school_id, on_roll[county["moves"].pk].source) == (
        school_b.pk,
        f"roll {YEAR}",
    )
    assert (on_roll[county["up"].pk].school_id, on_roll[county["up"].pk].stage) == (junior.pk, Stage.JUNIOR)
    assert on_roll[county["repeats"].pk].grade == 4
    # The day before the roll, the register still says what it said.
    assert {e.student_id: e.school_id for e in before}[county["moves"].pk] == school_a.pk
    assert Transfer.objects.get(student=county["moves"]).on == ROLL_DATE
    created = Student.objects.get(id_number=newcomer)
    assert on_roll[created.pk].valid_from == ROLL_DATE
    # The child missing from the roll is still on the register, with a record to resolve.
    gone = county["gone"]
    assert on_roll[gone.pk].status == Student.Status.ENROLLED
    assert Student.objects.get(pk=gone.pk).status == Student.Status.ENROLLED
    missing = MissingFromRoll.objects.get()
    assert (missing.student_id, missing.school_id, missing.is_compulsory, missing.status) == (
        gone.pk,
        gone.school_id,
        True,
        MissingFromRoll.Status.PENDING,
    )
    assert (job.created_count, job.updated_count, job.unchanged_count) == (1, 3, 1)


def test_a_missing_child_is_resolved_with_a_reason_effective_on_its_date(bureau, county, school_a, school_b):
    rows, _junior = county_roll(county, school_a, school_b, make_id_number())
    services.roll_import_apply(job=full_roll(bureau, rows), by=bureau)
    missing = MissingFromRoll.objects.get()
    left = ROLL_DATE  # a change dated in an ended school year is refused (its roll changes that year)
    services.roll_missing_resolve(
        missing=missing,
        reason=MissingFromRoll.Reason.TRANSFERRED_OUT,
        on=left,
        note="随父母去广东",
        by=bureau,
    )
    missing.refresh_from_db()
    assert (missing.status, missing.reason, missing.resolved_on) == ("resolved", "transferred_out", left)
    gone = county["gone"]
    assert Student.objects.get(pk=gone.pk).status == Student.Status.TRANSFERRED_OUT
    assert Enrollment.objects.on(left - date.resolution).get(student=gone).status == "enrolled"
    assert Enrollment.objects.on(left).get(student=gone).status == "transferred_out"
    with pytest.raises(ValidationError), nothing_written(missing):
        services.roll_missing_resolve(missing=missing, reason="dropped_out", on=left, by=bureau)


def test_resolving_refuses_a_made_up_reason_or_a_future_date_and_another_schools_principal(
    bureau, county, school_a, school_b, principal_a, principal_b
):
    rows, _junior = county_roll(county, school_a, school_b, make_id_number())
    services.roll_import_apply(job=full_roll(bureau, rows), by=bureau)
    missing = MissingFromRoll.objects.get()  # at school B
    today = timezone.localdate()
    for reason, on in (
        ("on_later_roll", today),
        ("lost", today),
        ("dropped_out", date(today.year + 1, 1, 1)),
    ):
        with pytest.raises(ValidationError), nothing_written(missing, county["gone"]):
            services.roll_missing_resolve(missing=missing, reason=reason, on=on, by=bureau)
    with pytest.raises(PermissionDenied), nothing_written(missing, county["gone"]):
        services.roll_missing_resolve(missing=missing, reason="dropped_out", on=today, by=principal_a)
    services.roll_missing_resolve(missing=missing, reason="dropped_out", on=today, by=principal_b)
    assert Student.objects.get(pk=county["gone"].pk).status == Student.Status.DROPPED_OUT


def test_a_later_roll_that_lists_the_missing_child_resolves_the_record(bureau, county, school_a, school_b):
    rows, _junior = county_roll(county, school_a, school_b, make_id_number())
    services.roll_import_apply(job=full_roll(bureau, rows), by=bureau)
    again = [*rows, of(county["gone"])]
    services.roll_import_apply(job=full_roll(bureau, again, on=timezone.localdate()), by=bureau)
    missing = MissingFromRoll.objects.get()
    assert (missing.status, missing.reason) == ("resolved", MissingFromRoll.Reason.ON_LATER_ROLL)


def test_applying_the_same_roll_twice_changes_nothing_more(bureau, county, school_a, school_b):
    rows, _junior = county_roll(county, school_a, school_b, make_id_number())
    services.roll_import_apply(job=full_roll(bureau, rows), by=bureau)
    spells = list(Enrollment.objects.order_by("pk").values_list("pk", "valid_from", "valid_to"))
    job = services.roll_import_apply(job=full_roll(bureau, rows), by=bureau)
    assert job.preview["counts"]["changed"] == 0
    assert job.preview["counts"]["new"] == 0
    assert list(Enrollment.objects.order_by("pk").values_list("pk", "valid_from", "valid_to")) == spells
    assert MissingFromRoll.objects.count() == 1


def test_an_enrolled_child_of_compulsory_age_outside_primary_and_junior_counts(bureau, school_a):
    kindergarten = SchoolFactory(township=school_a.township, school_type=School.Type.KINDERGARTEN)
    older = StudentFactory(
        school=kindergarten,
        stage=Stage.PRESCHOOL,
        grade=3,
        id_number=make_id_number(date(YEAR - 7, 1, 5)),
        enrolled_on=date(YEAR - 1, 9, 1),
    )
    younger = StudentFactory(
        school=kindergarten,
        stage=Stage.PRESCHOOL,
        grade=1,
        id_number=make_id_number(date(YEAR - 3, 1, 5)),
        enrolled_on=date(YEAR - 1, 9, 1),
    )
    other = StudentFactory(school=school_a, enrolled_on=date(YEAR - 1, 9, 1))
    services.roll_import_apply(job=full_roll(bureau, [of(other)]), by=bureau)
    compulsory = dict(MissingFromRoll.objects.values_list("student_id", "is_compulsory"))
    assert compulsory == {older.pk: True, younger.pk: False}


def test_a_child_on_the_roll_again_after_dropping_out_is_enrolled_from_the_rolls_date(bureau, school_a):
    child = StudentFactory(
        school=school_a, enrolled_on=date(YEAR - 2, 9, 1), status=Student.Status.DROPPED_OUT
    )
    job = services.roll_import_apply(job=full_roll(bureau, [of(child)]), by=bureau)
    assert job.preview["changed"][0]["what"] == ["returned"]
    assert Student.objects.get(pk=child.pk).status == Student.Status.ENROLLED
    assert Enrollment.objects.on(ROLL_DATE).get(student=child).status == Student.Status.ENROLLED


def test_a_child_off_the_roll_who_reappears_is_shown_returned_and_put_back_on_the_register(bureau, school_a):
    """A child of a past roll two years ago, on no roll since (Student.Status.OFF_ROLL), is on this year's full
    roll: the preview says 回到名册 with the register's last entry, not an unknown child; applying enrolls the
    child from the roll's date and leaves the past year's entry as it was."""
    number = make_id_number(date(YEAR - 9, 5, 1))
    past = services.roll_import_apply(
        job=past_roll(
            bureau, [line(school_a, number=number, name="回来了", grade=2, year=str(YEAR - 2))], YEAR - 2
        ),
        by=bureau,
    )
    assert past.status == ImportJob.Status.DONE, past.message
    child = Student.objects.get(id_number=number)
    assert child.status == Student.Status.OFF_ROLL
    job = full_roll(bureau, [line(school_a, number=number, name="回来了", grade=4)])
    assert job.status == ImportJob.Status.PREVIEW, job.message
    (entry,) = job.preview["changed"]
    assert entry["what"] == ["returned"] and entry["student"] == child.pk
    assert school_a.name in entry["from"] and "2" in entry["from"]
    page = services.roll_import_apply(job=job, by=bureau)
    assert page.status == ImportJob.Status.DONE, page.message
    child.refresh_from_db()
    assert (child.status, child.grade) == (Student.Status.ENROLLED, 4)
    spell = Enrollment.objects.on(ROLL_DATE).get(student=child)
    assert (spell.status, spell.school_id, spell.grade) == (Student.Status.ENROLLED, school_a.pk, 4)
    then = Enrollment.objects.on(date(YEAR - 2, 10, 1)).get(student=child)
    assert (then.status, then.grade, then.valid_to) == (Student.Status.ENROLLED, 2, date(YEAR - 1, 8, 31))
    assert not Enrollment.objects.on(date(YEAR - 1, 10, 1)).filter(student=child).exists()


def test_the_preview_page_names_what_changed(bureau, bureau_client, school_a):
    child = StudentFactory(
        school=school_a, enrolled_on=date(YEAR - 2, 9, 1), status=Student.Status.DROPPED_OUT
    )
    job = full_roll(bureau, [of(child)])
    page = bureau_client.get(reverse("students:import_detail", args=[job.pk])).content.decode()
    assert "回到名册" in page


# --- Refusals ------------------------------------------------------------------------------------------------


def test_a_full_roll_of_a_year_other_than_the_current_one_is_refused(bureau, school_a):
    child = StudentFactory(school=school_a)
    for year, on in ((YEAR - 1, date(YEAR - 1, 10, 1)), (YEAR + 1, date(YEAR + 1, 10, 1))):
        with pytest.raises(ValidationError) as refused, nothing_written(child):
            services.roll_import_start(
                upload=xlsx([of(child)]), kind="full_roll", school_year=year, roll_date=on, by=bureau
            )
        assert "school_year" in refused.value.message_dict


def test_a_full_roll_dated_in_the_future_or_before_the_year_is_refused(bureau, school_a):
    child = StudentFactory(school=school_a)
    for on in (date(YEAR, 8, 31), date(YEAR + 1, 9, 1)):
        with pytest.raises(ValidationError) as refused, nothing_written(child):
            full_roll(bureau, [of(child)], on=on)
        assert "roll_date" in refused.value.message_dict


def test_a_past_roll_of_this_year_or_before_the_floor_is_refused(bureau, school_a):
    child = StudentFactory(school=school_a)
    for year in (YEAR, YEAR + 1, roll.FIRST_YEAR - 1):
        with pytest.raises(ValidationError), nothing_written(child):
            past_roll(bureau, [of(child, year=year)], year)


def test_only_bureau_staff_import_a_roll(principal_a, official, school_a):
    child = StudentFactory(school=school_a)
    for user in (principal_a, official):
        with pytest.raises(PermissionDenied), nothing_written(child):
            full_roll(user, [of(child)])


def test_a_grade_going_backwards_without_a_reason_refuses_the_roll(bureau, county, school_a, school_b):
    rows = [of(county["repeats"], grade=4), line(school_a, number="360730201001011235")]
    rows.append(line(School(code="NOPE"), number=make_id_number()))
    with nothing_written(*county.values(), besides=(ImportJob,)):
        job = full_roll(bureau, rows)
    assert job.status == ImportJob.Status.REJECTED
    errors = {e["row"]: " ".join(e["errors"]) for e in job.errors}
    assert "留级" in errors[2] and roll.REASON_COLUMN in errors[2]
    assert 3 in errors  # bad ID number
    assert "NOPE" in errors[4]
    assert not job.file


def test_applying_refuses_a_roll_that_is_not_waiting(bureau, county, school_a, school_b):
    rows, _junior = county_roll(county, school_a, school_b, make_id_number())
    job = services.roll_import_apply(job=full_roll(bureau, rows), by=bureau)
    with pytest.raises(ValidationError), nothing_written(job, *county.values()):
        services.roll_import_apply(job=job, by=bureau)


# --- A past year's roll -------------------------------------------------------------------------------------


def register_on(day: date) -> set[tuple]:
    return set(
        Enrollment.objects.on(day)
        .enrolled()
        .values_list("student__id_number", "school__code", "stage", "grade")
    )


def test_a_2022_roll_imported_now_is_the_register_of_2022(bureau, school_a, school_b):
    known = StudentFactory(school=school_a, grade=6, enrolled_on=date(YEAR, 9, 1))  # known since this year
    rows = [of(known, grade=2, year=2022)]
    rows += [
        line(school_a, number=make_id_number(date(2015, 1, i + 1)), name=f"甲{i}", grade=1, year="2022-2023")
        for i in range(3)
    ]
    rows += [
        line(school_b, number=make_id_number(date(2013, 1, i + 1)), name=f"乙{i}", grade=3, year=2022)
        for i in range(2)
    ]
    job = past_roll(bureau, rows, 2022)
    assert job.status == ImportJob.Status.PREVIEW, (job.message, job.errors)
    assert job.preview["counts"]["new"] == 5
    job = services.roll_import_apply(job=job, by=bureau)
    assert job.status == ImportJob.Status.DONE, job.message
    expected = {(r[0], r[2], Stage.PRIMARY, r[4]) for r in rows}
    assert register_on(date(2022, 10, 1)) == expected
    assert register_on(date(2023, 8, 31)) == expected
    assert register_on(date(2022, 8, 31)) == set()
    assert register_on(date(2023, 9, 1)) == set()
    # The known child's current row is untouched (a later spell exists); a new child's is their latest state.
    known.refresh_from_db()
    assert (known.grade, known.status) == (6, Student.Status.ENROLLED)
    new = Student.objects.get(name="乙0")
    assert (new.school_id, new.grade, new.enrolled_on) == (school_b.pk, 3, date(2022, 9, 1))
    assert not Enrollment.objects.filter(student=new, valid_to__isnull=True).exists()


def test_past_rolls_carve_the_register_and_follow_the_latest_year(bureau, school_a, school_b):
    child_number = make_id_number(date(2014, 5, 5))
    services.roll_import_apply(
        job=past_roll(bureau, [line(school_a, number=child_number, grade=2, year=2022)], 2022), by=bureau
    )
    services.roll_import_apply(
        job=past_roll(bureau, [line(school_a, number=child_number, grade=4, year=2024)], 2024), by=bureau
    )
    # 2023 in between, moved to school B from 1 March 2024.
    services.roll_import_apply(
        job=past_roll(
            bureau, [line(school_b, number=child_number, grade=3, year=2023, on="2024-03-01")], 2023
        ),
        by=bureau,
    )
    child = Student.objects.get(id_number=child_number)
    assert list(
        Enrollment.objects.filter(student=child).values_list("school_id", "grade", "valid_from", "valid_to")
    ) == [
        (school_a.pk, 2, date(2022, 9, 1), date(2023, 8, 31)),
        (school_b.pk, 3, date(2024, 3, 1), date(2024, 8, 31)),
        (school_a.pk, 4, date(2024, 9, 1), date(2025, 8, 31)),
    ]
    assert (child.school_id, child.grade) == (school_a.pk, 4)
    # A correction of 2022 carves only 2022.
    services.roll_import_apply(
        job=past_roll(bureau, [line(school_b, number=child_number, grade=2, year=2022)], 2022), by=bureau
    )
    assert Enrollment.objects.on(date(2023, 1, 1)).get(student=child).school_id == school_b.pk
    assert Enrollment.objects.on(date(2025, 1, 1)).get(student=child).school_id == school_a.pk


def test_a_past_roll_splits_a_spell_that_spans_the_year(bureau, school_a, school_b):
    child = StudentFactory(school=school_a, grade=5, enrolled_on=date(2021, 9, 1))
    services.roll_import_apply(
        job=past_roll(bureau, [of(child, school_b, grade=4, year=2022, reason="补录")], 2022), by=bureau
    )
    assert list(
        Enrollment.objects.filter(student=child).values_list("school_id", "grade", "valid_from", "valid_to")
    ) == [
        (school_a.pk, 5, date(2021, 9, 1), date(2022, 8, 31)),
        (school_b.pk, 4, date(2022, 9, 1), date(2023, 8, 31)),
        (school_a.pk, 5, date(2023, 9, 1), None),
    ]
    child.refresh_from_db()
    assert child.school_id == school_a.pk


def test_a_past_roll_row_of_another_year_or_going_backwards_is_refused(bureau, school_a):
    child = StudentFactory(school=school_a, grade=5, enrolled_on=date(2023, 9, 1))
    rows = [of(child, grade=6, year=2022), line(school_a, number=make_id_number(), year=2021)]
    rows.append(line(school_a, number=make_id_number(), year="明年"))
    with nothing_written(child, besides=(ImportJob,)):
        job = past_roll(bureau, rows, 2022)
    assert job.status == ImportJob.Status.REJECTED
    errors = {e["row"]: " ".join(e["errors"]) for e in job.errors}
    assert set(errors) == {2, 3, 4}
    assert "留级" in errors[2]


def test_a_past_roll_row_at_a_school_not_open_that_year_is_refused(bureau, school_a, township_a):
    later = SchoolFactory(township=township_a, opened_on=date(2025, 9, 1), name="新建小学")
    gone = SchoolFactory(township=township_a, closed_on=date(2021, 7, 1), name="撤并村小")
    rows = [
        line(later, number=make_id_number(), year=2022),
        line(gone, number=make_id_number(), year=2022),
        line(school_a, number=make_id_number(), year=2022),
    ]
    with nothing_written(*Student.objects.all(), besides=(ImportJob,)):
        job = past_roll(bureau, rows, 2022)
    assert job.status == ImportJob.Status.REJECTED
    errors = {e["row"]: " ".join(e["errors"]) for e in job.errors}
    assert set(errors) == {2, 3}
    assert "新建小学" in errors[2] and "撤并村小" in errors[3]


def test_a_preview_not_applied_in_time_lapses_and_its_file_goes(bureau, county, school_a, school_b, settings):
    rows, _junior = county_roll(county, school_a, school_b, make_id_number())
    job = full_roll(bureau, rows)
    ImportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(days=settings.IMPORT_FILE_RETENTION_DAYS + 1)
    )
    assert services.import_files_purge() == 1
    job.refresh_from_db()
    assert (job.status, job.file.name) == (ImportJob.Status.FAILED, "")
    assert "名册" in job.message or "roll" in job.message
    with pytest.raises(ValidationError):
        services.roll_import_apply(job=job, by=bureau)


def test_a_past_roll_is_not_compared_with_a_spell_that_carries_todays_grade_back(bureau, school_a):
    """A child recorded before the register kept years (back-filled from the enrolment date with today's
    grade) is in grade 5 "since 2021": the 2022 roll's grade 2 is no step back."""
    child = StudentFactory(school=school_a, grade=5, enrolled_on=date(2021, 9, 1))
    job = services.roll_import_apply(job=past_roll(bureau, [of(child, grade=2, year=2022)], 2022), by=bureau)
    assert job.status == ImportJob.Status.DONE, job.errors
    assert Enrollment.objects.on(date(2022, 10, 1)).get(student=child).grade == 2
    assert Enrollment.objects.on(timezone.localdate()).get(student=child).grade == 5


def test_a_past_roll_of_a_year_the_portal_kept_is_refused(bureau, school_a):
    """Outside attack: a past roll rewrote a school year the portal had opened by its roll-over, moving that
    year's rebuilt report. A past roll is for the years before the portal was used."""
    from students.models import Rollover

    child = StudentFactory(school=school_a, enrolled_on=date(YEAR - 1, 9, 1))
    with pytest.raises(
        ValidationError
    ):  # this year is refused anyway; last year is not kept by the portal yet
        past_roll(bureau, [of(child, year=YEAR)], YEAR)
    Rollover.objects.create(school_year=YEAR - 1, status=Rollover.Status.APPLIED, applied_by=bureau)
    with pytest.raises(ValidationError) as refused, nothing_written(child):
        past_roll(bureau, [of(child, year=YEAR - 1)], YEAR - 1)
    assert "school_year" in refused.value.message_dict
    job = past_roll(
        bureau, [of(child, year=YEAR - 2)], YEAR - 2
    )  # a year before the portal's first roll-over
    assert job.status == ImportJob.Status.PREVIEW
