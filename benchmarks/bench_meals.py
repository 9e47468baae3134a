"""The monthly meals import of a county's month, as its Celery task runs it (issue 19).

Ningdu's plan fed 224 pilot schools (2022 autumn): a month of their meals is one row per school, school day
and stage, ~6,000-8,000 rows. The benchmark brings the term's pilots up to `--schools` (enrolling more of the
county's rural schools), writes that month as an .xlsx (every stage a pilot feeds, every school day of the
month, as many meals as pupils covered), and imports it through `nutrition.importing.meal_import_start` (the
upload stored as a job, as the page and the API do) and `importing.run` (the task's work: read, check every
row with progress, write in one transaction). All of it inside a transaction that is rolled back, so the
county is left as it was; the month already has meal records, so the import corrects them, as a clerk's
re-upload does.

    DATABASE_URL=postgres://.../portal_bench python benchmarks/bench_meals.py --schools 224

Figures: `meals_import.schools`, `meals_import.rows`, `meals_import.file_size`, `meals_import.as_task` (1: the
upload was queued for the Celery task, not run in the request), `meals_import.time` (start and run), `meals_import.rows_per_second`, `meals_import.bare_read` (python-calamine reading the same file,
best of 3), `meals_import.ratio` (time ÷ bare read), `meals_import.peak_memory`.
"""

from __future__ import annotations

import argparse
import io
import sys
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, mb, measure, note, setup_django, timer  # noqa: E402


def _pilots(term, schools: int, by):
    """The term's pilot schools, enrolling more of the county's rural schools until there are `schools`."""
    from django.core.exceptions import ValidationError

    from nutrition import services
    from nutrition.models import PilotSchool
    from students.models import School

    pilots = list(PilotSchool.objects.filter(term=term).select_related("school"))
    candidates = (
        School.objects.filter(is_rural=True, is_active=True)
        .exclude(pk__in=[p.school_id for p in pilots])
        .order_by("code")
    )
    for school in candidates.iterator():
        if len(pilots) >= schools:
            break
        try:
            pilots.append(
                services.pilot_enrol(
                    term=term, school=school, supply_mode=PilotSchool.SupplyMode.CANTEEN, by=by
                )
            )
        except ValidationError:
            continue  # a school the plan does not feed (a kindergarten without the preschool plan)
    return pilots[:schools]


def _month(term) -> date:
    """The last whole month of the term that has ended (meals are recorded once served)."""
    from django.utils import timezone

    last = min(term.end, timezone.localdate())
    month = last.replace(day=1)
    if (month + timedelta(days=32)).replace(day=1) - timedelta(days=1) > last:
        month = (month - timedelta(days=1)).replace(day=1)
    return max(month, term.start.replace(day=1))


def make_file(pilots, term, month: date) -> bytes:
    from openpyxl import Workbook

    from nutrition import rules
    from nutrition.importing import HEADER
    from students.models import Stage

    names = {Stage.PRESCHOOL: "学前", Stage.PRIMARY: "小学", Stage.JUNIOR: "初中"}
    next_month = (month + timedelta(days=32)).replace(day=1)
    holidays = set(term.holidays.values_list("day", flat=True))
    days = [d for d in rules.school_days(term, holidays) if month <= d < next_month]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("供餐")
    ws.append(HEADER)
    rows = 0
    for pilot in pilots:
        stages = [s for s in (Stage.PRIMARY, Stage.JUNIOR) if pilot.covered_for(s)]
        if pilot.preschool_plan and pilot.covered_for(Stage.PRESCHOOL):
            stages.append(Stage.PRESCHOOL)
        for day in days:
            for stage in stages:
                ws.append([pilot.school.code, day.isoformat(), names[stage], pilot.covered_for(stage)])
                rows += 1
    buffer = io.BytesIO()
    wb.save(buffer)
    note(f"meals: {len(pilots)} schools, {len(days)} school days of {month:%Y-%m}, {rows} rows")
    return buffer.getvalue()


def bare_read(data: bytes, repeat: int = 3) -> float:
    from python_calamine import CalamineWorkbook

    best = float("inf")
    for _ in range(repeat):
        with timer() as t:
            CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
        best = min(best, t())
    return best


def run(schools: int, *, read_repeat: int = 3) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import transaction

    from nutrition import importing
    from nutrition.models import MealImport, NutritionTerm
    from portal.models import User

    with transaction.atomic():
        by = User.objects.filter(role=User.Role.BUREAU).order_by("pk").first() or User.objects.create(
            username="bench_meals", role=User.Role.BUREAU
        )
        term = NutritionTerm.objects.order_by("-start").first()
        if term is None:
            raise SystemExit("the county has no nutrition term")
        pilots = _pilots(term, schools, by)
        month = _month(term)
        data = make_file(pilots, term, month)
        upload = SimpleUploadedFile("供餐月报.xlsx", data)

        queued = []

        def start_and_run():
            job = importing.meal_import_start(file=upload, term=term, month=month, by=by)
            # A county's month is above the size that queues the task on commit (which this transaction,
            # rolled back, never reaches): run the task's work here.
            queued.append(not job.is_finished)
            return importing.run(job) if not job.is_finished else job

        seconds, peak, job = measure(start_and_run)
        if job.status != MealImport.Status.DONE:
            raise SystemExit(f"meals import {job.status}: {job.message} {job.errors[:5]}")
        read = bare_read(data, read_repeat)
        emit("meals_import.schools", len(pilots), "rows")
        emit("meals_import.rows", job.imported, "rows")
        emit("meals_import.file_size", len(data) / 1024, "KB")
        emit("meals_import.as_task", int(queued[0]), "flag")
        emit("meals_import.time", seconds, "s")
        emit("meals_import.rows_per_second", job.imported / seconds if seconds else 0, "rows/s")
        emit("meals_import.bare_read", read, "s")
        emit("meals_import.ratio", seconds / read if read else 0, "x")
        emit("meals_import.peak_memory", mb(peak), "MB")
        transaction.set_rollback(True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=224)
    args = parser.parse_args()
    setup_django()
    run(args.schools)


if __name__ == "__main__":
    main()
