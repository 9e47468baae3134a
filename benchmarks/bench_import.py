"""Student Excel import of 150,000 rows: time ÷ the time to merely read the file with the fastest reader
available (python-calamine, goal ≤ 4), peak memory, and where the time goes (read, validate, write); and the
write beside a bare COPY of the same student rows into the students table, the floor of any write.

The file holds new students of the county's schools in the import template's layout (the heaviest case:
every row is created, with its categories). The import goes through `students.services.import_start`,
in this process, inside a transaction that is rolled back, so the benchmark leaves the register as it
found it. The deferred foreign-key checks, which a real import pays when its write commits, are run at the
end of the write (`SET CONSTRAINTS ALL IMMEDIATE`) and timed with it. The bare read, the import and the
bare COPY each run in a fresh process for their peak memory.

    python benchmarks/bench_import.py --rows 150000
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, mb, measure, setup_django, timer  # noqa: E402

CATEGORY_CHOICES = ["", "", "", "", "", "脱贫户", "低保", "留守儿童", "脱贫户、留守儿童", "残疾"]


def make_file(path: str, rows: int, *, seed: int = 7) -> None:
    """A template-layout workbook of `rows` new, valid students (ID numbers unknown to the register)."""
    from openpyxl import Workbook

    from students import id_numbers
    from students.importing import COLUMNS, STAGE_LABEL
    from students.models import STAGE_GRADES, School, Stage, Student, Township

    rng = random.Random(seed)
    schools = list(School.objects.filter(is_active=True).order_by("code")) or list(School.objects.all())
    townships = list(Township.objects.values_list("name", flat=True))
    taken = set(Student.objects.values_list("id_number", flat=True))
    start_age = {
        Stage.PRESCHOOL: 3,
        Stage.PRIMARY: 6,
        Stage.JUNIOR: 12,
        Stage.SENIOR: 15,
        Stage.VOCATIONAL: 15,
    }
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("学生名单")
    ws.append([c[0] for c in COLUMNS])
    # A division code of the county that the demo never uses for its own students: no clash with them.
    division = "360799"
    sequence = 0
    written = 0
    while written < rows:
        school = schools[written % len(schools)]
        stage = rng.choice(school.stages)
        grade = rng.randint(1, min(STAGE_GRADES[stage], 6))
        birth = date(2022 - start_age.get(stage, 7) - grade + 1, rng.randint(1, 8), rng.randint(1, 28))
        sequence += 1
        number = id_numbers.make(division, birth, sequence % 1000)
        if number in taken:
            continue
        taken.add(number)
        ws.append(
            [
                number,
                "测试" + "学生"[sequence % 2] + str(sequence % 97),
                school.code,
                STAGE_LABEL[stage],
                grade,
                "360730",
                "否",
                rng.choice(CATEGORY_CHOICES),
                rng.choice(townships) if townships else "",
                "上坪村",
                "测试家长",
                "13800000000",
            ]
        )
        written += 1
    wb.save(path)


def bare_read(path: str) -> int:
    """The fastest way to get every cell of the first sheet into Python: python-calamine, nothing else."""
    from python_calamine import CalamineWorkbook

    return len(CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python())


def import_file(path: str) -> dict:
    """The real import (upload → job → read → validate → write), rolled back; phase times alongside."""
    from django.core.files import File
    from django.db import connection, transaction
    from django.test.utils import override_settings

    from benchmarks.common import bench_users
    from students import importing, services

    bureau = bench_users()["bureau"]
    phases = {"read": 0.0, "validate": 0.0, "write": 0.0, "staging_copy": 0.0, "constraints": 0.0}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            with timer() as t:
                result = fn(*args, **kwargs)
            phases[name] += t()
            return result

        return wrapper

    def write_and_check(*args, **kwargs):
        # What the commit of a real import runs: the foreign-key checks Django's constraints defer.
        result = write(*args, **kwargs)
        with timer() as t, connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        phases["constraints"] += t()
        return result

    staging = getattr(importing, "staging", None)  # the COPY path (issue 19); absent in older versions
    originals = importing.read_rows, importing.validate, importing.write
    write = importing.write
    importing.read_rows = timed("read", importing.read_rows)
    importing.validate = timed("validate", importing.validate)
    importing.write = timed("write", write_and_check)
    if staging is not None:
        copy_rows = staging.copy_rows
        staging.copy_rows = timed("staging_copy", copy_rows)
    job = None
    try:
        # Run in this process whatever the size (the Celery task would call the same `importing.run`).
        with override_settings(IMPORT_ASYNC_THRESHOLD_BYTES=1 << 40), transaction.atomic():
            with open(path, "rb") as handle:
                job = services.import_start(upload=File(handle, name="students.xlsx"), by=bureau)
            outcome = {"status": job.status, "created": job.created_count, "message": job.message}
            transaction.set_rollback(True)
    finally:
        importing.read_rows, importing.validate, importing.write = originals
        if staging is not None:
            staging.copy_rows = copy_rows
        if job is not None and job.file:
            job.file.storage.delete(job.file.name)
    return {**outcome, **phases}


STUDENT_COLUMNS = (
    "id_number, name, sex, birth_date, school_id, stage, grade, household_county_code, is_boarding, "
    "home_township_id, village, guardian_name, guardian_phone, status, enrolled_on, created_at, updated_at"
)


def bare_copy(path: str) -> float:
    """The floor of any write of these students: their rows, made ready beforehand (not timed), COPY'd
    straight into the students table (its indexes, change-history trigger and foreign-key checks included),
    rolled back. Seconds."""
    import csv
    import io

    from django.db import connection, transaction
    from django.utils import timezone
    from python_calamine import CalamineWorkbook

    from students import id_numbers
    from students.importing import STAGE_NAMES
    from students.models import School, Township

    schools = dict(School.objects.values_list("code", "pk"))
    townships = dict(Township.objects.values_list("name", "pk"))
    today, now = timezone.localdate(), timezone.now()
    rows = CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()[1:]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for (
        number,
        name,
        school,
        stage,
        grade,
        household,
        boarding,
        _c,
        township,
        village,
        guardian,
        phone,
        *_national,
    ) in rows:
        parsed = id_numbers.parse(number)
        writer.writerow(
            (number, name, parsed.sex, parsed.birth_date, schools[school], STAGE_NAMES[stage], int(grade))
            + (household, boarding == "是", townships.get(township), village, guardian, phone)
            + ("enrolled", today, now, now)
        )
    del rows
    with transaction.atomic(), connection.cursor() as cursor:
        buffer.seek(0)
        with timer() as t:
            cursor.copy_expert(
                f"COPY students_student ({STUDENT_COLUMNS}) FROM STDIN WITH (FORMAT csv)", buffer
            )
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        transaction.set_rollback(True)
    return t()


def child(mode: str, path: str) -> None:
    if mode == "read":
        seconds, peak, rows = measure(lambda: bare_read(path))
        emit("import.bare_read", seconds, "s")
        emit("import.bare_read_peak_memory", mb(peak), "MB")
    elif mode == "copy":
        emit("import.bare_copy", bare_copy(path), "s")
    else:
        seconds, peak, outcome = measure(lambda: import_file(path))
        if outcome["status"] != "done":
            raise SystemExit(f"import did not succeed: {outcome}")
        emit("import.time", seconds, "s")
        emit("import.peak_memory", mb(peak), "MB")
        emit("import.created", outcome["created"], "rows")
        for phase in ("read", "validate", "write", "staging_copy", "constraints"):
            emit(f"import.phase_{phase}", outcome[phase], "s")


def run(rows: int, *, isolated: bool = True, read_repeat: int = 3) -> None:
    """Build the file, then the bare read (best of `read_repeat`) and the import side by side."""
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        make_file(path, rows)
        emit("import.rows", rows, "rows")
        emit("import.file_size", mb(os.path.getsize(path)), "MB")
        figures: dict[str, float] = {}
        runs = ["read", "import", "copy"] + ["read"] * (read_repeat - 1)
        for mode in runs:
            if isolated:
                done = subprocess.run(
                    [sys.executable, __file__, "--child", mode, path], capture_output=True, text=True
                )
                if done.returncode:
                    raise SystemExit(f"{mode} failed:\n{done.stderr}")
                out = done.stdout
            else:
                from contextlib import redirect_stdout
                from io import StringIO

                buffer = StringIO()
                with redirect_stdout(buffer):
                    child(mode, path)
                out = buffer.getvalue()
            for line in out.splitlines():
                name, value, unit = line.split(" ")
                if name == "import.bare_read":
                    figures[name] = min(figures.get(name, float("inf")), float(value))
                    continue
                if name == "import.bare_read_peak_memory" and name in figures:
                    continue
                figures[name] = float(value)
                print(line, flush=True)
        emit("import.bare_read", figures["import.bare_read"], "s")
        ratio = figures["import.time"] / figures["import.bare_read"] if figures["import.bare_read"] else 0.0
        emit("import.ratio", ratio, "x")
        if figures.get("import.bare_copy"):
            emit(
                "import.write_vs_bare_copy", figures["import.phase_write"] / figures["import.bare_copy"], "x"
            )
        emit(
            "import.rows_per_second",
            rows / figures["import.time"] if figures["import.time"] else 0.0,
            "rows/s",
        )
    finally:
        os.unlink(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"))
    args = parser.parse_args()
    setup_django()
    if args.child:
        child(*args.child)
    else:
        run(args.rows)


if __name__ == "__main__":
    main()
