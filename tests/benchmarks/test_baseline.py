"""`make bench` prints this run's figures beside an earlier run's (`benchmarks/run_all.py --baseline`)."""

from __future__ import annotations

from benchmarks.run_all import beside, read_figures


def test_new_figures_are_printed_beside_the_old(tmp_path):
    saved = tmp_path / "baseline.txt"
    saved.write_text(
        "# an earlier run\nimport.ratio 12 x\nload.p95 385 ms\nyearend.ratio 1.07 x\nnot a figure\n",
        encoding="utf-8",
    )
    old = read_figures(saved)
    assert old == {"import.ratio": (12.0, "x"), "load.p95": (385.0, "ms"), "yearend.ratio": (1.07, "x")}

    table = beside(["import.ratio 6 x", "load.p95 250 ms", "pages.max_queries 10 queries"], old)

    assert table[0].split() == ["figure", "before", "now", "unit", "change"]
    rows = {line.split()[0]: line.split()[1:] for line in table[1:]}
    assert rows["import.ratio"] == ["12", "6", "x", "0.50x"]
    assert rows["load.p95"] == ["385", "250", "ms", "0.65x"]
    # A figure the earlier run did not have is shown without a "before".
    assert rows["pages.max_queries"] == ["-", "10", "queries"]
    # The baseline's figures this run did not measure are not invented.
    assert "yearend.ratio" not in rows
