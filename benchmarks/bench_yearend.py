"""Year-end snapshot rebuild time ÷ the time of the bare SQL aggregates it needs (goal ≤ 3), and the
year-end workbook export.

The "bare SQL" is the very set of SELECT statements the rebuild sends, captured once and then replayed
through a raw cursor: the ratio is what the ORM, the Python around the figures, the JSON and the final
UPDATE cost on top of the database's own work. Rebuild and replay alternate, best of each, so that a busy
machine slows both alike.

    python benchmarks/bench_yearend.py [--year 2022] [--basis school] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, mb, measure, note, setup_django, timer  # noqa: E402


def data_year() -> int:
    """The school year the demo's aid was paid for (the latest with payments), or this year's."""
    from django.db.models import Max
    from django.utils import timezone

    try:
        from subsidies.models import Payment

        latest = Payment.objects.aggregate(year=Max("school_year"))["year"]
    except Exception:  # the subsidies app may be unfinished: fall back to the running school year
        latest = None
    today = timezone.localdate()
    return latest or (today.year if today.month >= 9 else today.year - 1)


def rebuild(*, year: int, basis: str):
    """One rebuild as the Celery task does it: a new building snapshot, then its build."""
    from django.conf import settings

    from reports import services
    from reports.models import YearEndSnapshot

    snapshot = YearEndSnapshot.objects.create(county_code=settings.HOME_COUNTY_CODE, year=year, basis=basis)
    return services.snapshot_build(snapshot_id=snapshot.pk)


def captured_selects(*, year: int, basis: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        rebuild(year=year, basis=basis)
    return [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]


def replay(statements: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            cursor.fetchall()


def run(*, year: int | None = None, basis: str = "school", repeat: int = 2) -> None:
    from reports import excel
    from reports.models import YearEndSnapshot

    year = year or data_year()
    statements = captured_selects(year=year, basis=basis)  # also warms the caches for both sides
    rebuilds, replays = [], []
    snapshot = None
    for _ in range(repeat):
        with timer() as t:
            snapshot = rebuild(year=year, basis=basis)
        rebuilds.append(t())
        with timer() as t:
            replay(statements)
        replays.append(t())
    if snapshot.status != YearEndSnapshot.Status.READY:
        note(f"year-end snapshot failed: {snapshot.error}")
    best_rebuild, best_sql = min(rebuilds), min(replays)
    emit("yearend.year", year, "year")
    emit("yearend.queries", len(statements), "queries")
    emit("yearend.rebuild", best_rebuild, "s")
    emit("yearend.bare_sql", best_sql, "s")
    emit("yearend.ratio", best_rebuild / best_sql if best_sql else 0.0, "x")

    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        seconds, peak, _ = measure(lambda: excel.write_workbook(snapshot, path))
        emit("yearend_workbook.export", seconds, "s")
        emit("yearend_workbook.peak_memory", mb(peak), "MB")
        emit("yearend_workbook.size", mb(os.path.getsize(path)), "MB")
    finally:
        os.unlink(path)
    # Keep the benchmark database small: only the newest measured snapshot stays.
    YearEndSnapshot.objects.filter(year=year, basis=basis, built_by=None).exclude(pk=snapshot.pk).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", type=int, default=None)
    parser.add_argument("--basis", choices=["school", "calendar"], default="school")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    setup_django()
    run(year=args.year, basis=args.basis, repeat=args.repeat)


if __name__ == "__main__":
    main()
