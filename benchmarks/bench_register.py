"""The household-register comparison (四查三比对) of a county-size list, as its Celery task runs it (issue 18).

A Ningdu-size household list holds ~110,000 children of compulsory age; the goal is under a minute for the
whole comparison on the development machine (read, check, compare with the registry, long absences, cases,
the out-of-county ledger and earlier decisions, write the rows and suspects). Most children of the list are
the county's registered pupils (their own ID numbers and townships), the rest are children the registry does
not know: each becomes a suspect on the first upload. The same list is then uploaded again: it must make no
new suspect (they are carried) and keep every decision.

Both uploads run through `dropout_control.matching.run` (the task's work) inside a transaction that is rolled
back, so the benchmark leaves the county as it found it.

    DATABASE_URL=postgres://.../portal_bench python benchmarks/bench_register.py --rows 110000

Latest (2026-11-26, the development VM, 2 vCPU, the Ningdu-size county of `seed_demo --scale ningdu`, 145,057
students): 110,000 children, first upload 26.7 s (11,001 suspects), second upload 23.9 s (0 new, 11,001 kept),
peak memory 179 MB. Goal: under 60 s.

Figures: `register.rows`, `register.first.time`, `register.first.suspects`, `register.second.time`,
`register.second.new_suspects` (0), `register.second.kept`, `register.peak_memory`.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, mb, measure, note, setup_django  # noqa: E402

AS_OF = date(2025, 9, 1)
UNKNOWN_SHARE = 0.1  # children the registry does not know: suspects of the first upload


def make_file(rows: int, *, seed: int = 11) -> bytes:
    """A household list of `rows` compulsory-age children: registered pupils first, then unknown children."""
    import io

    from openpyxl import Workbook

    from dropout_control.rules import COMPULSORY_AGE_MAX, COMPULSORY_AGE_MIN
    from students import id_numbers
    from students.models import Student, Township

    rng = random.Random(seed)
    townships = list(Township.objects.values_list("name", flat=True)) or ["梅江镇"]
    youngest = date(AS_OF.year - COMPULSORY_AGE_MIN, AS_OF.month, AS_OF.day)
    oldest = date(AS_OF.year - COMPULSORY_AGE_MAX - 1, AS_OF.month, AS_OF.day)
    known = int(rows * (1 - UNKNOWN_SHARE))
    pupils = list(
        Student.objects.filter(birth_date__gt=oldest, birth_date__lte=youngest)
        .values_list("id_number", "name", "home_township__name", "village")
        .order_by("pk")[:known]
    )
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("户籍名单")
    ws.append(["身份证号", "姓名", "乡镇", "村", "脱贫户"])
    for number, name, township, village in pupils:
        ws.append([number, name, township or rng.choice(townships), village or "上坪村", ""])
    taken = {p[0] for p in pupils} | set(Student.objects.values_list("id_number", flat=True))
    written, sequence = len(pupils), 0
    while written < rows:
        sequence += 1
        birth = date(rng.randint(oldest.year + 1, youngest.year - 1), rng.randint(1, 12), rng.randint(1, 28))
        number = id_numbers.make("360799", birth, sequence % 1000)
        if number in taken:
            continue
        taken.add(number)
        ws.append(
            [number, f"儿童{sequence}", rng.choice(townships), "下坊村", "是" if sequence % 7 == 0 else ""]
        )
        written += 1
    buffer = io.BytesIO()
    wb.save(buffer)
    note(
        f"household list: {rows} children, {len(pupils)} registered pupils, {len(buffer.getvalue()) // 1024} KB"
    )
    return buffer.getvalue()


def _compare(data: bytes, by):
    from django.core.files.base import ContentFile

    from dropout_control import matching
    from dropout_control.models import HouseholdRegisterUpload

    upload = HouseholdRegisterUpload.objects.create(
        file_name="户籍名单.xlsx",
        file=ContentFile(data, name="户籍名单.xlsx"),
        as_of=AS_OF,
        uploaded_by=by,
        status=HouseholdRegisterUpload.Status.PENDING,
    )
    return matching.run(upload)


def run(rows: int) -> None:
    from django.db import transaction

    from portal.models import User

    data = make_file(rows)
    with transaction.atomic():
        by = User.objects.filter(role=User.Role.BUREAU).order_by("pk").first() or User.objects.create(
            username="bench_register", role=User.Role.BUREAU
        )
        first_seconds, peak, first = measure(lambda: _compare(data, by))
        if first.status != "done":
            raise SystemExit(f"first upload {first.status}: {first.message}")
        second_seconds, _peak, second = measure(lambda: _compare(data, by))
        emit("register.rows", first.row_count, "rows")
        emit("register.first.time", first_seconds, "s")
        emit("register.first.suspects", first.suspect_count, "rows")
        emit("register.second.time", second_seconds, "s")
        emit("register.second.new_suspects", second.suspect_count, "rows")
        emit("register.second.kept", second.kept_count, "rows")
        emit("register.peak_memory", mb(peak), "MB")
        transaction.set_rollback(True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=110_000)
    args = parser.parse_args()
    setup_django()
    run(args.rows)


if __name__ == "__main__":
    main()
