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
    ("national_student_number", "text"),
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
# Filled by `match_students`: the student the row names (by national student number first, then by ID
# number), and their school.
MATCH_COLUMNS = (("student_id", "integer"), ("current_school_id", "integer"))


def create(cursor) -> None:
    drop(cursor)
    columns = ", ".join(f"{c} {t}" for c, t in COLUMNS + MATCH_COLUMNS)
    cursor.execute(f"CREATE TEMPORARY TABLE {TABLE} ({columns})")


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


def use_memory_for_sorts(cursor) -> None:
    """Sorts and hashes over 150,000 rows in memory rather than in files, for this transaction only."""
    cursor.execute("SET LOCAL work_mem = '64MB'")


# The student each row names: by its national student number first, then by its ID number. The number's
# partial unique index serves the first join only when the query repeats its condition (<> '').
_MATCHED = f"""
    SELECT s.row_no, COALESCE(bn.id, bi.id) AS student_id, COALESCE(bn.school_id, bi.school_id) AS school_id,
           bn.id IS NOT NULL AND bi.id IS NOT NULL AND bn.id <> bi.id AS two_students
    FROM {TABLE} s
    LEFT JOIN students_student bn
           ON bn.national_student_number = s.national_student_number AND bn.national_student_number <> ''
    LEFT JOIN students_student bi ON bi.id_number = s.id_number
"""


def problems(cursor, *, writable_school_ids: list[int] | None, allowed_stages: list[str]) -> list[tuple]:
    """The rows that break a rule needing the other rows or the register, one tuple each, by row:

    (row, first row with the same ID number or None, school code unknown, school not writable by the
    importer, school name, school type, stage not taught at the school, student named already at a school the
    importer may not write, first row with the same national student number or None, first row naming the
    same student or None, national student number and ID number naming two different students, a G number
    holding another student's ID number).
    `writable_school_ids`: None when the importer may write every school (then neither of those two rules
    can be broken). `allowed_stages` holds "school_type:stage" pairs.
    """
    if writable_school_ids is None:
        writable = "false AS school_not_writable"
        taken = "false AS taken_elsewhere"
    else:
        writable = "sc.id IS NOT NULL AND sc.id NOT IN (SELECT unnest(%(writable)s::integer[])) AS school_not_writable"
        taken = "m.student_id IS NOT NULL AND m.school_id NOT IN (SELECT unnest(%(writable)s::integer[])) AS taken_elsewhere"
    cursor.execute(
        f"""
        WITH repeated AS (
            SELECT id_number, min(row_no) AS first_row FROM {TABLE}
            WHERE id_number IS NOT NULL GROUP BY id_number HAVING count(*) > 1
        ), matched AS MATERIALIZED ({_MATCHED}
        ), repeated_number AS (
            SELECT national_student_number, min(row_no) AS first_row FROM {TABLE}
            WHERE national_student_number IS NOT NULL GROUP BY national_student_number HAVING count(*) > 1
        ), repeated_student AS (
            SELECT student_id, min(row_no) AS first_row FROM matched
            WHERE student_id IS NOT NULL GROUP BY student_id HAVING count(*) > 1
        ), checked AS (
            SELECT s.row_no,
                   NULLIF(r.first_row, s.row_no) AS first_row,
                   sc.id IS NULL AS unknown_school,
                   {writable},
                   sc.name AS school_name,
                   sc.school_type,
                   sc.id IS NOT NULL AND s.stage IS NOT NULL
                       AND sc.school_type || ':' || s.stage <> ALL(%(allowed)s::text[]) AS wrong_stage,
                   {taken},
                   NULLIF(rn.first_row, s.row_no) AS first_number_row,
                   NULLIF(rs.first_row, s.row_no) AS first_student_row,
                   m.two_students,
                   g.id IS NOT NULL AS g_of_another
            FROM {TABLE} s
            JOIN matched m ON m.row_no = s.row_no
            LEFT JOIN students_student g
                   ON s.national_student_number LIKE 'G%%'
                  AND g.id_number = substr(s.national_student_number, 2)
                  AND g.id_number <> s.id_number
                  AND g.id IS DISTINCT FROM m.student_id
            LEFT JOIN repeated r ON r.id_number = s.id_number
            LEFT JOIN repeated_number rn ON rn.national_student_number = s.national_student_number
            LEFT JOIN repeated_student rs ON rs.student_id = m.student_id
            LEFT JOIN students_school sc ON sc.code = s.school_code
        )
        SELECT * FROM checked
        WHERE first_row IS NOT NULL OR unknown_school OR school_not_writable OR wrong_stage OR taken_elsewhere
           OR first_number_row IS NOT NULL OR first_student_row IS NOT NULL OR two_students OR g_of_another
        ORDER BY row_no
        """,
        {"writable": writable_school_ids, "allowed": allowed_stages},
    )
    return cursor.fetchall()


def same_name_and_birth(cursor, *, bad_rows: list[int], visible: tuple[str, list] | None) -> list[tuple]:
    """Keys (name, birth date) of the clean rows that another clean row of the file, or a student the
    importer may see with another ID number, shares: (name, birth date, rows, students or None), by first row.

    `visible`: the SQL and parameters of the ids of the students the importer may see; None: every student.
    """
    visible_sql, visible_params = visible or (None, [])
    # Arrays are built only for the keys reported: an aggregate per key of 150,000 rows costs a second.
    cursor.execute(
        f"""
        WITH clean AS MATERIALIZED (
            SELECT row_no, name, birth_date, id_number FROM {TABLE}
            WHERE ok AND birth_date IS NOT NULL AND row_no NOT IN (SELECT unnest(%s::integer[]))
        ), known AS (
            SELECT st.name, st.birth_date,
                   array_agg(st.id ORDER BY st.school_id, st.stage, st.grade, st.name, st.id) AS students
            FROM students_student st
            WHERE (st.name, st.birth_date) IN (SELECT name, birth_date FROM clean)
              AND NOT EXISTS (
                  SELECT 1 FROM clean c
                  WHERE c.id_number = st.id_number AND c.name = st.name AND c.birth_date = st.birth_date
              )
              {f"AND st.id IN ({visible_sql})" if visible_sql else ""}
            GROUP BY st.name, st.birth_date
        ), wanted AS (
            SELECT name, birth_date FROM clean GROUP BY name, birth_date HAVING count(*) > 1
            UNION SELECT name, birth_date FROM known
        )
        SELECT c.name, c.birth_date, array_agg(c.row_no ORDER BY c.row_no), min(known.students)
        FROM clean c
        JOIN wanted w ON w.name = c.name AND w.birth_date = c.birth_date
        LEFT JOIN known ON known.name = c.name AND known.birth_date = c.birth_date
        GROUP BY c.name, c.birth_date
        ORDER BY min(c.row_no)
        """,
        [bad_rows, *visible_params],
    )
    return cursor.fetchall()


def match_students(cursor) -> list[tuple[int, int]]:
    """Note in each row the student it names (by national student number first, then by ID number) and their
    school; returns (row, student id) of those rows, by row. Run again after students were created."""
    cursor.execute(
        f"""
        UPDATE {TABLE} s SET student_id = m.student_id, current_school_id = m.school_id
        FROM ({_MATCHED}) m
        WHERE m.row_no = s.row_no
        """,
        [],
    )
    cursor.execute(f"SELECT row_no, student_id FROM {TABLE} WHERE student_id IS NOT NULL ORDER BY row_no")
    return cursor.fetchall()


# The register's values a row would overwrite, and the file's, as text in the same order (every column
# `update_students` writes; a blank optional cell keeps the register's value, so it is no change).
_OLD_TEXT = """ARRAY[st.name, st.stage, st.grade::text, st.household_county_code, st.is_boarding::text,
    st.home_township_id::text, st.village, st.guardian_name, st.guardian_phone, st.school_id::text,
    st.id_number, st.sex, st.birth_date::text, st.national_student_number]::text[]"""
_NEW_TEXT = """ARRAY[s.name, s.stage, s.grade::text, s.household_county_code, COALESCE(s.is_boarding, st.is_boarding)::text,
    COALESCE(s.home_township_id, st.home_township_id)::text, COALESCE(s.village, st.village),
    COALESCE(s.guardian_name, st.guardian_name), COALESCE(s.guardian_phone, st.guardian_phone), sc.id::text,
    s.id_number, s.sex, s.birth_date::text, COALESCE(s.national_student_number, st.national_student_number)]::text[]"""
CHANGE_FIELDS = (
    "name",
    "stage",
    "grade",
    "household_county_code",
    "is_boarding",
    "home_township_id",
    "village",
    "guardian_name",
    "guardian_phone",
    "school_id",
    # A row matched by its national student number may correct the child's ID number (and so the sex and
    # birth date), or bring a national student number: `update_students` writes those too.
    "id_number",
    "sex",
    "birth_date",
    "national_student_number",
)
# The categories current for a known student on %(on)s (sorted, so that two reads of the same state are equal).
_CURRENT_CATEGORIES = """ARRAY(
    SELECT DISTINCT cur.category::text FROM students_studentcategory cur
    WHERE cur.student_id = s.student_id AND cur.valid_from <= %(on)s AND (cur.valid_to IS NULL OR cur.valid_to >= %(on)s)
    ORDER BY 1)"""


def changes(cursor, *, on: date) -> list[tuple]:
    """The known students (`match_students` first) whose row would change them: a value of theirs, or a
    category the row opens. One tuple each, by row: (row, student id, ID number, old values, new values,
    current categories, categories added); the values as text in CHANGE_FIELDS' order."""
    cursor.execute(
        f"""
        WITH known AS (
            SELECT s.row_no, s.student_id, s.id_number, {_OLD_TEXT} AS old, {_NEW_TEXT} AS new,
                   {_CURRENT_CATEGORIES} AS current_categories,
                   ARRAY(SELECT DISTINCT c FROM unnest(s.categories) AS c ORDER BY c) AS listed
            FROM {TABLE} s
            JOIN students_student st ON st.id = s.student_id
            JOIN students_school sc ON sc.code = s.school_code
        )
        SELECT row_no, student_id, id_number, old, new, current_categories,
               ARRAY(SELECT c FROM unnest(listed) AS c WHERE c <> ALL(current_categories) ORDER BY c)
        FROM known
        WHERE old IS DISTINCT FROM new OR NOT listed <@ current_categories
        ORDER BY row_no
        """,
        {"on": on},
    )
    return cursor.fetchall()


def fingerprint(cursor, *, on: date) -> str:
    """A digest of what the register holds now for every student the file names (and which rows name none):
    equal at the preview and at the confirmation only if none of them changed in between."""
    cursor.execute(
        f"""
        SELECT md5(coalesce(string_agg(
            concat_ws('|', s.row_no, st.id, {_OLD_TEXT}::text, {_CURRENT_CATEGORIES}::text), E'\\n'
            ORDER BY s.row_no), ''))
        FROM {TABLE} s LEFT JOIN students_student st ON st.id = s.student_id
        """,
        {"on": on},
    )
    return cursor.fetchone()[0]


def record_transfers(cursor, *, on: date, by_id: int | None, reason: str) -> None:
    """A transfer for every known student the file puts at another school (before the move is written)."""
    cursor.execute(
        f"""
        INSERT INTO students_transfer (student_id, from_school_id, to_school_id, "on", reason, by_id, created_at)
        SELECT s.student_id, s.current_school_id, sc.id, %s, %s, %s, now()
        FROM {TABLE} s JOIN students_school sc ON sc.code = s.school_code
        WHERE s.student_id IS NOT NULL AND s.current_school_id <> sc.id
        ORDER BY s.row_no
        """,
        [on, reason, by_id],
    )


# A blank optional cell never erases what the register holds (COALESCE with the current value). A row matched
# by its national student number brings the child's ID number (corrected), and so the sex and birth date.
_NEW_VALUES = """s.id_number, s.sex, s.birth_date, COALESCE(s.national_student_number, st.national_student_number),
    s.name, s.stage, s.grade, s.household_county_code, COALESCE(s.is_boarding, st.is_boarding),
    COALESCE(s.home_township_id, st.home_township_id), COALESCE(s.village, st.village),
    COALESCE(s.guardian_name, st.guardian_name), COALESCE(s.guardian_phone, st.guardian_phone), sc.id"""


def update_students(cursor) -> list[int]:
    """Write the file's values over the known students whose values differ; returns their rows."""
    cursor.execute(
        f"""
        UPDATE students_student st
        SET (id_number, sex, birth_date, national_student_number, name, stage, grade, household_county_code,
             is_boarding, home_township_id, village, guardian_name, guardian_phone, school_id) = ({_NEW_VALUES}),
            updated_at = now()
        FROM {TABLE} s JOIN students_school sc ON sc.code = s.school_code
        WHERE st.id = s.student_id
          AND (st.id_number, st.sex, st.birth_date, st.national_student_number, st.name, st.stage, st.grade,
               st.household_county_code, st.is_boarding, st.home_township_id, st.village, st.guardian_name,
               st.guardian_phone, st.school_id) IS DISTINCT FROM ({_NEW_VALUES})
        RETURNING s.row_no
        """,
        [],
    )
    return [row for (row,) in cursor.fetchall()]


def open_categories(cursor, *, on: date, source: str) -> None:
    """Open each category a known student's row lists that is not already current for them; never close one."""
    cursor.execute(
        f"""
        INSERT INTO students_studentcategory (student_id, category, valid_from, valid_to, source)
        SELECT s.student_id, c.category, %s, NULL, %s
        FROM {TABLE} s CROSS JOIN LATERAL unnest(s.categories) AS c(category)
        WHERE s.student_id IS NOT NULL AND s.categories IS NOT NULL
          AND NOT EXISTS (
              SELECT 1 FROM students_studentcategory cur
              WHERE cur.student_id = s.student_id AND cur.category = c.category
                AND cur.valid_from <= %s AND (cur.valid_to IS NULL OR cur.valid_to >= %s)
          )
        ORDER BY s.student_id, c.category
        """,
        [on, source, on, on],
    )


def create_students(cursor, *, enrolled_on: date, status: str, source: str) -> list[tuple[int, int]]:
    """Insert the rows that name no known student, with their categories (from `enrolled_on`, as `source`);
    returns (row, new student id)."""
    cursor.execute(
        f"""
        WITH created AS (
            INSERT INTO students_student (
                id_number, national_student_number, name, sex, birth_date, school_id, stage, grade, household_county_code, is_boarding,
                home_township_id, village, guardian_name, guardian_phone, status, enrolled_on, created_at,
                updated_at
            )
            SELECT s.id_number, COALESCE(s.national_student_number, ''), s.name, s.sex, s.birth_date, sc.id, s.stage, s.grade, s.household_county_code,
                   COALESCE(s.is_boarding, false), s.home_township_id, COALESCE(s.village, ''),
                   COALESCE(s.guardian_name, ''), COALESCE(s.guardian_phone, ''), %(status)s, %(on)s, now(), now()
            FROM {TABLE} s JOIN students_school sc ON sc.code = s.school_code
            WHERE s.student_id IS NULL
            RETURNING id, id_number
        ), numbered AS (
            SELECT s.row_no, created.id, s.categories
            FROM created JOIN {TABLE} s ON s.id_number = created.id_number
        ), categories AS (
            INSERT INTO students_studentcategory (student_id, category, valid_from, valid_to, source)
            SELECT n.id, c.category, %(on)s, NULL, %(source)s
            FROM numbered n CROSS JOIN LATERAL unnest(n.categories) AS c(category)
        )
        SELECT row_no, id FROM numbered
        """,
        {"status": status, "on": enrolled_on, "source": source},
    )
    return cursor.fetchall()
