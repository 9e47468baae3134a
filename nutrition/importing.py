"""Monthly meal records from Excel: one row per school, school day and stage.

Columns (first row is the header): 学校代码 | 日期 | 学段 | 就餐人数. A file is all or nothing: every row
is checked first, and if any row is bad the whole file is refused with every bad row listed, so that the
clerk can fix the sheet and upload it again. Re-uploading a month corrects the days it contains.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import IO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from nutrition import services
from nutrition.models import MealRecord, NutritionTerm, PilotSchool
from portal import excel
from students.models import Stage

HEADER = ["学校代码", "日期", "学段", "就餐人数"]
STAGE_NAMES = {
    "学前": Stage.PRESCHOOL,
    "幼儿园": Stage.PRESCHOOL,
    "小学": Stage.PRIMARY,
    "初中": Stage.JUNIOR,
    **{s.value: s.value for s in (Stage.PRESCHOOL, Stage.PRIMARY, Stage.JUNIOR)},
}


def _cell_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip().replace("/", "-").replace(".", "-")
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _code(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value or "").strip()


def read_rows(file: IO[bytes]) -> list[list]:
    """The meal rows below the header, through the portal's one safe reader (size, zip bomb, formulas,
    the sheet's extent)."""
    try:
        rows = excel.read_rows(file)
    except excel.ExcelError as exc:
        raise ValidationError(str(exc)) from exc
    rows = [row for row in rows if any(str(cell).strip() for cell in row)]
    if not rows:
        raise ValidationError(_("The file is empty."))
    if [str(c).strip() for c in rows[0][:4]] != HEADER:
        raise ValidationError(
            _("The first row must be the header: %(header)s.") % {"header": " | ".join(HEADER)}
        )
    return rows[1:]


@services.recording_service
def meals_import(*, file: IO[bytes], term: NutritionTerm, month: date, by) -> int:
    """Check every row, then write them all (or nothing). Returns how many records were written."""
    services.check_term_open(term)
    rows = read_rows(file)
    pilots = {
        p.school.code: p for p in PilotSchool.objects.filter(term=term).select_related("school", "term")
    }
    writable = set(PilotSchool.objects.editable_by(by).filter(term=term).values_list("pk", flat=True))
    holidays = set(term.holidays.values_list("day", flat=True))
    errors: list[str] = []
    seen: set[tuple] = set()
    records: list[MealRecord] = []
    for number, row in enumerate(rows, start=2):
        row = [*row, "", "", "", ""][:4]
        problems: list[str] = []
        pilot = pilots.get(_code(row[0]))
        if pilot is None:
            problems.append(
                _("school code %(code)s is not a pilot school this term") % {"code": _code(row[0]) or "—"}
            )
        elif pilot.pk not in writable:
            problems.append(_("you may only record for your own school"))
        day = _cell_date(row[1])
        if day is None:
            problems.append(_("the date %(value)s is not a date (use 2022-10-14)") % {"value": row[1] or "—"})
        elif (day.year, day.month) != (month.year, month.month):
            problems.append(_("%(day)s is not in the month being imported") % {"day": day})
        stage = STAGE_NAMES.get(str(row[2]).strip())
        if stage is None:
            problems.append(_("the stage %(value)s is not 学前, 小学 or 初中") % {"value": row[2] or "—"})
        try:
            meals = services.parse_meals(row[3])
        except ValidationError as exc:
            problems.extend(exc.messages)
            meals = None
        if not problems and pilot is not None:
            problems.extend(
                services.meal_problems(pilot=pilot, day=day, stage=stage, meals=meals, holidays=holidays)
            )
            key = (pilot.pk, day, stage)
            if key in seen:
                problems.append(_("the same school, day and stage appear twice in the file"))
            seen.add(key)
        if problems:
            errors.append(
                _("Row %(row)s: %(problems)s") % {"row": number, "problems": "; ".join(map(str, problems))}
            )
        else:
            records.append(MealRecord(pilot=pilot, day=day, stage=stage, meals=meals, by=by))
    if errors:
        raise ValidationError(errors)
    if not records:
        raise ValidationError(_("The file has no meal rows."))
    MealRecord.objects.bulk_create(
        records,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["pilot", "day", "stage"],
        update_fields=["meals", "by", "updated_at"],
    )
    return len(records)
