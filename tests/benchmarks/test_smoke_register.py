"""A tiny run of the household-register benchmark (issue 18), so that the script cannot rot."""

from __future__ import annotations

import pytest

from benchmarks import bench_register
from tests.benchmarks.test_smoke import figures
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


def test_register_prints_both_uploads_and_the_second_makes_no_new_suspect(bureau, school_a, capsys):
    for _ in range(18):  # nine tenths of the list are registered pupils
        StudentFactory(school=school_a)
    bench_register.run(20)
    out = figures(capsys.readouterr().out)
    assert out["register.rows"] == (20, "rows")
    assert out["register.first.suspects"][0] == 2  # the unknown tenth of the list
    assert out["register.second.new_suspects"] == (0, "rows")
    assert out["register.second.kept"] == (2, "rows")
