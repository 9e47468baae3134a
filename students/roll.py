"""A school year's roll (学籍名册): the county's full roll from the national 学籍 system, imported as the roll
of the current school year, or a past year's roll that builds the register of a year the portal never kept.

Both use the student template (students.importing: the same columns, row checks and staging table; a past
roll adds 学年, and either may give 变动原因 and 变动日期) and both are checked into a preview first (ImportJob
status PREVIEW, the file kept until applied): who is new, who changed school, stage or grade, and for a full
roll who is missing. Applying checks the file again against the register as it is then, and writes:

- a full roll through the register's trigger, effective on the roll's date (`register.effective`): new
  children created, moves between schools recorded as transfers, and each child the register had on that
  date whom the roll does not list given a `MissingFromRoll` to resolve. Nobody is deleted or guessed at.
- a past roll with the trigger off (`register.unsynced`): each row's spell for that year (1 September to
  31 August, or from the row's 变动日期) carved into what the register said, children unknown so far created,
  and the Student row following a row that is the child's latest known state, with the status "not on this
  school year's roll" (`Student.Status.OFF_ROLL`: no spell covers today). The roll-over of the next year, or
  the full roll, puts such a child back on the register and enrolls them.

Which years are open: a full roll for the current school year only (its date from 1 September to today); a
past roll for a year that has ended and is not before `FIRST_YEAR`.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections import defaultdict
from datetime import date, datetime
from typing import Any

import pghistory
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.excel import cell_text, read_rows
from students import id_numbers, importing, register
from students import import_staging as staging
from students.importing import STAGE_LABEL, ImportRefused, RowResult
from students.models import ImportJob, MissingFromRoll, Rollover, Student, school_year_of

YEAR_COLUMN = "学年"
REASON_COLUMN = "变动原因"
DATE_COLUMN = "变动日期"
# The earliest school year a past roll may build (the school-year field's own floor).
FIRST_YEAR = 2000
# Entries of each preview list kept on the job (the counts are always whole).
PREVIEW_LIMIT = 500
ROLL_TABLE = "pg_temp.roll_rows"
TAILS_TABLE = "pg_temp.roll_tails"
# A stage's place in a child's schooling, for "the grade goes backwards" (special education is not ranked).
_RANK = (
    "(CASE {stage} WHEN 'preschool' THEN 0 WHEN 'primary' THEN 1 WHEN 'junior' THEN 2 "
    "WHEN 'senior' THEN 3 WHEN 'vocational' THEN 3 END) * 10 + {grade}"
)
_YEAR = re.compile(r"^(\d{4})(?:\s*[-–—至/]\s*(\d{4}))?\s*(?:学年(?:度)?)?$")
ROLL_KINDS = (ImportJob.Kind.FULL_ROLL, ImportJob.Kind.PAST_ROLL)
# What the preview says changed for a child on the register (its `what` codes), as the page shows it.
CHANGES = {
    "returned": gettext_lazy("Back on the roll"),
    "unknown": gettext_lazy("Not on the register on that date"),
    "school": gettext_lazy("Changed school"),
    "stage": gettext_lazy("Changed stage"),
    "grade": gettext_lazy("Changed grade"),
}


def year_label(year: int) -> str:
    return f"{year}–{year + 1}"


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 9, 1), date(year + 1, 8, 31)


def check_year(*, kind: str, school_year: int, roll_date: date | None, today: date | None = None) -> None:
    """Refuse a roll for a school year that is closed to it (ValidationError with the clerk's message)."""
    today = today or timezone.localdate()
    current = school_year_of(today)
    if kind == ImportJob.Kind.FULL_ROLL:
        if school_year != current:
            raise ValidationError(
                {
                    "school_year": _(
                        "A full roll is imported for the current school year (%(current)s) only; a year that "
                        "has ended is imported as a past year's roll."
                    )
                    % {"current": year_label(current)}
                }
            )
        start, _end = year_bounds(school_year)
        if roll_date is None or roll_date < start or roll_date > today:
            raise ValidationError(
                {
                    "roll_date": _("The roll's date must fall between %(start)s and today.")
                    % {"start": start.isoformat()}
                }
            )
    elif kind == ImportJob.Kind.PAST_ROLL:
        if school_year >= current:
            raise ValidationError(
                {
                    "school_year": _(
                        "Only a school year that has ended can be imported as a past year's roll "
                        "(before %(current)s); this year's roll is imported as a full roll."
                    )
                    % {"current": year_label(current)}
                }
            )
        if school_year < FIRST_YEAR:
            raise ValidationError(
                {
                    "school_year": _("The portal keeps no register before the %(year)s school year.")
                    % {"year": year_label(FIRST_YEAR)}
                }
            )
        # A past roll is for a year the portal never kept. A year the portal opened (its roll-over) or took a
        # full roll for is what its register said then: rewriting it would move that year's reports.
        if (
            Rollover.objects.applied().filter(school_year=school_year).exists()
            or ImportJob.objects.filter(
                kind=ImportJob.Kind.FULL_ROLL, school_year=school_year, status=ImportJob.Status.DONE
            ).exists()
        ):
            raise ValidationError(
                {
                    "school_year": _(
                        "The portal kept the %(year)s school year itself (its roll-over or its full roll): its "
                        "register is not replaced by a past year's roll, which is for the years before the portal "
                        "was used."
                    )
                    % {"year": year_label(school_year)}
                }
            )
    else:
        raise ValidationError({"kind": _("Choose a full roll or a past year's roll.")})


def _cell_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value).replace("/", "-").replace(".", "-")
    return date.fromisoformat(text) if text else None


def _roll_rows(rows: list[list[Any]], job: ImportJob) -> tuple[list[tuple], dict[int, list[str]]]:
    """Each row's roll columns as (row, start, end, reason), and the rows' messages about them."""
    names = [cell_text(h).replace(" ", "") for h in rows[0]] if rows else []
    at = {title: names.index(title) for title in (YEAR_COLUMN, REASON_COLUMN, DATE_COLUMN) if title in names}
    past = job.kind == ImportJob.Kind.PAST_ROLL
    if past and YEAR_COLUMN not in at:
        raise ImportRefused(
            _("A past year's roll needs the column %(column)s (the school year of each row).")
            % {"column": YEAR_COLUMN}
        )
    start, end = year_bounds(job.school_year)
    problems: dict[int, list[str]] = defaultdict(list)
    out = []

    def cell(raw, title):
        return raw[at[title]] if title in at and at[title] < len(raw) else None

    for number, raw in enumerate(rows[1:], start=2):
        row_start, row_end = (start, end) if past else (job.roll_date, None)
        if past:
            match = _YEAR.match(cell_text(cell(raw, YEAR_COLUMN)))
            if not match or (match.group(2) and int(match.group(2)) != int(match.group(1)) + 1):
                problems[number].append(_("The school year must read like 2022 or 2022-2023."))
            elif int(match.group(1)) != job.school_year:
                problems[number].append(
                    _("The row is of the %(row)s school year; this roll is of %(year)s.")
                    % {"row": year_label(int(match.group(1))), "year": year_label(job.school_year)}
                )
            try:
                given = _cell_date(cell(raw, DATE_COLUMN))
            except ValueError:
                problems[number].append(_("The date must read like 2022-10-08."))
                given = None
            if given is not None:
                if not start <= given <= end:
                    problems[number].append(
                        _("The date must fall within the school year (%(start)s to %(end)s).")
                        % {"start": start.isoformat(), "end": end.isoformat()}
                    )
                else:
                    row_start = given
        reason = cell_text(cell(raw, REASON_COLUMN))[:200] or None
        out.append((number, row_start, row_end, reason))
    return out, problems


_STAGE_RANK = {"preschool": 0, "primary": 1, "junior": 2, "senior": 3, "vocational": 3}


def _rank(stage: str | None, grade: int | None) -> float:
    """Python's twin of `_RANK` (an unranked stage or no spell compares as nothing)."""
    if stage not in _STAGE_RANK or grade is None:
        return float("nan")
    return _STAGE_RANK[stage] * 10 + grade


def _stage_grade(stage: str | None, grade: int | None) -> str:
    if stage is None:
        return "—"
    return _("%(stage)s grade %(grade)s") % {"stage": STAGE_LABEL.get(stage, stage), "grade": grade}


def _backwards(cursor, *, past: bool) -> list[tuple]:
    """Rows of known children whose stage and grade go back from what the register held before the row
    (or, for a past year, forward of what it holds after the year), with no reason given: (row, before
    stage, before grade, row stage, row grade, after stage, after grade).

    A full roll compares with the spell holding on its date (today's state). A past year compares only with
    spells wholly before or wholly after the year: a spell reaching into the year is what the roll replaces
    there, and one that began at an enrolment date and carries today's grade back over the years (a student
    recorded before the register, back-filled) says nothing about the grade in that year."""
    row_rank = _RANK.format(stage="x.stage", grade="x.grade")
    cursor.execute(
        f"""
        WITH x AS (
            SELECT s.row_no, s.student_id, s.stage, s.grade, r.start_on, r.end_on
            FROM {staging.TABLE} s
            JOIN {ROLL_TABLE} r ON r.row_no = s.row_no
            WHERE s.student_id IS NOT NULL AND s.ok AND s.stage IS NOT NULL AND s.grade IS NOT NULL AND r.reason IS NULL
        )
        SELECT x.row_no, b.stage, b.grade, x.stage, x.grade, a.stage, a.grade
        FROM x
        LEFT JOIN LATERAL (
            SELECT e.stage, e.grade FROM students_enrollment e
            WHERE e.student_id = x.student_id
              AND {"e.valid_to < x.start_on" if past else "e.valid_from <= x.start_on"}
            ORDER BY e.valid_from DESC LIMIT 1
        ) b ON true
        LEFT JOIN LATERAL (
            SELECT e.stage, e.grade FROM students_enrollment e
            WHERE x.end_on IS NOT NULL AND e.student_id = x.student_id AND e.valid_from > x.end_on
            ORDER BY e.valid_from LIMIT 1
        ) a ON true
        WHERE {row_rank} < {_RANK.format(stage="b.stage", grade="b.grade")}
           OR {_RANK.format(stage="a.stage", grade="a.grade")} < {row_rank}
        ORDER BY x.row_no
        """
    )
    return cursor.fetchall()


def check(rows: list[list[Any]], job: ImportJob, cursor) -> importing.Validation:
    """The student import's checks, the roll's own (school year, dates, grades going backwards), all the
    bad rows together. Leaves the rows in the staging tables of this connection."""
    validation = importing.validate(rows, user=job.uploaded_by)
    roll_rows, roll_problems = _roll_rows(rows, job)
    cursor.execute(f"DROP TABLE IF EXISTS {ROLL_TABLE}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {ROLL_TABLE} (row_no integer PRIMARY KEY, start_on date NOT NULL, "
        "end_on date, reason text)"
    )
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(roll_rows)
    buffer.seek(0)
    # COPY, as the staging table is filled (a county's roll is 150,000 rows; the COPY is not tracked).
    with transaction.atomic():
        cursor.copy_expert(f"COPY {ROLL_TABLE} FROM STDIN WITH (FORMAT csv)", buffer)
    cursor.execute(f"ANALYZE {ROLL_TABLE}")
    for number, before_stage, before_grade, stage, grade, after_stage, after_grade in _backwards(
        cursor, past=job.kind == ImportJob.Kind.PAST_ROLL
    ):
        before, row, after = (before_stage, before_grade), (stage, grade), (after_stage, after_grade)
        older, newer = (before, row) if _rank(*row) < _rank(*before) else (row, after)
        roll_problems[number].append(
            _(
                "The grade goes back from %(before)s to %(after)s: give the reason (such as 留级) in the "
                "%(column)s column."
            )
            % {"before": _stage_grade(*older), "after": _stage_grade(*newer), "column": REASON_COLUMN}
        )
    # A school not open on the row's first day (opened later, or closed by then) had no pupils that day.
    cursor.execute(
        f"""
        SELECT s.row_no, sc.name FROM {staging.TABLE} s
        JOIN {ROLL_TABLE} r ON r.row_no = s.row_no
        JOIN students_school sc ON sc.code = s.school_code
        WHERE (sc.opened_on IS NOT NULL AND sc.opened_on > r.start_on)
           OR (sc.closed_on IS NOT NULL AND sc.closed_on <= r.start_on)
        ORDER BY s.row_no
        """
    )
    for number, school_name in cursor.fetchall():
        roll_problems[number].append(
            _("%(school)s was not in operation on that date.") % {"school": school_name}
        )
    if roll_problems:
        bad = {r.row: r for r in validation.bad_rows}
        positions = importing.map_header(rows[0])
        for number, messages in roll_problems.items():
            if number not in bad:
                raw = rows[number - 1]
                bad[number] = RowResult(
                    row=number,
                    values={
                        "id_number": id_numbers.normalize(importing._cell(raw, positions["id_number"])),
                        "name": importing._cell(raw, positions["name"]),
                    },
                )
            bad[number].errors.extend(messages)
        validation.bad_rows = [bad[n] for n in sorted(bad)]
    return validation


def _register_view(cursor) -> list[tuple]:
    """Each staged row with the register's latest spell of its child that began by the row's first day, and
    whether that spell still covers the day (False: the child was off the register then, e.g. a past roll's
    child on no roll since, `Student.Status.OFF_ROLL`)."""
    staging.match_students(cursor)
    cursor.execute(
        f"""
        SELECT s.row_no, s.student_id, s.id_number, s.name, sc.id, sc.name, s.stage, s.grade,
               e.school_id, esc.name, e.stage, e.grade, e.status,
               e.valid_to IS NULL OR e.valid_to >= r.start_on
        FROM {staging.TABLE} s
        JOIN {ROLL_TABLE} r ON r.row_no = s.row_no
        JOIN students_school sc ON sc.code = s.school_code
        LEFT JOIN LATERAL (
            SELECT * FROM students_enrollment e
            WHERE e.student_id = s.student_id AND e.valid_from <= r.start_on
            ORDER BY e.valid_from DESC LIMIT 1
        ) e ON true
        LEFT JOIN students_school esc ON esc.id = e.school_id
        ORDER BY s.row_no
        """
    )
    return cursor.fetchall()


def _missing(cursor, on: date) -> list[tuple]:
    """Children enrolled on the register on `on` whom the staged roll does not list, by school."""
    cursor.execute(
        f"""
        SELECT st.id, st.id_number, st.name, sc.name, e.stage, e.grade, {_COMPULSORY}
        FROM students_enrollment e
        JOIN students_student st ON st.id = e.student_id
        JOIN students_school sc ON sc.id = e.school_id
        WHERE e.valid_from <= %(on)s AND (e.valid_to IS NULL OR e.valid_to >= %(on)s) AND e.status = 'enrolled'
          AND NOT EXISTS (SELECT 1 FROM {staging.TABLE} s WHERE s.student_id = st.id)
        ORDER BY sc.code, e.stage, e.grade, st.name, st.id
        """,
        {"on": on},
    )
    return cursor.fetchall()


# Compulsory age: a primary or junior pupil, or a child of 6 to 15 on the roll's date.
_COMPULSORY = (
    "(e.stage IN ('primary', 'junior') OR "
    "(st.birth_date <= %(on)s - interval '6 years' AND st.birth_date > %(on)s - interval '16 years'))"
)


def preview_of(cursor, job: ImportJob) -> dict:
    counts = {"new": 0, "changed": 0, "unchanged": 0, "missing": 0, "missing_compulsory": 0}
    lists: dict[str, list] = {"new": [], "changed": [], "missing": []}

    def keep(kind: str, entry: dict) -> None:
        counts[kind] += 1
        if len(lists[kind]) < PREVIEW_LIMIT:
            lists[kind].append(entry)

    for (
        row,
        student,
        number,
        name,
        school_id,
        school,
        stage,
        grade,
        was_school_id,
        was_school,
        was_stage,
        was_grade,
        was_status,
        covers,
    ) in _register_view(cursor):
        entry = {
            "row": row,
            "id": id_numbers.mask(number),
            "name": name,
            "to": f"{school} {_stage_grade(stage, grade)}",
        }
        if student is None:
            keep("new", entry)
            continue
        what = []
        if was_status is None:
            what.append("unknown")
        elif not covers:
            # Off the register on that date (on no roll since an earlier year's): back on the roll. Its school
            # and grade then are no change of this year's, so only "returned" is said.
            what.append("returned")
            was_status = Student.Status.OFF_ROLL
        else:
            if was_status != Student.Status.ENROLLED:
                what.append("returned")
            if was_school_id != school_id:
                what.append("school")
            if (was_stage, was_grade) != (stage, grade):
                what.append("stage" if was_stage != stage else "grade")
        if not what:
            counts["unchanged"] += 1
            continue
        status = Student.Status(was_status).label if was_status else ""
        was = f"{was_school} {_stage_grade(was_stage, was_grade)}" if was_school else "—"
        keep("changed", {**entry, "student": student, "what": what, "from": f"{was} {status}".strip()})
    if job.kind == ImportJob.Kind.FULL_ROLL:
        for student, number, name, school, stage, grade, compulsory in _missing(cursor, job.roll_date):
            counts["missing_compulsory"] += 1 if compulsory else 0
            keep(
                "missing",
                {
                    "student": student,
                    "id": id_numbers.mask(number),
                    "name": name,
                    "school": school,
                    "grade": _stage_grade(stage, grade),
                    "compulsory": compulsory,
                },
            )
    return {"counts": counts, **lists}


def _load(job: ImportJob, cursor):
    """Read and check the file; returns the Validation, or None with the job refused."""
    with job.file.open("rb") as handle:
        rows = read_rows(handle)
    job.total_rows = max(0, len(rows) - 1)
    return check(rows, job, cursor)


def _refuse_rows(job: ImportJob, validation: importing.Validation) -> None:
    job.errors = [
        {
            "row": r.row,
            "id": id_numbers.mask(r.values.get("id_number")),
            "name": r.values.get("name", ""),
            "errors": r.errors,
        }
        for r in validation.bad_rows
    ]
    job.status = ImportJob.Status.REJECTED
    job.message = _(
        "%(bad)s of %(total)s rows are wrong; nothing was imported. Correct them and upload again."
    ) % {"bad": len(validation.bad_rows), "total": validation.total}


def _end(job: ImportJob, started: float, *, keep_file: bool = False) -> ImportJob:
    job.processed_rows = job.total_rows
    job.seconds = round(time.monotonic() - started, 3)
    if not keep_file:
        # The upload holds whole ID numbers: it goes when the import ends (SECURITY.md, retention of uploads).
        job.finished_at = timezone.now()
        job.file.delete(save=False)
    job.save()
    return job


def _drop(cursor) -> None:
    staging.drop(cursor)
    cursor.execute(f"DROP TABLE IF EXISTS {ROLL_TABLE}")


def preview(job: ImportJob) -> ImportJob:
    """Check the roll and store what applying it would do; the file is kept for `apply`."""
    started = time.monotonic()
    with connection.cursor() as cursor:
        try:
            job.status = ImportJob.Status.VALIDATING
            job.save(update_fields=["status"])
            validation = _load(job, cursor)
            if validation.bad_rows:
                _refuse_rows(job, validation)
                return _end(job, started)
            job.duplicates = validation.duplicates
            job.preview = preview_of(cursor, job)
        except (ImportRefused, ValueError) as exc:
            job.status, job.message = ImportJob.Status.REJECTED, str(exc)
            return _end(job, started)
        except DatabaseError as exc:
            job.status = ImportJob.Status.FAILED
            job.message = _("The import failed: %(error)s") % {"error": exc}
            return _end(job, started)
        finally:
            _drop(cursor)
    counts = job.preview["counts"]
    job.status = ImportJob.Status.PREVIEW
    job.message = (
        _(
            "Checked, nothing written yet: %(new)s new, %(changed)s changed, %(unchanged)s unchanged, %(missing)s "
            "missing from the roll. Apply the roll to write it."
        )
        % counts
    )
    return _end(job, started, keep_file=True)


def apply(job: ImportJob, *, today: date | None = None) -> ImportJob:
    """Check the roll again against the register as it is now and, if every row is right, write it."""
    started = time.monotonic()
    user = job.uploaded_by
    with connection.cursor() as cursor:
        try:
            validation = _load(job, cursor)
            if validation.bad_rows:
                _refuse_rows(job, validation)
                return _end(job, started)
            job.preview = preview_of(cursor, job)
            with transaction.atomic(), pghistory.context(user=user.pk, import_job=job.pk):
                staging.use_memory_for_sorts(cursor)
                if job.kind == ImportJob.Kind.FULL_ROLL:
                    outcome = _write_full(cursor, job)
                else:
                    outcome = _write_past(cursor, job)
        except (ImportRefused, ValueError) as exc:
            job.status, job.message = ImportJob.Status.REJECTED, str(exc)
            return _end(job, started)
        except DatabaseError as exc:
            job.status = ImportJob.Status.FAILED
            job.message = _("The import failed: %(error)s") % {"error": exc}
            return _end(job, started)
        finally:
            _drop(cursor)
    counts = job.preview["counts"]
    job.results = outcome
    job.created_count = counts["new"]
    job.updated_count = counts["changed"]
    job.unchanged_count = counts["unchanged"]
    job.status = ImportJob.Status.DONE
    job.message = _(
        "The roll of %(year)s was applied: %(new)s added, %(changed)s changed, %(unchanged)s unchanged, "
        "%(missing)s missing from the roll to resolve."
    ) % {**counts, "year": year_label(job.school_year)}
    return _end(job, started)


def _outcome(created: list[tuple[int, int]], known: list[tuple[int, int]], changed: set[int]) -> list[dict]:
    outcome = [{"row": row, "student": pk, "action": "created"} for row, pk in created]
    outcome += [
        {"row": row, "student": pk, "action": "updated" if row in changed else "unchanged"}
        for row, pk in known
    ]
    return sorted(outcome, key=lambda o: o["row"])


def _changed_rows(job: ImportJob) -> set[int]:
    return {entry["row"] for entry in job.preview.get("changed", [])}


def _write_full(cursor, job: ImportJob) -> list[dict]:
    on = job.roll_date
    source = f"roll {job.school_year}"
    # The children missing first, from the register as it stood on the roll's date.
    cursor.execute(
        f"""
        INSERT INTO students_missingfromroll (student_id, import_job_id, school_year, roll_date, school_id, stage,
            grade, is_compulsory, status, reason, note, created_at)
        SELECT e.student_id, %(job)s, %(year)s, %(on)s, e.school_id, e.stage, e.grade, {_COMPULSORY},
               'pending', '', '', now()
        FROM students_enrollment e JOIN students_student st ON st.id = e.student_id
        WHERE e.valid_from <= %(on)s AND (e.valid_to IS NULL OR e.valid_to >= %(on)s) AND e.status = 'enrolled'
          AND NOT EXISTS (SELECT 1 FROM {staging.TABLE} s WHERE s.student_id = st.id)
          AND NOT EXISTS (
              SELECT 1 FROM students_missingfromroll m WHERE m.student_id = e.student_id AND m.status = 'pending'
          )
        ORDER BY e.student_id
        """,
        {"job": job.pk, "year": job.school_year, "on": on},
    )
    # A child an earlier roll missed and this one lists is accounted for.
    cursor.execute(
        f"""
        UPDATE students_missingfromroll m
        SET status = 'resolved', reason = %s, resolved_on = %s, note = %s
        FROM {staging.TABLE} s
        WHERE m.student_id = s.student_id AND m.status = 'pending'
        """,
        [MissingFromRoll.Reason.ON_LATER_ROLL, on, job.filename[:300]],
    )
    with register.effective(on, source=source):
        known = staging.match_students(cursor)
        if known:
            staging.record_transfers(cursor, on=on, by_id=job.uploaded_by_id, reason=source)
            # A child the register had left (dropped out, suspended ...) is on the roll again.
            cursor.execute(
                f"""
                UPDATE students_student st SET status = %s, updated_at = now()
                FROM {staging.TABLE} s WHERE st.id = s.student_id AND st.status <> %s
                """,
                [Student.Status.ENROLLED, Student.Status.ENROLLED],
            )
            staging.update_students(cursor)
            staging.open_categories(cursor, on=on, source=source)
        created = staging.create_students(
            cursor, enrolled_on=on, status=Student.Status.ENROLLED, source=source
        )
    return _outcome(created, known, _changed_rows(job))


def _write_past(cursor, job: ImportJob) -> list[dict]:
    source = f"roll {job.school_year}"
    joined = f"{staging.TABLE} s JOIN {ROLL_TABLE} r ON r.row_no = s.row_no"
    with register.unsynced():
        known = staging.match_students(cursor)
        # Children unknown so far, as the row shows them (their latest known state), from the row's first day:
        # not on the roll of the running year (no spell covers today) until a later roll or the roll-over
        # puts them on it.
        cursor.execute(
            f"""
            WITH created AS (
                INSERT INTO students_student (
                    id_number, national_student_number, name, sex, birth_date, school_id, stage, grade,
                    household_county_code, is_boarding, home_township_id, village, guardian_name, guardian_phone, status, enrolled_on,
                    created_at, updated_at
                )
                SELECT s.id_number, COALESCE(s.national_student_number, ''), s.name, s.sex, s.birth_date, sc.id,
                       s.stage, s.grade, s.household_county_code, COALESCE(s.is_boarding, false), s.home_township_id,
                       COALESCE(s.village, ''), COALESCE(s.guardian_name, ''), COALESCE(s.guardian_phone, ''),
                       %s, r.start_on, now(), now()
                FROM {joined} JOIN students_school sc ON sc.code = s.school_code
                WHERE s.student_id IS NULL
                ORDER BY s.row_no
                RETURNING id, id_number
            )
            SELECT s.row_no, created.id FROM created JOIN {staging.TABLE} s ON s.id_number = created.id_number
            """,
            [Student.Status.OFF_ROLL],
        )
        created = cursor.fetchall()
        staging.match_students(cursor)
        # Carve the year out of what the register said: a spell across the whole year is split in two, one
        # reaching into it is cut at its edge, one inside it goes.
        cursor.execute(f"DROP TABLE IF EXISTS {TAILS_TABLE}")
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE {TAILS_TABLE} ON COMMIT DROP AS
            SELECT e.student_id, e.school_id, e.stage, e.grade, e.is_boarding, e.is_agricultural_major, e.status,
                   r.end_on + 1 AS valid_from, e.valid_to, e.source, e.rollover_id, e.recorded_at
            FROM students_enrollment e JOIN {joined} ON s.student_id = e.student_id
            WHERE e.valid_from < r.start_on AND (e.valid_to IS NULL OR e.valid_to > r.end_on)
            """
        )
        cursor.execute(
            f"""
            DELETE FROM students_enrollment e USING {joined}
            WHERE s.student_id = e.student_id AND e.valid_from >= r.start_on AND e.valid_to <= r.end_on
            """
        )
        cursor.execute(
            f"""
            UPDATE students_enrollment e SET valid_to = r.start_on - 1 FROM {joined}
            WHERE s.student_id = e.student_id AND e.valid_from < r.start_on
              AND (e.valid_to IS NULL OR e.valid_to >= r.start_on)
            """
        )
        cursor.execute(
            f"""
            UPDATE students_enrollment e SET valid_from = r.end_on + 1 FROM {joined}
            WHERE s.student_id = e.student_id AND e.valid_from >= r.start_on AND e.valid_from <= r.end_on
              AND (e.valid_to IS NULL OR e.valid_to > r.end_on)
            """
        )
        cursor.execute(
            f"""
            INSERT INTO students_enrollment (student_id, school_id, stage, grade, is_boarding, is_agricultural_major,
                status, valid_from, valid_to, source, rollover_id, recorded_at)
            SELECT student_id, school_id, stage, grade, is_boarding, is_agricultural_major, status, valid_from,
                   valid_to, source, rollover_id, recorded_at
            FROM {TAILS_TABLE}
            """
        )
        cursor.execute(
            f"""
            INSERT INTO students_enrollment (student_id, school_id, stage, grade, is_boarding, is_agricultural_major,
                status, valid_from, valid_to, source, recorded_at)
            SELECT s.student_id, sc.id, s.stage, s.grade, COALESCE(s.is_boarding, st.is_boarding),
                   st.is_agricultural_major AND s.stage = 'vocational', %s, r.start_on, r.end_on, %s, now()
            FROM {joined} JOIN students_school sc ON sc.code = s.school_code
            JOIN students_student st ON st.id = s.student_id
            ORDER BY s.student_id
            """,
            [Student.Status.ENROLLED, source],
        )
        # The year's categories, where the child had none of that kind in it.
        cursor.execute(
            f"""
            INSERT INTO students_studentcategory (student_id, category, valid_from, valid_to, source)
            SELECT s.student_id, c.category, r.start_on, r.end_on, %s
            FROM {joined} CROSS JOIN LATERAL unnest(s.categories) AS c(category)
            WHERE s.categories IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM students_studentcategory cur
                WHERE cur.student_id = s.student_id AND cur.category = c.category
                  AND cur.valid_from <= r.end_on AND (cur.valid_to IS NULL OR cur.valid_to >= r.start_on)
            )
            ORDER BY s.student_id, c.category
            """,
            [source],
        )
        # A known child whose latest spell is now this year's: the Student row is that state, off the roll of the
        # running year (the year has ended, and no later spell puts the child on a later register).
        cursor.execute(
            f"""
            UPDATE students_student st
            SET school_id = sc.id, stage = s.stage, grade = s.grade,
                is_boarding = COALESCE(s.is_boarding, st.is_boarding), status = %s,
                is_agricultural_major = st.is_agricultural_major AND s.stage = 'vocational',
                major = CASE WHEN s.stage = 'vocational' THEN st.major ELSE '' END, updated_at = now()
            FROM {joined} JOIN students_school sc ON sc.code = s.school_code
            WHERE st.id = s.student_id
              AND NOT EXISTS (SELECT 1 FROM students_enrollment e WHERE e.student_id = st.id AND e.valid_from > r.end_on)
              AND (st.school_id, st.stage, st.grade, st.status) IS DISTINCT FROM (sc.id, s.stage, s.grade, %s)
            """,
            [Student.Status.OFF_ROLL, Student.Status.OFF_ROLL],
        )
    return _outcome(created, known, _changed_rows(job))
