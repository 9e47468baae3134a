"""Monthly meal records from Excel: one row per school, school day and stage.

Columns (first row is the header): 学校代码 | 日期 | 学段 | 就餐人数. A file is all or nothing: every row
is checked first, and if any row is bad the whole file is refused with every bad row listed, so that the
clerk can fix the sheet and upload it again. Re-uploading a month corrects the days it contains.

An upload is a `MealImport` job (`meal_import_start`): a small file runs in the request, a county's month
as the Celery task `nutrition.tasks.import_meals`, with its progress on the job's page and in the API.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import IO

import pghistory
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from nutrition import services
from nutrition.models import MealImport, MealRecord, NutritionTerm, PilotSchool
from portal import excel
from students.models import Stage

HEADER = ["学校代码", "日期", "学段", "就餐人数"]
# How often a running import saves its progress (rows checked).
PROGRESS_EVERY = 500
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


def check_rows(
    rows: list[list], *, term: NutritionTerm, month: date, importer, on_progress=None
) -> tuple[list[MealRecord], list[str]]:
    """Every row checked: the records `importer` would write, and one message per bad row (a file is all or
    nothing). Reads only: the services write them."""
    pilots = {
        p.school.code: p for p in PilotSchool.objects.filter(term=term).select_related("school", "term")
    }
    writable = set(PilotSchool.objects.editable_by(importer).filter(term=term).values_list("pk", flat=True))
    holidays = set(term.holidays.values_list("day", flat=True))
    errors: list[str] = []
    seen: set[tuple] = set()
    records: list[MealRecord] = []
    for number, row in enumerate(rows, start=2):
        if on_progress and (number - 1) % PROGRESS_EVERY == 0:
            on_progress(number - 1)
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
            records.append(MealRecord(pilot=pilot, day=day, stage=stage, meals=meals, by=importer))
    if not errors and not records:
        errors.append(_("The file has no meal rows."))
    return records, errors


def write(records: list[MealRecord]) -> int:
    """Write checked records; a day already recorded is corrected (re-uploading a month corrects it)."""
    MealRecord.objects.bulk_create(
        records,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["pilot", "day", "stage"],
        update_fields=["meals", "by", "updated_at"],
    )
    return len(records)


@services.recording_service
def meals_import(*, file: IO[bytes], term: NutritionTerm, month: date, by) -> int:
    """Check every row, then write them all (or nothing), in this call. Returns how many records were
    written. The pages and the API go through `meal_import_start`, which keeps a job and its progress."""
    services.check_term_open(term)
    records, errors = check_rows(read_rows(file), term=term, month=month, importer=by)
    if errors:
        raise ValidationError(errors)
    return write(records)


@services.recording_service
def meal_import_start(*, file: IO[bytes], term: NutritionTerm, month: date, by) -> MealImport:
    """Store the upload as an import job and run it: in this request when small, as a Celery task when large
    (above MEAL_IMPORT_ASYNC_THRESHOLD_BYTES: a county's month of 224 schools is ~6,000 rows, ~100 KB), whose
    progress the job's page and the API show. The size in bytes decides, as for the student import."""
    services.check_term_open(term)
    job = MealImport.objects.create(
        term=term,
        month=month.replace(day=1),
        file=file,
        file_name=(getattr(file, "name", "") or "meals.xlsx")[:200],
        uploaded_by=by,
    )
    if getattr(file, "size", 0) > settings.MEAL_IMPORT_ASYNC_THRESHOLD_BYTES:
        from nutrition.tasks import import_meals

        transaction.on_commit(lambda: import_meals.delay(job.pk))
        return job
    return run(job)


def run(job: MealImport) -> MealImport:
    """The job's work (the Celery task's, or the request's for a small file): read, check every row with the
    progress saved as it goes, then write all the records in one transaction. A refused file ends the job
    as refused with every bad row listed; nothing else is written."""
    started = time.monotonic()
    user = job.uploaded_by

    def progress(done: int) -> None:
        MealImport.objects.filter(pk=job.pk).update(processed_rows=done)

    try:
        with job.file.open("rb") as handle:
            rows = read_rows(handle)
        job.total_rows = len(rows)
        job.status = MealImport.Status.CHECKING
        job.save(update_fields=["total_rows", "status"])
        # The term may have been closed while the job waited.
        services.check_term_open(job.term)
        records, errors = check_rows(
            rows, term=job.term, month=job.month, importer=user, on_progress=progress
        )
    except ValidationError as exc:
        return _finish(job, started, status=MealImport.Status.REJECTED, errors=exc.messages)
    if errors:
        return _finish(job, started, status=MealImport.Status.REJECTED, errors=errors)
    MealImport.objects.filter(pk=job.pk).update(
        status=MealImport.Status.WRITING, processed_rows=job.total_rows
    )
    try:
        with transaction.atomic(), pghistory.context(user=user.pk):
            written = write(records)
    except DatabaseError as exc:
        return _finish(
            job,
            started,
            status=MealImport.Status.FAILED,
            message=_("The import failed: %(error)s") % {"error": exc},
        )
    job.imported = written
    return _finish(
        job,
        started,
        status=MealImport.Status.DONE,
        message=_("%(n)s meal records were imported.") % {"n": written},
    )


def _finish(job: MealImport, started: float, *, status: str, message: str = "", errors=()) -> MealImport:
    job.status = status
    job.errors = [str(e) for e in errors]
    job.message = message or (_("The file was refused; nothing was imported.") if errors else "")
    job.processed_rows = job.total_rows
    job.seconds = round(time.monotonic() - started, 3)
    job.finished_at = timezone.now()
    if job.file:
        job.file.delete(save=False)
    job.save()
    return job
