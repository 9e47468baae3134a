"""The student import's staging table and its set-based SQL (`students.importing` decides, this runs it).

The checked rows of a file are COPY'd into a temporary table of the importing connection; the checks that
need the other rows or the register (duplicates in the file, school codes, a child already at a school the
importer may not write) are one SELECT against it, and the write is a few INSERT ... SELECT / UPDATE ... FROM
statements in one transaction. The change history's statement-level triggers fire on those statements, with
the import job as the history context (pghistory prepends it to every INSERT and UPDATE sent through
Django's cursor; the COPY into the temporary table is not tracked and needs none).

A NULL in the staging table means "not given": an empty cell, or a value the row check refused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date

TABLE = "pg_temp.student_import_rows"
# (column, type), in the order of the tuples `copy_rows` is given.
COLUMNS = (
    ("row_no", "integer NOT NULL"),
    ("id_number", "text"),
    ("name", "text"),
    ("sex", "text"),
    ("birth_date", "date"),
    ("school_code", "text"),
    ("stage", "text"),
    ("grade", "smallint"),
    ("household_county_code", "text"),
    ("is_boarding", "boolean"),
    ("categories", "text[]"),
    ("home_township_id", "integer"),
    ("village", "text"),
    ("guardian_name", "text"),
    ("guardian_phone", "text"),
    # The row passed every check made in Python (the SQL checks come after the COPY).
    ("ok", "boolean NOT NULL"),
)


def create(cursor) -> None:
    drop(cursor)
    cursor.execute(f"CREATE TEMPORARY TABLE {TABLE} ({', '.join(f'{c} {t}' for c, t in COLUMNS)})")


def drop(cursor) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def copy_rows(cursor, rows: Iterable[tuple]) -> None:
    """COPY rows (tuples in COLUMNS' order; None for NULL) into the staging table, as CSV.

    CSV reads an unquoted empty field as NULL: an empty string is never sent (the row check gives None).
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    cursor.copy_expert(
        f"COPY {TABLE} ({', '.join(c for c, _t in COLUMNS)}) FROM STDIN WITH (FORMAT csv)", buffer
    )


def analyze(cursor) -> None:
    # Autovacuum never analyzes a temporary table: without statistics the planner would guess its size.
    cursor.execute(f"ANALYZE {TABLE}")


def problems(cursor, *, writable_school_ids: list[int], allowed_stages: list[str]) -> list[tuple]:
    """The rows that break a rule needing the other rows or the register, one tuple each, by row:

    (row, first row with the same ID number or None, school code unknown, school not writable by the
    importer, school name, school type, stage not taught at the school, ID number already at a school the
    importer may not write). `allowed_stages` holds "school_type:stage" pairs.
    """
    cursor.execute(
        f"""
        WITH firsts AS (
            SELECT row_no, min(row_no) OVER (PARTITION BY id_number) AS first_row
            FROM {TABLE} WHERE id_number IS NOT NULL
        ), checked AS (
            SELECT s.row_no,
                   NULLIF(f.first_row, s.row_no) AS first_row,
                   sc.id IS NULL AS unknown_school,
                   sc.id IS NOT NULL AND sc.id NOT IN (SELECT unnest(%s::integer[])) AS school_not_writable,
                   sc.name AS school_name,
                   sc.school_type,
                   sc.id IS NOT NULL AND s.stage IS NOT NULL
                       AND sc.school_type || ':' || s.stage <> ALL(%s::text[]) AS wrong_stage,
                   st.id IS NOT NULL
                       AND st.school_id NOT IN (SELECT unnest(%s::integer[])) AS taken_elsewhere
            FROM {TABLE} s
            LEFT JOIN firsts f ON f.row_no = s.row_no
            LEFT JOIN students_school sc ON sc.code = s.school_code
            LEFT JOIN students_student st ON st.id_number = s.id_number
        )
        SELECT * FROM checked
        WHERE first_row IS NOT NULL OR unknown_school OR school_not_writable OR wrong_stage OR taken_elsewhere
        ORDER BY row_no
        """,
        [writable_school_ids, allowed_stages, writable_school_ids],
    )
    return cursor.fetchall()


def same_name_and_birth(cursor, *, bad_rows: list[int], visible: tuple[str, list] | None) -> list[tuple]:
    """Keys (name, birth date) of the clean rows that another clean row of the file, or a student the
    importer may see with another ID number, shares: (name, birth date, rows, students or None), by first row.

    `visible`: the SQL and parameters of the ids of the students the importer may see (None: none).
    """
    visible_sql, visible_params = visible or ("SELECT NULL::integer WHERE false", [])
    cursor.execute(
        f"""
        WITH keys AS (
            SELECT name, birth_date, array_agg(row_no ORDER BY row_no) AS rows, array_agg(id_number) AS numbers
            FROM {TABLE}
            WHERE ok AND birth_date IS NOT NULL AND row_no NOT IN (SELECT unnest(%s::integer[]))
            GROUP BY name, birth_date
        ), known AS (
            SELECT k.name, k.birth_date,
                   array_agg(st.id ORDER BY st.school_id, st.stage, st.grade, st.name, st.id) AS students
            FROM keys k
            JOIN students_student st ON st.name = k.name AND st.birth_date = k.birth_date
            WHERE st.id_number <> ALL(k.numbers) AND st.id IN ({visible_sql})
            GROUP BY k.name, k.birth_date
        )
        SELECT k.name, k.birth_date, k.rows, known.students
        FROM keys k LEFT JOIN known ON known.name = k.name AND known.birth_date = k.birth_date
        WHERE cardinality(k.rows) > 1 OR known.students IS NOT NULL
        ORDER BY k.rows[1]
        """,
        [bad_rows, *visible_params],
    )
    return cursor.fetchall()


def existing(cursor) -> list[tuple[int, int]]:
    """(row, student id) of the rows whose ID number the register already holds."""
    cursor.execute(
        f"""SELECT s.row_no, st.id FROM {TABLE} s JOIN students_student st ON st.id_number = s.id_number
            ORDER BY s.row_no"""
    )
    return cursor.fetchall()


def record_transfers(cursor, *, on: date, by_id: int | None, reason: str) -> None:
    """A transfer for every known student the file puts at another school (before the move is written)."""
    cursor.execute(
        f"""
        INSERT INTO students_transfer (student_id, from_school_id, to_school_id, "on", reason, by_id, created_at)
        SELECT st.id, st.school_id, sc.id, %s, %s, %s, now()
        FROM {TABLE} s
        JOIN students_student st ON st.id_number = s.id_number
        JOIN students_school sc ON sc.code = s.school_code
        WHERE st.school_id <> sc.id
        ORDER BY s.row_no
        """,
        [on, reason, by_id],
    )


# A blank optional cell never erases what the register holds (COALESCE with the current value).
_NEW_VALUES = """s.name, s.stage, s.grade, s.household_county_code, COALESCE(s.is_boarding, st.is_boarding),
    COALESCE(s.home_township_id, st.home_township_id), COALESCE(s.village, st.village),
    COALESCE(s.guardian_name, st.guardian_name), COALESCE(s.guardian_phone, st.guardian_phone), sc.id"""


def update_students(cursor) -> list[int]:
    """Write the file's values over the known students whose values differ; returns their rows."""
    cursor.execute(
        f"""
        UPDATE students_student st
        SET (name, stage, grade, household_county_code, is_boarding, home_township_id, village, guardian_name,
             guardian_phone, school_id) = ({_NEW_VALUES}),
            updated_at = now()
        FROM {TABLE} s JOIN students_school sc ON sc.code = s.school_code
        WHERE st.id_number = s.id_number
          AND (st.name, st.stage, st.grade, st.household_county_code, st.is_boarding, st.home_township_id,
               st.village, st.guardian_name, st.guardian_phone, st.school_id) IS DISTINCT FROM ({_NEW_VALUES})
        RETURNING s.row_no
        """,
        [],
    )
    return [row for (row,) in cursor.fetchall()]


def create_students(cursor, *, enrolled_on: date, status: str) -> list[tuple[int, int]]:
    """Insert the rows whose ID number the register does not hold; returns (row, new student id) by row."""
    cursor.execute(
        f"""
        WITH created AS (
            INSERT INTO students_student (
                id_number, name, sex, birth_date, school_id, stage, grade, household_county_code, is_boarding,
                home_township_id, village, guardian_name, guardian_phone, status, enrolled_on, created_at,
                updated_at
            )
            SELECT s.id_number, s.name, s.sex, s.birth_date, sc.id, s.stage, s.grade, s.household_county_code,
                   COALESCE(s.is_boarding, false), s.home_township_id, COALESCE(s.village, ''),
                   COALESCE(s.guardian_name, ''), COALESCE(s.guardian_phone, ''), %s, %s, now(), now()
            FROM {TABLE} s JOIN students_school sc ON sc.code = s.school_code
            WHERE NOT EXISTS (SELECT 1 FROM students_student st WHERE st.id_number = s.id_number)
            ORDER BY s.row_no
            RETURNING id, id_number
        )
        SELECT s.row_no, created.id FROM created JOIN {TABLE} s ON s.id_number = created.id_number ORDER BY s.row_no
        """,
        [status, enrolled_on],
    )
    return cursor.fetchall()


def open_categories(cursor, *, on: date, source: str) -> None:
    """Open each listed category that is not already current for the student; never close one."""
    cursor.execute(
        f"""
        INSERT INTO students_studentcategory (student_id, category, valid_from, valid_to, source)
        SELECT st.id, c.category, %s, NULL, %s
        FROM {TABLE} s
        JOIN students_student st ON st.id_number = s.id_number
        CROSS JOIN LATERAL unnest(s.categories) AS c(category)
        WHERE s.categories IS NOT NULL
          AND NOT EXISTS (
              SELECT 1 FROM students_studentcategory cur
              WHERE cur.student_id = st.id AND cur.category = c.category
                AND cur.valid_from <= %s AND (cur.valid_to IS NULL OR cur.valid_to >= %s)
          )
        ORDER BY st.id, c.category
        """,
        [on, source, on, on],
    )
