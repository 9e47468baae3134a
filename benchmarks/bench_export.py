"""Student Excel export of the whole county: time and peak memory at a quarter, half and all of the
register (goal: memory flat as rows grow).

Each size runs in a process of its own, so that its peak memory is its own. The export is the one the
list's "export" button runs: `students.importing.export_workbook` and the response buffer of
`portal.excel.workbook_response`.

    python benchmarks/bench_export.py            # every size, one process each
    python benchmarks/bench_export.py --rows N   # one size in this process
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, mb, measure, setup_django  # noqa: E402


def students_upto(rows: int):
    """The first `rows` students by id, as a filterable queryset (a slice could not be re-ordered)."""
    from students.models import Student

    last = list(Student.objects.order_by("pk").values_list("pk", flat=True)[rows - 1 : rows])
    if not last:
        return Student.objects.all()
    return Student.objects.filter(pk__lte=last[0])


def export_once(rows: int) -> tuple[float, int, int]:
    """(seconds, peak bytes, bytes of the file) of one export of `rows` students."""
    from portal.excel import workbook_response
    from students.importing import export_workbook

    queryset = students_upto(rows)

    def export():
        return workbook_response(export_workbook(queryset, full_ids=False), "students.xlsx")

    seconds, peak, response = measure(export)
    return seconds, peak, len(response.content)


def sizes(total: int) -> list[int]:
    return sorted({max(1, total // 4), max(1, total // 2), max(1, total)})


def emit_one(rows: int, seconds: float, peak: int, size: int) -> None:
    emit(f"export.students_{rows}.time", seconds, "s")
    emit(f"export.students_{rows}.peak_memory", mb(peak), "MB")
    emit(f"export.students_{rows}.size", mb(size), "MB")


def run_in_process() -> None:
    """Every size in this process (the smoke test's way: memory figures are then upper-bounded only)."""
    from students.models import Student

    for rows in sizes(Student.objects.count()):
        emit_one(rows, *export_once(rows))


def run_isolated() -> None:
    """Every size in a fresh process, then the growth of memory and time from the smallest to the whole."""
    from students.models import Student

    results = {}
    for rows in sizes(Student.objects.count()):
        out = subprocess.run(
            [sys.executable, __file__, "--rows", str(rows)], check=True, capture_output=True, text=True
        ).stdout
        print(out, end="", flush=True)
        figures = dict(line.split(" ")[:2] for line in out.splitlines())
        results[rows] = (
            float(figures[f"export.students_{rows}.time"]),
            float(figures[f"export.students_{rows}.peak_memory"]),
        )
    small, big = min(results), max(results)
    emit("export.students.rows", big, "rows")
    emit("export.students.rows_per_second", big / results[big][0] if results[big][0] else 0.0, "rows/s")
    # Flat memory: the whole county needs about what a quarter of it does (1.0 = perfectly flat).
    growth = results[big][1] / results[small][1] if results[small][1] else 0.0
    emit("export.students.memory_growth", growth, "x")
    emit("export.students.row_growth", big / small, "x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args()
    setup_django()
    if args.rows:
        emit_one(args.rows, *export_once(args.rows))
    else:
        run_isolated()


if __name__ == "__main__":
    main()
