"""Bulk import of students from the county's Excel template.

Every row is checked first; if any row is wrong, nothing is written and every bad row comes back with its
row number and a reason. A clean file is written in one transaction: new ID numbers are created, known ones
updated (a change of school is recorded as a transfer), so re-importing the same file changes nothing.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pghistory
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from portal.excel import cell_text, read_rows, safe_cell, write_sheet
from students import id_numbers, national_numbers, register
from students import import_staging as staging
from students.models import (
    STAGE_GRADES,
    County,
    ImportJob,
    School,
    Stage,
    Student,
    StudentCategory,
    Township,
)

# Template columns: (header, field, required). Headers are what the bureau's clerks already use.
COLUMNS = [
    ("身份证号", "id_number", True),
    ("姓名", "name", True),
    ("学校代码", "school", True),
    ("学段", "stage", True),
    ("年级", "grade", True),
    ("户籍地", "household_county_code", False),
    ("是否寄宿", "is_boarding", False),
    ("困难类型", "categories", False),
    ("居住乡镇", "home_township", False),
    ("村（社区）", "village", False),
    ("监护人", "guardian_name", False),
    ("监护人电话", "guardian_phone", False),
    # Last, so that files made before it still read the same.
    ("全国学籍号", "national_student_number", False),
]
STAGE_NAMES = {
    "学前": Stage.PRESCHOOL,
    "幼儿园": Stage.PRESCHOOL,
    "小学": Stage.PRIMARY,
    "初中": Stage.JUNIOR,
    "高中": Stage.SENIOR,
    "普通高中": Stage.SENIOR,
    "中职": Stage.VOCATIONAL,
    "特教": Stage.SPECIAL,
    "特殊教育": Stage.SPECIAL,
}
STAGE_LABEL = {
    Stage.PRESCHOOL: "学前",
    Stage.PRIMARY: "小学",
    Stage.JUNIOR: "初中",
    Stage.SENIOR: "高中",
    Stage.VOCATIONAL: "中职",
    Stage.SPECIAL: "特教",
}
CATEGORY_NAMES = {
    "脱贫户": StudentCategory.Category.POVERTY_ALLEVIATED,
    "建档立卡": StudentCategory.Category.POVERTY_ALLEVIATED,
    "脱贫不稳定户": StudentCategory.Category.UNSTABLE,
    "边缘易致贫户": StudentCategory.Category.MARGINAL,
    "突发严重困难户": StudentCategory.Category.SUDDEN_HARDSHIP,
    "低保": StudentCategory.Category.DIBAO,
    "城乡低保": StudentCategory.Category.DIBAO,
    "特困": StudentCategory.Category.EXTREME_HARDSHIP,
    "特困供养": StudentCategory.Category.EXTREME_HARDSHIP,
    "孤儿": StudentCategory.Category.ORPHAN,
    "残疾": StudentCategory.Category.DISABLED,
    "烈士子女": StudentCategory.Category.MARTYR_CHILD,
    "留守儿童": StudentCategory.Category.LEFT_BEHIND,
    "留守": StudentCategory.Category.LEFT_BEHIND,
    "困境儿童": StudentCategory.Category.IN_DIFFICULTY,
    "随迁子女": StudentCategory.Category.MIGRANT,
}
# The words the pages show (the categories' Chinese labels), so that a template and an export read like the
# UI; tests/students/test_words.py keeps them equal.
CATEGORY_LABEL = {
    StudentCategory.Category.POVERTY_ALLEVIATED: "脱贫户",
    StudentCategory.Category.UNSTABLE: "脱贫不稳定户",
    StudentCategory.Category.MARGINAL: "边缘易致贫户",
    StudentCategory.Category.SUDDEN_HARDSHIP: "突发严重困难户",
    StudentCategory.Category.DIBAO: "城乡低保",
    StudentCategory.Category.EXTREME_HARDSHIP: "特困供养",
    StudentCategory.Category.ORPHAN: "孤儿",
    StudentCategory.Category.DISABLED: "残疾",
    StudentCategory.Category.MARTYR_CHILD: "烈士子女",
    StudentCategory.Category.LEFT_BEHIND: "留守儿童",
    StudentCategory.Category.IN_DIFFICULTY: "困境儿童",
    StudentCategory.Category.MIGRANT: "随迁子女",
}
YES = {"是", "y", "yes", "1", "true", "寄宿"}
NO = {"否", "n", "no", "0", "false", "走读", ""}
SEPARATORS = ("、", ",", "，", ";", "；", "/", " ")
UPDATABLE = (
    "name",
    "stage",
    "grade",
    "household_county_code",
    "is_boarding",
    "home_township_id",
    "village",
    "guardian_name",
    "guardian_phone",
)


class ImportRefused(Exception):
    """The whole file is refused before any row is read (wrong type, too big, missing columns)."""


@dataclass
class RowResult:
    """A refused row: its number, what identifies it to the clerk (ID number, name), and why."""

    row: int
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class Validation:
    """A checked file. Its rows wait in the staging table of this connection (`import_staging`) for `write`."""

    total: int
    bad_rows: list[RowResult]
    duplicates: list[dict]


def template_workbook() -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = "学生名单"
    example = [
        id_numbers.make("360730", date(2014, 3, 15), 12),
        "张小明",
        "36070102001",
        "小学",
        3,
        "360730",
        "否",
        "脱贫户、留守儿童",
        "梅江镇",
        "上坪村",
        "张大山",
        "13800000000",
        "G" + id_numbers.make("360730", date(2014, 3, 15), 12),
    ]
    write_sheet(
        ws, [c[0] for c in COLUMNS], [example], widths=[22, 10, 14, 8, 6, 10, 8, 20, 12, 12, 10, 14, 22]
    )
    notes = wb.create_sheet("填写说明")
    write_sheet(
        notes,
        ["列", "说明"],
        [
            ("身份证号", "18 位居民身份证号，末位可为 X；出生日期和性别由身份证号自动得出"),
            (
                "全国学籍号",
                "19 位：G 加身份证号，或学籍系统给的 J、L 开头的号码；可留空。导入先按学籍号、再按身份证号找已有学生",
            ),
            ("学校代码", "本县学校的 11 位代码，如 36070102001（见“学校”页面）；校长只能导入本校学生"),
            ("学段", "学前、小学、初中、高中、中职、特教之一，须与学校类型相符"),
            ("年级", "学段内的年级，从 1 开始"),
            ("户籍地", "户籍所在县的 6 位行政区划代码或县名；留空则取身份证号前 6 位"),
            ("是否寄宿", "是 / 否"),
            ("困难类型", "可多个，用顿号分隔：" + "、".join(CATEGORY_LABEL.values())),
            ("居住乡镇", "本县乡镇名称，可留空"),
        ],
        widths=[14, 80],
    )
    return wb


def map_header(header: list[Any]) -> dict[str, int]:
    names = [cell_text(h).replace(" ", "") for h in header]
    positions = {}
    missing = []
    for title, key, required in COLUMNS:
        if title in names:
            positions[key] = names.index(title)
        elif required:
            missing.append(title)
    if missing:
        raise ImportRefused(
            _(
                "The first row must hold the template's column titles; missing: %(columns)s. Download the template."
            )
            % {"columns": "、".join(missing)}
        )
    return positions


# Order of a row's messages (the order the clerk reads them in, whichever check found them).
(
    ORDER_ID,
    ORDER_NATIONAL_NUMBER,
    ORDER_REPEATED,
    ORDER_NAME,
    ORDER_SCHOOL,
    ORDER_STAGE,
    ORDER_GRADE,
    ORDER_HOUSEHOLD,
    ORDER_BOARDING,
    ORDER_CATEGORY,
    ORDER_TOWNSHIP,
    ORDER_TAKEN,
) = range(12)
COPY_ROWS = 10_000  # rows checked and COPY'd at a time (bounds the CSV buffer; progress between batches)


def validate(rows: list[list[Any]], *, user, on_progress=None, today: date | None = None) -> Validation:
    """Check every row; write nothing to the register.

    What a row's own cells decide is checked in Python as the row is sent into the staging table; what needs
    the other rows or the register (the same ID number twice, school codes, a child at a school the importer
    may not write) is one SQL statement against that table afterwards.
    """
    if len(rows) < 2:
        raise ImportRefused(_("The file has no student rows."))
    positions = map_header(rows[0])
    check = _row_check(positions, today=today or timezone.localdate())
    problems: dict[int, list[tuple[int, str]]] = defaultdict(list)
    with connection.cursor() as cursor:
        staging.create(cursor)
        for start in range(1, len(rows), COPY_ROWS):
            stop = min(start + COPY_ROWS, len(rows))
            checked = [check(rows[i], i + 1, problems) for i in range(start, stop)]
            # A savepoint (a transaction of its own outside one): a refused COPY leaves the connection usable.
            with transaction.atomic():
                staging.copy_rows(cursor, checked)
            if on_progress:
                on_progress(stop - 1)
        staging.analyze(cursor)
        with transaction.atomic():
            staging.use_memory_for_sorts(cursor)
            _check_in_database(cursor, rows, positions, problems, user=user)
            bad = sorted(problems)
            duplicates = _possible_duplicates(cursor, bad_rows=bad, user=user)
        # The student each row names, for the roll's checks and previews (the write matches again).
        staging.match_students(cursor)
    bad_rows = []
    for number in bad:
        raw = rows[number - 1]
        messages = [message for _order, message in sorted(problems[number], key=lambda p: p[0])]
        values = {
            "id_number": id_numbers.normalize(_cell(raw, positions["id_number"])),
            "name": _cell(raw, positions["name"]),
        }
        bad_rows.append(RowResult(row=number, values=values, errors=messages))
    return Validation(total=len(rows) - 1, bad_rows=bad_rows, duplicates=duplicates)


def _cell(raw: list[Any], position: int) -> str:
    return cell_text(raw[position]) if position < len(raw) else ""


def _cached(convert):
    """`convert(cell)` remembered per distinct cell: a column such as school, stage or category holds a few
    values over a whole county. Keyed by type too: True == 1 as a key, but they are different cells."""
    seen: dict = {}

    def lookup(cell):
        key = cell if cell.__class__ is str else (cell.__class__, cell)
        try:
            return seen[key]
        except KeyError:
            seen[key] = result = convert(cell)
            return result

    return lookup


def _row_check(positions: dict[str, int], *, today: date):
    """A function checking one row's own cells: adds its messages to `problems`, returns its staging tuple."""
    townships = {t.name: t.pk for t in Township.objects.all()}
    counties = {c.name: c.code for c in County.objects.all()}
    width = max(positions.values()) + 1
    missing = [key for _title, key, _required in COLUMNS if key not in positions]
    # An optional column the file lacks reads as empty: point it past the row's end, at an empty cell.
    positions = {**positions, **dict.fromkeys(missing, width)}
    width += 1 if missing else 0
    p_id, p_name, p_school, p_stage, p_grade = (
        positions[k] for k in ("id_number", "name", "school", "stage", "grade")
    )
    p_national = positions["national_student_number"]
    p_household, p_boarding, p_categories, p_township = (
        positions[k] for k in ("household_county_code", "is_boarding", "categories", "home_township")
    )
    p_village, p_guardian, p_phone = (positions[k] for k in ("village", "guardian_name", "guardian_phone"))

    @_cached
    def stage_of(cell) -> tuple[str | None, str | None]:
        text = cell_text(cell)
        stage = STAGE_NAMES.get(text)
        if stage is None:
            return None, _("Unknown stage “%(stage)s”: use 学前, 小学, 初中, 高中, 中职 or 特教.") % {
                "stage": text
            }
        return stage, None

    grade_of: dict[tuple, tuple[int | None, str | None]] = {}

    def grade(stage: str | None, cell) -> tuple[int | None, str | None]:
        key = (stage, cell.__class__, cell)
        if key not in grade_of:
            text = cell_text(cell)
            if not text.isdigit() or int(text) < 1:
                grade_of[key] = None, _("The grade must be a whole number from 1.")
            elif stage is not None and int(text) > STAGE_GRADES[stage]:
                grade_of[key] = None, _("Grade %(grade)s does not exist in this stage.") % {"grade": text}
            else:
                grade_of[key] = int(text), None
        return grade_of[key]

    @_cached
    def household_of(cell) -> tuple[str, str | None]:
        text = cell_text(cell)
        code = counties.get(text, text)
        if code and not (len(code) == 6 and code.isdigit()):
            message = _(
                "Household registration “%(value)s” is neither a 6-digit division code nor a known county."
            )
            return code, message % {"value": code}
        return code, None

    @_cached
    def boarding_of(cell) -> tuple[bool | None, str | None]:
        text = cell_text(cell).lower()
        if text not in YES and text not in NO:
            return None, _("Boarding must be 是 or 否.")
        return (text in YES) if text else None, None

    @_cached
    def categories_of(cell) -> tuple[str | None, list[str]]:
        text = cell_text(cell)
        for sep in SEPARATORS:
            text = text.replace(sep, "、")
        found, messages = set(), []
        for name in filter(None, text.split("、")):
            if name in CATEGORY_NAMES:
                found.add(CATEGORY_NAMES[name])
            else:
                messages.append(_("Unknown difficulty category “%(name)s”.") % {"name": name})
        return ("{" + ",".join(sorted(found)) + "}" if found else None), messages

    @_cached
    def township_of(cell) -> tuple[int | None, str | None]:
        text = cell_text(cell)
        if text and text not in townships:
            return None, _("Unknown township “%(name)s”.") % {"name": text}
        return townships.get(text), None

    def text(cell) -> str:
        # cell_text, with its commonest case first: the cells that differ on every row are text.
        return cell.strip() if cell.__class__ is str else cell_text(cell)

    def check(raw: list[Any], number: int, problems: dict[int, list[tuple[int, str]]]) -> tuple:
        if len(raw) < width:
            raw = [*raw, *[""] * (width - len(raw))]
        found = []
        id_number = id_numbers.normalize(text(raw[p_id]))
        parsed = None
        try:
            parsed = id_numbers.parse(id_number, today=today)
        except ValidationError as exc:
            found.extend((ORDER_ID, message) for message in exc.messages)
        national_number = national_numbers.normalize(text(raw[p_national]))
        if national_number:
            try:
                national_numbers.parse(national_number)
            except ValidationError as exc:
                found.extend((ORDER_NATIONAL_NUMBER, message) for message in exc.messages)
                national_number = ""
        name = text(raw[p_name])
        if not name:
            found.append((ORDER_NAME, _("The name is empty.")))
        elif len(name) > 50:
            found.append((ORDER_NAME, _("The name is longer than 50 characters.")))
        stage, message = stage_of(raw[p_stage])
        if message:
            found.append((ORDER_STAGE, message))
        grade_value, message = grade(stage, raw[p_grade])
        if message:
            found.append((ORDER_GRADE, message))
        household_cell = raw[p_household]
        if parsed is not None and not text(household_cell):
            household = parsed.division_code
        else:
            household, message = household_of(household_cell)
            if message:
                found.append((ORDER_HOUSEHOLD, message))
        boarding, message = boarding_of(raw[p_boarding])
        if message:
            found.append((ORDER_BOARDING, message))
        categories, messages = categories_of(raw[p_categories])
        found.extend((ORDER_CATEGORY, message) for message in messages)
        township, message = township_of(raw[p_township])
        if message:
            found.append((ORDER_TOWNSHIP, message))
        if found:
            problems[number].extend(found)
        return (
            number,
            id_number or None,
            national_number or None,
            name or None,
            parsed and parsed.sex,
            parsed and parsed.birth_date,
            text(raw[p_school]) or None,
            stage,
            grade_value if stage is not None else None,  # unchecked without a stage: may not fit smallint
            household or None,
            boarding,
            categories,
            township,
            text(raw[p_village])[:100] or None,
            text(raw[p_guardian])[:50] or None,
            text(raw[p_phone])[:20] or None,
            not found,
        )

    return check


def _check_in_database(cursor, rows, positions, problems, *, user) -> None:
    """The checks that need the other rows or the register, in one statement against the staging table."""
    allowed = [f"{kind}:{stage}" for kind, stages in School.TYPE_STAGES.items() for stage in stages]
    writable = list(School.objects.editable_by(user).values_list("pk", flat=True))
    if len(writable) == School.objects.count():
        writable = None  # every school: no row can break the rules about other schools
    for (
        number,
        first,
        unknown,
        not_writable,
        school_name,
        school_type,
        wrong_stage,
        taken,
        first_number_row,
        first_student_row,
        two_students,
        g_of_another,
    ) in staging.problems(cursor, writable_school_ids=writable, allowed_stages=allowed):
        raw = rows[number - 1]
        found = problems[number]
        if first is not None:
            found.append(
                (
                    ORDER_REPEATED,
                    _("The same ID number is already on row %(row)s of this file.") % {"row": first},
                )
            )
        if first_number_row is not None:
            found.append(
                (
                    ORDER_REPEATED,
                    _("The same national student number is already on row %(row)s of this file.")
                    % {"row": first_number_row},
                )
            )
        elif first_student_row is not None and first is None:
            found.append(
                (
                    ORDER_REPEATED,
                    _("Row %(row)s of this file already names the same student.")
                    % {"row": first_student_row},
                )
            )
        if two_students:
            found.append(
                (
                    ORDER_NATIONAL_NUMBER,
                    _(
                        "The national student number belongs to another student than the ID number: check both, "
                        "or ask the bureau."
                    ),
                )
            )
        if g_of_another and not two_students:
            found.append(
                (
                    ORDER_NATIONAL_NUMBER,
                    _(
                        "The national student number is G followed by another student's ID number: a G "
                        "number holds the child's own ID number."
                    ),
                )
            )
        if unknown:
            code = _cell(raw, positions["school"])
            found.append((ORDER_SCHOOL, _("Unknown school code “%(code)s”.") % {"code": code}))
        elif not_writable:
            found.append(
                (ORDER_SCHOOL, _("You may not import students into %(school)s.") % {"school": school_name})
            )
        if wrong_stage:
            found.append(
                (
                    ORDER_STAGE,
                    _("%(school)s (%(type)s) does not enrol %(stage)s pupils.")
                    % {
                        "school": school_name,
                        "type": School.Type(school_type).label,
                        "stage": _cell(raw, positions["stage"]),
                    },
                )
            )
        if taken:
            # Neutral: an importer learns nothing about a child outside their schools (not the school, not
            # whether it is a transfer), only that the bureau must handle this number.
            found.append((ORDER_TAKEN, _("This ID number cannot be imported here; ask the bureau.")))


def _possible_duplicates(cursor, *, bad_rows: list[int], user) -> list[dict]:
    """Same name and birth date, different ID number: listed for a person to review, never merged.

    Among the clean rows of the file, and against the register: only the children the importer may see
    (another school's pupil of the same name and birth date is the bureau's to find, not a principal's).
    """
    visible = Student.objects.visible_to(user).order_by().values("pk")
    if visible.query.is_empty():
        visible_sql = ("SELECT NULL::integer WHERE false", [])
    elif visible.query.has_filters():
        visible_sql = visible.query.sql_with_params()
    else:
        visible_sql = None  # the whole register
    keys = staging.same_name_and_birth(cursor, bad_rows=bad_rows, visible=visible_sql)
    found = [
        {"name": name, "birth_date": birth.isoformat(), "rows": rows, "students": []}
        for name, birth, rows, _students in keys
        if len(rows) > 1
    ]
    found += [
        {"name": name, "birth_date": birth.isoformat(), "rows": rows, "students": students}
        for name, birth, rows, students in keys
        if students
    ]
    return found


# What the preview and the results file call each value a row changes: the template's own column words.
CHANGE_LABELS = {
    "name": "姓名",
    "school_id": "学校",
    "stage": "学段",
    "grade": "年级",
    "household_county_code": "户籍地",
    "is_boarding": "是否寄宿",
    "home_township_id": "居住乡镇",
    "village": "村（社区）",
    "guardian_name": "监护人",
    "guardian_phone": "监护人电话",
    "categories": "困难类型",
    "id_number": "身份证号",
    "sex": "性别",
    "birth_date": "出生日期",
    "national_student_number": "全国学籍号",
}
_SCHOOL = staging.CHANGE_FIELDS.index("school_id")
_TOWNSHIP = staging.CHANGE_FIELDS.index("home_township_id")
PREVIEW_LIMIT = 500  # changed students kept on the job for the page (the counts are always whole)


@dataclass
class Changes:
    """What writing a checked file would do to the students it already names (`staging.match_students`)."""

    known: list[tuple[int, int]]  # (row, student id) of every row naming a registered student
    changed: list[dict]  # per changed row: row, student, masked ID number, name, changes [[label, old, new]]
    fingerprint: str  # the register's state of those students (staging.fingerprint)
    rows: int  # the file's rows

    @property
    def counts(self) -> dict[str, int]:
        return {
            "new": self.rows - len(self.known),
            "changed": len(self.changed),
            "unchanged": len(self.known) - len(self.changed),
        }


def changes_of(cursor, *, total: int, today: date) -> Changes:
    """Each known student the staged file would change, field by field (old → new), in the words of the
    page: school and township names, the template's stage and category words, 是/否."""
    known = staging.match_students(cursor)
    found = staging.changes(cursor, on=today) if known else []
    school_ids, township_ids = set(), set()
    for _row, _student, _number, old, new, _current, _added in found:
        school_ids.update(int(v) for v in (old[_SCHOOL], new[_SCHOOL]) if v)
        township_ids.update(int(v) for v in (old[_TOWNSHIP], new[_TOWNSHIP]) if v)
    schools = dict(School.objects.filter(pk__in=school_ids).values_list("pk", "name"))
    townships = dict(Township.objects.filter(pk__in=township_ids).values_list("pk", "name"))

    def shown(field: str, value: str | None) -> str:
        if value in (None, ""):
            return "—"
        if field == "school_id":
            return schools.get(int(value), value)
        if field == "home_township_id":
            return townships.get(int(value), value)
        if field == "stage":
            return STAGE_LABEL.get(value, value)
        if field == "is_boarding":
            return "是" if value == "true" else "否"
        if field == "sex":
            return {"M": "男", "F": "女"}.get(value, value)
        if field in ("id_number", "national_student_number"):
            # Kept on the job and its results file, which county readers open: masked (a G number holds the
            # ID number); the sex and birth date beside it show what a corrected number changes.
            return id_numbers.mask(value)
        if field == "guardian_phone" and len(value) >= 8:
            # Kept on the job and in its results file, which county readers (officials too) open: a phone
            # number is shown as 138****0000, enough for the importer to recognise the change.
            return value[:3] + "*" * (len(value) - 7) + value[-4:]
        return value

    changed = []
    for row, student, number, old, new, current, added in found:
        what = [
            [CHANGE_LABELS[field], shown(field, was), shown(field, now)]
            for field, was, now in zip(staging.CHANGE_FIELDS, old, new, strict=True)
            if was != now
        ]
        if added:
            words = [CATEGORY_LABEL.get(c, c) for c in current]
            what.append(
                [
                    CHANGE_LABELS["categories"],
                    "、".join(words) or "—",
                    "、".join(words + [CATEGORY_LABEL.get(c, c) for c in added]),
                ]
            )
        changed.append(
            {"row": row, "student": student, "id": id_numbers.mask(number), "name": new[0], "changes": what}
        )
    return Changes(
        known=known, changed=changed, fingerprint=staging.fingerprint(cursor, on=today), rows=total
    )


def write(validation: Validation, changes: Changes, *, user, today: date | None = None) -> list[dict]:
    """Write a clean validation's staged rows in one transaction; returns per-row results.

    New ID numbers are created, the known students of `changes` (`changes_of`, on this connection) updated
    where a value differs (a change of school is recorded as a transfer first), and the listed categories
    opened. An updated row's result keeps what it changed, old and new, for the results file.
    """
    today = today or timezone.localdate()
    source = "Excel 导入"
    with transaction.atomic(), connection.cursor() as cursor, register.effective(today, source="import"):
        # The register trigger opens and splits the spells (students.register) on the day of the transfers.
        staging.use_memory_for_sorts(cursor)
        if changes.known:
            staging.record_transfers(cursor, on=today, by_id=user.pk, reason=source)
            staging.update_students(cursor)
            staging.open_categories(cursor, on=today, source=source)
        created = staging.create_students(
            cursor, enrolled_on=today, status=Student.Status.ENROLLED, source=source
        )
    changed = {c["row"]: c["changes"] for c in changes.changed}
    outcome = [{"row": row, "student": pk, "action": "created"} for row, pk in created]
    outcome += [
        {"row": row, "student": pk, "action": "updated", "changes": changed[row]}
        if row in changed
        else {"row": row, "student": pk, "action": "unchanged"}
        for row, pk in changes.known
    ]
    outcome.sort(key=lambda o: o["row"])
    return outcome


def run(job: ImportJob) -> ImportJob:
    """Validate and, if every row is right, write; a file that would change students already registered
    stops at a preview (status PREVIEW, the file kept) until `confirm`. Progress is saved as it goes."""
    return _in_staging(job, confirming=False)


def confirm(job: ImportJob) -> ImportJob:
    """Write a previewed import (students.services.import_confirm set it WRITING): the file is checked again,
    and refused if a student it changes is no longer as the preview showed them."""
    return _in_staging(job, confirming=True)


def _in_staging(job: ImportJob, *, confirming: bool) -> ImportJob:
    started = time.monotonic()
    try:
        return _run(job, started, confirming=confirming)
    finally:
        with connection.cursor() as cursor:
            staging.drop(cursor)


def _run(job: ImportJob, started: float, *, confirming: bool) -> ImportJob:
    user = job.uploaded_by
    today = timezone.localdate()

    def progress(done: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(processed_rows=done)

    try:
        with job.file.open("rb") as handle:
            rows = read_rows(handle)
        job.total_rows = max(0, len(rows) - 1)
        if not confirming:
            job.status = ImportJob.Status.VALIDATING
            job.save(update_fields=["total_rows", "status"])
        validation = validate(rows, user=user, on_progress=progress, today=today)
        if not validation.bad_rows:
            with connection.cursor() as cursor:
                changes = changes_of(cursor, total=validation.total, today=today)
    except (ImportRefused, ValueError) as exc:
        return _finish(job, started, status=ImportJob.Status.REJECTED, message=str(exc))
    except DatabaseError as exc:
        return _finish(
            job,
            started,
            status=ImportJob.Status.FAILED,
            message=_("The import failed: %(error)s") % {"error": exc},
        )
    job.duplicates = validation.duplicates
    bad = validation.bad_rows
    if bad:
        job.errors = [
            {
                "row": r.row,
                "id": id_numbers.mask(r.values.get("id_number")),
                "name": r.values.get("name", ""),
                "errors": r.errors,
            }
            for r in bad
        ]
        return _finish(
            job,
            started,
            status=ImportJob.Status.REJECTED,
            message=_(
                "%(bad)s of %(total)s rows are wrong; nothing was imported. Correct them and upload again."
            )
            % {"bad": len(bad), "total": validation.total},
        )
    if confirming and changes.fingerprint != job.preview.get("fingerprint"):
        return _finish(
            job,
            started,
            status=ImportJob.Status.REJECTED,
            message=_(
                "Students in this file were changed in the register after the preview, so the preview no longer "
                "shows what the import would do; nothing was written. Upload the file again to see the changes "
                "as they are now."
            ),
        )
    if changes.changed and not confirming:
        job.preview = {
            "counts": changes.counts,
            "changed": changes.changed[:PREVIEW_LIMIT],
            "fingerprint": changes.fingerprint,
        }
        return _finish(
            job,
            started,
            status=ImportJob.Status.PREVIEW,
            message=_(
                "Checked, nothing written yet: %(new)s new, %(changed)s students already registered would change, "
                "%(unchanged)s unchanged. Check the changes below and confirm to write them."
            )
            % changes.counts,
            keep_file=True,
        )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.WRITING, processed_rows=job.total_rows)
    try:
        with pghistory.context(user=user.pk, import_job=job.pk):
            outcome = write(validation, changes, user=user, today=today)
    except Exception as exc:
        return _finish(
            job,
            started,
            status=ImportJob.Status.FAILED,
            message=_("The import failed: %(error)s") % {"error": exc},
        )
    job.results = outcome
    job.created_count = sum(1 for o in outcome if o["action"] == "created")
    job.updated_count = sum(1 for o in outcome if o["action"] == "updated")
    job.unchanged_count = sum(1 for o in outcome if o["action"] == "unchanged")
    return _finish(
        job,
        started,
        status=ImportJob.Status.DONE,
        message=_("%(created)s students added, %(updated)s updated, %(unchanged)s unchanged.")
        % {"created": job.created_count, "updated": job.updated_count, "unchanged": job.unchanged_count},
    )


def _finish(
    job: ImportJob, started: float, *, status: str, message: str, keep_file: bool = False
) -> ImportJob:
    job.status = status
    job.message = message
    job.processed_rows = job.total_rows
    job.seconds = round(time.monotonic() - started, 3)
    if not keep_file:
        # The upload holds whole ID numbers and is needed only to run the import: it goes when the import
        # ends, whatever the outcome (SECURITY.md, retention of uploads). A preview keeps it for `confirm`.
        job.finished_at = timezone.now()
        job.file.delete(save=False)
    job.save()
    return job


def errors_workbook(job: ImportJob) -> Workbook:
    wb = Workbook()
    write_sheet(
        wb.active,
        ["行号", "身份证号", "姓名", "错误原因"],
        [(e["row"], e["id"], e["name"], "；".join(e["errors"])) for e in job.errors],
        title=f"导入错误：{job.filename}",
        widths=[8, 22, 12, 80],
    )
    return wb


def change_text(changes: list[list[str]]) -> str:
    """An updated row's changes in one cell: "年级：3 → 4；学校：甲小学 → 乙小学"."""
    return "；".join(f"{label}：{old} → {new}" for label, old, new in changes)


def results_workbook(job: ImportJob) -> Workbook:
    ids = [o["student"] for o in job.results]
    students = Student.objects.in_bulk(ids)
    action = {"created": "新增", "updated": "更新", "unchanged": "未变"}
    wb = Workbook()
    ws = wb.active
    ws.title = "导入结果"
    rows = []
    for o in job.results:
        s = students.get(o["student"])
        if s is None:
            continue
        rows.append(
            (
                o["row"],
                action[o["action"]],
                s.masked_id_number,
                s.name,
                STAGE_LABEL.get(s.stage, s.stage),
                s.grade,
                change_text(o.get("changes", [])),
            )
        )
    write_sheet(
        ws,
        ["行号", "处理", "身份证号", "姓名", "学段", "年级", "修改（原值 → 新值）"],
        rows,
        widths=[8, 8, 22, 12, 8, 6, 80],
    )
    return wb


def export_workbook(students, *, full_ids: bool) -> Workbook:
    """Students in the import template's layout, so that an export can be corrected and imported back.

    ID numbers are masked unless the caller may and did ask for them whole. A masked export leaves the
    household county empty: with the masked number and the birth date it would rebuild the whole number.
    """
    from openpyxl import Workbook as _Workbook

    wb = _Workbook(write_only=True)
    ws = wb.create_sheet("学生名单")
    ws.append([c[0] for c in COLUMNS])
    today = timezone.localdate()
    rows = students.select_related("school", "home_township").prefetch_related("categories").order_by("pk")
    for s in rows.iterator(chunk_size=2000):
        ws.append(
            safe_cell(value)
            for value in [
                s.id_number if full_ids else s.masked_id_number,
                s.name,
                s.school.code,
                STAGE_LABEL[s.stage],
                s.grade,
                s.household_county_code if full_ids else "",
                "是" if s.is_boarding else "否",
                "、".join(CATEGORY_LABEL[c] for c in sorted(s.categories_on(today))),
                s.home_township.name if s.home_township else "",
                s.village,
                s.guardian_name,
                s.guardian_phone,
                s.national_student_number if full_ids else s.masked_national_student_number,
            ]
        )
    return wb
