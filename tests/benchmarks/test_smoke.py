"""A tiny run of every benchmark, so that the scripts cannot rot: each prints well-formed `name value unit`
lines with the figures the README explains. No timing is asserted (a test machine's speed proves nothing).
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from benchmarks import bench_export, bench_import, bench_lists, bench_queries, bench_seed, bench_yearend
from benchmarks.common import LINE

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def tiny_county(django_db_setup, django_db_blocker):
    """One tiny county for the module, in a transaction rolled back at its end (tests nest savepoints)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("seed_demo", scale="demo", students=40, past=False, stdout=StringIO())
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def figures(output: str) -> dict[str, tuple[float, str]]:
    lines = [line for line in output.splitlines() if line]
    bad = [line for line in lines if not LINE.match(line)]
    assert lines and not bad, bad
    return {name: (float(value), unit) for name, value, unit in (line.split(" ") for line in lines)}


def test_seed_counts_the_county(tiny_county, db, capsys):
    bench_seed.counts("county")
    out = figures(capsys.readouterr().out)
    assert out["county.students"] == (40, "rows")
    assert out["county.schools"][0] > 0


def test_yearend_prints_rebuild_bare_sql_and_ratio(tiny_county, db, capsys):
    bench_yearend.run(repeat=1)
    out = figures(capsys.readouterr().out)
    assert {"yearend.rebuild", "yearend.bare_sql", "yearend.ratio", "yearend.queries"} <= out.keys()
    assert out["yearend.queries"][0] > 0
    assert out["yearend_workbook.peak_memory"][1] == "MB"


def test_export_prints_time_and_memory_per_size(tiny_county, db, capsys):
    bench_export.run_in_process()
    out = figures(capsys.readouterr().out)
    assert {
        "export.students_10.time",
        "export.students_20.peak_memory",
        "export.students_40.size",
    } <= out.keys()


def test_import_prints_ratio_to_bare_read(tiny_county, db, capsys):
    from students.models import Student

    before = Student.objects.count()
    bench_import.run(30, isolated=False, read_repeat=1)
    out = figures(capsys.readouterr().out)
    assert out["import.created"] == (30, "rows")
    assert {"import.ratio", "import.bare_read", "import.peak_memory", "import.phase_write"} <= out.keys()
    assert {"import.bare_copy", "import.write_vs_bare_copy", "import.phase_constraints"} <= out.keys()
    assert Student.objects.count() == before  # rolled back


def test_query_counts_cover_every_list_and_summarise(tiny_county, db, capsys):
    results = bench_queries.run("small", repeat=1)
    lines = capsys.readouterr().out
    out = figures(lines)
    assert "pages_small.students:student_list.queries" in out
    assert "pages_small.student-list.queries" in out
    assert results["students:student_list"]["queries"] > 0
    bench_queries.summarise(
        bench_queries.parse(lines.splitlines(), "small"), bench_queries.parse(lines.splitlines(), "small")
    )
    summary = figures(capsys.readouterr().out)
    assert summary["pages.queries_grow_with_rows"] == (0, "urls")


def test_meals_import_prints_a_month_of_the_pilots_and_leaves_the_county_as_it_was(tiny_county, db, capsys):
    from benchmarks import bench_meals
    from nutrition.models import MealImport, MealRecord, PilotSchool

    before = (MealRecord.objects.count(), PilotSchool.objects.count(), MealImport.objects.count())
    bench_meals.run(10, read_repeat=1)
    out = figures(capsys.readouterr().out)
    assert out["meals_import.schools"] == (10, "rows")
    assert out["meals_import.rows"][0] >= 10  # each school, a school day and a stage at least
    assert {
        "meals_import.time",
        "meals_import.ratio",
        "meals_import.as_task",
        "meals_import.bare_read",
    } <= out.keys()
    after = (MealRecord.objects.count(), PilotSchool.objects.count(), MealImport.objects.count())
    assert after == before  # rolled back


def test_lists_prints_the_student_list_pages(tiny_county, db, capsys):
    bench_lists.run(repeat=1)
    out = figures(capsys.readouterr().out)
    assert out["lists.student_list.pages"][0] >= 1
    assert "lists.student_list.usual.last.server_time" in out
    assert "lists.student_list.by_name_desc.first.queries" in out
    assert not any(name.endswith(".status") for name in out)
