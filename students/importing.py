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
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from portal.excel import cell_text, read_rows, safe_cell, write_sheet
from students import id_numbers
from students.models import (
    STAGE_GRADES,
    County,
    ImportJob,
    School,
    Stage,
    Student,
    StudentCategory,
    Township,
    Transfer,
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
PROGRESS_EVERY = 2000


class ImportRefused(Exception):
    """The whole file is refused before any row is read (wrong type, too big, missing columns)."""


@dataclass
class RowResult:
    row: int
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class Validation:
    rows: list[RowResult]
    duplicates: list[dict]

    @property
    def bad_rows(self) -> list[RowResult]:
        return [r for r in self.rows if r.errors]


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
    ]
    write_sheet(ws, [c[0] for c in COLUMNS], [example], widths=[22, 10, 14, 8, 6, 10, 8, 20, 12, 12, 10, 14])
    notes = wb.create_sheet("填写说明")
    write_sheet(
        notes,
        ["列", "说明"],
        [
            ("身份证号", "18 位居民身份证号，末位可为 X；出生日期和性别由身份证号自动得出"),
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


def validate(rows: list[list[Any]], *, user, on_progress=None, today: date | None = None) -> Validation:
    """Check every row against the rules and the database; write nothing."""
    if len(rows) < 2:
        raise ImportRefused(_("The file has no student rows."))
    positions = map_header(rows[0])
    today = today or timezone.localdate()
    schools = {s.code: s for s in School.objects.all()}
    writable_schools = set(School.objects.editable_by(user).values_list("pk", flat=True))
    townships = {t.name: t.pk for t in Township.objects.all()}
    counties = {c.name: c.code for c in County.objects.all()}

    ids_in_file = [
        id_numbers.normalize(r[positions["id_number"]]) for r in rows[1:] if len(r) > positions["id_number"]
    ]
    existing = {}
    for start in range(0, len(ids_in_file), 5000):
        chunk = ids_in_file[start : start + 5000]
        for s in Student.objects.filter(id_number__in=chunk).only(
            "pk", "id_number", "school_id", "name", *UPDATABLE
        ):
            existing[s.id_number] = s

    seen: dict[str, int] = {}
    results = []
    for index, raw in enumerate(rows[1:], start=2):
        result = RowResult(row=index)

        def get(key: str, raw=raw) -> str:
            pos = positions.get(key)
            return cell_text(raw[pos]) if pos is not None and pos < len(raw) else ""

        errors = result.errors
        values = result.values
        number = id_numbers.normalize(get("id_number"))
        values["id_number"] = number
        values["name"] = get("name")
        parsed = None
        try:
            parsed = id_numbers.parse(number, today=today)
        except ValidationError as exc:
            errors.extend(exc.messages)
        if number in seen:
            errors.append(
                _("The same ID number is already on row %(row)s of this file.") % {"row": seen[number]}
            )
        elif number:
            seen[number] = index
        if not values["name"]:
            errors.append(_("The name is empty."))
        elif len(values["name"]) > 50:
            errors.append(_("The name is longer than 50 characters."))

        school = schools.get(get("school"))
        if school is None:
            errors.append(_("Unknown school code “%(code)s”.") % {"code": get("school")})
        elif school.pk not in writable_schools:
            errors.append(_("You may not import students into %(school)s.") % {"school": school.name})
        values["school"] = school

        stage = STAGE_NAMES.get(get("stage"))
        if stage is None:
            errors.append(
                _("Unknown stage “%(stage)s”: use 学前, 小学, 初中, 高中, 中职 or 特教.")
                % {"stage": get("stage")}
            )
        elif school is not None and stage not in school.stages:
            errors.append(
                _("%(school)s (%(type)s) does not enrol %(stage)s pupils.")
                % {"school": school.name, "type": school.get_school_type_display(), "stage": get("stage")}
            )
        values["stage"] = stage
        grade_text = get("grade")
        if not grade_text.isdigit() or int(grade_text) < 1:
            errors.append(_("The grade must be a whole number from 1."))
        elif stage is not None and int(grade_text) > STAGE_GRADES[stage]:
            errors.append(_("Grade %(grade)s does not exist in this stage.") % {"grade": grade_text})
        else:
            values["grade"] = int(grade_text)

        household = get("household_county_code")
        if not household and parsed is not None:
            household = parsed.division_code
        elif household in counties:
            household = counties[household]
        if household and not (len(household) == 6 and household.isdigit()):
            errors.append(
                _("Household registration “%(value)s” is neither a 6-digit division code nor a known county.")
                % {"value": household}
            )
        values["household_county_code"] = household

        boarding = get("is_boarding").lower()
        if boarding not in YES and boarding not in NO:
            errors.append(_("Boarding must be 是 or 否."))
        values["is_boarding"] = (boarding in YES) if boarding else None

        categories = []
        text = get("categories")
        for sep in SEPARATORS:
            text = text.replace(sep, "、")
        for name in filter(None, text.split("、")):
            if name in CATEGORY_NAMES:
                categories.append(CATEGORY_NAMES[name])
            else:
                errors.append(_("Unknown difficulty category “%(name)s”.") % {"name": name})
        values["categories"] = sorted(set(categories))

        home = get("home_township")
        if home and home not in townships:
            errors.append(_("Unknown township “%(name)s”.") % {"name": home})
        values["home_township_id"] = townships.get(home)
        values["village"] = get("village")[:100] or None
        values["guardian_name"] = get("guardian_name")[:50] or None
        values["guardian_phone"] = get("guardian_phone")[:20] or None
        if parsed is not None:
            values["birth_date"] = parsed.birth_date
            values["sex"] = parsed.sex

        current = existing.get(number)
        values["existing"] = current
        if current is not None and current.school_id not in writable_schools:
            # Neutral: an importer learns nothing about a child outside their schools (not the school, not
            # whether it is a transfer), only that the bureau must handle this number.
            errors.append(_("This ID number cannot be imported here; ask the bureau."))
        results.append(result)
        if on_progress and index % PROGRESS_EVERY == 0:
            on_progress(index - 1)

    return Validation(rows=results, duplicates=_possible_duplicates(results, user=user))


def _possible_duplicates(results: list[RowResult], *, user) -> list[dict]:
    """Same name and birth date, different ID number: listed for a person to review, never merged."""
    keys = defaultdict(list)
    for r in results:
        if not r.errors and r.values.get("birth_date"):
            keys[(r.values["name"], r.values["birth_date"])].append(r)
    found = []
    file_pairs = {k: v for k, v in keys.items() if len(v) > 1}
    for (name, birth), rows in file_pairs.items():
        found.append(
            {"name": name, "birth_date": birth.isoformat(), "rows": [r.row for r in rows], "students": []}
        )
    # Against the database, in one query for all names of the file: only the children the importer may see
    # (another school's pupil of the same name and birth date is the bureau's to find, not a principal's).
    names = {r.values["name"] for r in results if not r.errors}
    known = defaultdict(list)
    for pk, name, birth, number in (
        Student.objects.visible_to(user)
        .filter(name__in=names)
        .values_list("pk", "name", "birth_date", "id_number")
    ):
        known[(name, birth)].append((pk, number))
    for key, rows in keys.items():
        others = [(pk, n) for pk, n in known.get(key, []) if n not in {r.values["id_number"] for r in rows}]
        if others:
            found.append(
                {
                    "name": key[0],
                    "birth_date": key[1].isoformat(),
                    "rows": [r.row for r in rows],
                    "students": [pk for pk, _n in others],
                }
            )
    return found


def write(validation: Validation, *, user, today: date | None = None) -> list[dict]:
    """Write a clean validation in one transaction; returns per-row results."""
    today = today or timezone.localdate()
    outcome = []
    creates: list[tuple[RowResult, Student]] = []
    updates: list[Student] = []
    transfers: list[Transfer] = []
    with transaction.atomic():
        for r in validation.rows:
            v = r.values
            current: Student | None = v["existing"]
            if current is None:
                student = Student(
                    id_number=v["id_number"],
                    name=v["name"],
                    sex=v["sex"],
                    birth_date=v["birth_date"],
                    school=v["school"],
                    stage=v["stage"],
                    grade=v["grade"],
                    household_county_code=v["household_county_code"],
                    is_boarding=bool(v["is_boarding"]),
                    home_township_id=v["home_township_id"],
                    village=v["village"] or "",
                    guardian_name=v["guardian_name"] or "",
                    guardian_phone=v["guardian_phone"] or "",
                    enrolled_on=today,
                )
                creates.append((r, student))
                continue
            # A blank optional cell means "not given": it never erases what the registry already has.
            changed = [f for f in UPDATABLE if v.get(f) is not None and getattr(current, f) != v[f]]
            if current.school_id != v["school"].pk:
                transfers.append(
                    Transfer(
                        student=current,
                        from_school_id=current.school_id,
                        to_school=v["school"],
                        on=today,
                        reason="Excel 导入",
                        by=user,
                    )
                )
                current.school = v["school"]
                changed.append("school")
            for f in changed:
                if f != "school":
                    setattr(current, f, v[f])
            if changed:
                updates.append(current)
                outcome.append({"row": r.row, "student": current.pk, "action": "updated"})
            else:
                outcome.append({"row": r.row, "student": current.pk, "action": "unchanged"})
        Student.objects.bulk_create([s for _r, s in creates], batch_size=2000)
        for r, s in creates:
            r.values["existing"] = s
            outcome.append({"row": r.row, "student": s.pk, "action": "created"})
        if updates:
            Student.objects.bulk_update(updates, [*UPDATABLE, "school"], batch_size=2000)
        Transfer.objects.bulk_create(transfers, batch_size=2000)
        _add_categories(validation, today=today)
    outcome.sort(key=lambda o: o["row"])
    return outcome


def _add_categories(validation: Validation, *, today: date) -> None:
    """Open the listed categories that are not already current; never close one silently."""
    wanted = {(r.values["existing"].pk, c) for r in validation.rows for c in r.values["categories"]}
    if not wanted:
        return
    student_ids = {pk for pk, _c in wanted}
    current = set()
    for start in range(0, len(student_ids), 5000):
        chunk = list(student_ids)[start : start + 5000]
        current.update(
            StudentCategory.objects.filter(student_id__in=chunk)
            .on(today)
            .values_list("student_id", "category")
        )
    StudentCategory.objects.bulk_create(
        [
            StudentCategory(student_id=pk, category=c, valid_from=today, source="Excel 导入")
            for pk, c in sorted(wanted - current)
        ],
        batch_size=5000,
    )


def run(job: ImportJob) -> ImportJob:
    """Validate and, if every row is right, write. Progress is saved as it goes (outside the write)."""
    started = time.monotonic()
    user = job.uploaded_by

    def progress(done: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(processed_rows=done)

    try:
        with job.file.open("rb") as handle:
            rows = read_rows(handle)
        job.total_rows = max(0, len(rows) - 1)
        job.status = ImportJob.Status.VALIDATING
        job.save(update_fields=["total_rows", "status"])
        validation = validate(rows, user=user, on_progress=progress)
    except (ImportRefused, ValueError) as exc:
        return _finish(job, started, status=ImportJob.Status.REJECTED, message=str(exc))
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
            % {"bad": len(bad), "total": len(validation.rows)},
        )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.WRITING, processed_rows=job.total_rows)
    try:
        with pghistory.context(user=user.pk, import_job=job.pk):
            outcome = write(validation, user=user)
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


def _finish(job: ImportJob, started: float, *, status: str, message: str) -> ImportJob:
    job.status = status
    job.message = message
    job.processed_rows = job.total_rows
    job.finished_at = timezone.now()
    job.seconds = round(time.monotonic() - started, 3)
    # The upload holds whole ID numbers and is needed only to run the import: it goes when the import
    # ends, whatever the outcome (SECURITY.md, retention of uploads).
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
            )
        )
    write_sheet(ws, ["行号", "处理", "身份证号", "姓名", "学段", "年级"], rows, widths=[8, 8, 22, 12, 8, 6])
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
            ]
        )
    return wb
