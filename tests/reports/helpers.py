from __future__ import annotations

import io

from openpyxl import load_workbook

from reports import services


def built_snapshot(year: int, by, basis: str = "school"):
    snapshot = services.snapshot_request(year=year, basis=basis, by=by)
    return services.snapshot_build(snapshot_id=snapshot.pk)


def read_workbook(response):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return load_workbook(io.BytesIO(content))


def rows_of(ws) -> list[list]:
    return [list(row) for row in ws.iter_rows(values_only=True)]


def line(ws, label: str, *, after: str | None = None) -> list:
    """The first row whose first cell is `label` (below the row whose first cell is `after`, if given)."""
    started = after is None
    for row in rows_of(ws):
        if not started:
            started = row and row[0] == after
            continue
        if row and row[0] == label:
            return row
    raise AssertionError(f"no row {label!r} in {ws.title}")
