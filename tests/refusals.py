"""Proof that a refused request wrote nothing.

A refusal test that only checks the status code passes as well when the write went through and the
response was wrong afterwards. `nothing_written()` counts the rows of every table of the portal's apps
(the change-history tables included, so an UPDATE shows as a new history row) before and after the
block, and reloads the rows it is given and compares every column:

    with nothing_written(student_b):
        response = client.patch(url, valid_body)
    assert response.status_code == 404
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.apps import apps
from django.db import connection, models

PORTAL_APPS = ("portal", "students", "subsidies", "dropout_control", "nutrition", "reports", "pghistory")

# Written on purpose by a refusal: the access log records each refused attempt.
LOGS = ("portal.AccessLog",)


def _tables() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in PORTAL_APPS
        and model._meta.managed
        and not model._meta.proxy
        and model._meta.label not in LOGS
    ]


def row_counts(*, besides: tuple[type[models.Model], ...] = ()) -> dict[str, int]:
    """Rows per table, counted in one statement (a refusal walk asks this hundreds of times)."""
    allowed = {model._meta.label for model in besides}
    counted = [
        model
        for model in _tables()
        if model._meta.label not in allowed and not _is_history_of(model, allowed)
    ]
    quote = connection.ops.quote_name
    select = ", ".join(f"(SELECT count(*) FROM {quote(model._meta.db_table)})" for model in counted)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select}")
        counts = cursor.fetchone()
    return {model._meta.label: count for model, count in zip(counted, counts, strict=True)}


def _is_history_of(model: type[models.Model], labels: set[str]) -> bool:
    tracked = getattr(model, "pgh_tracked_model", None)
    return tracked is not None and tracked._meta.label in labels


def _columns(row: models.Model) -> dict[str, object]:
    return {field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields}


@contextmanager
def nothing_written(*rows: models.Model, besides: tuple[type[models.Model], ...] = ()) -> Iterator[None]:
    """Assert that the block inserts, updates and deletes nothing; `rows` are reloaded and compared.

    `besides`: models whose rows the refusal itself records (a rejected import keeps its ImportJob, with
    the reasons, for the clerk to read), and their history.
    """
    counts = row_counts(besides=besides)
    columns = [_columns(row) for row in rows]
    yield
    after = row_counts(besides=besides)
    changed = {label: (counts[label], after[label]) for label in counts if counts[label] != after[label]}
    assert not changed, f"rows written (table: before, after): {changed}"
    for row, before in zip(rows, columns, strict=True):
        row.refresh_from_db()
        assert _columns(row) == before, f"{row._meta.label} {row.pk} changed"
