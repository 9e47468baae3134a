"""The runtime database role: what the web server and the workers may do in the database.

Two roles share the database (SECURITY.md, "Database roles"). The schema owner runs the migrations and this
grant. The runtime role, which the web server and the workers connect as, owns nothing: PostgreSQL lets only
a table's owner (or a superuser) alter, disable or drop its triggers, and only a superuser may set
`session_replication_role`, so the triggers that guard the access log hold for it. The triggers alone are not
enough: `pgtrigger.ignore` is an ordinary session setting any role may set. What stops the runtime role is
that it holds no UPDATE, DELETE or TRUNCATE privilege on the tables that record what happened:

- the access log, and any other table protected against updates by a pgtrigger `Protect` trigger;
- the change-history tables, written by the pghistory triggers, which run with the privileges of the role
  whose statement fired them (they are not SECURITY DEFINER): the runtime role must be able to insert there.

Deleting old access-log entries (after 180 days) is the owner's job.
"""

from __future__ import annotations

import re

import pghistory.models
import pgtrigger
from django.apps import apps
from django.conf import settings
from django.core import checks
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder

# Role names are written into statements (GRANT takes no parameters): only plain lower-case identifiers.
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

ORDINARY = "SELECT, INSERT, UPDATE, DELETE"
APPEND_ONLY = "SELECT, INSERT"
# pghistory's context trigger upserts the request's context row (INSERT ... ON CONFLICT DO UPDATE).
CONTEXT = "SELECT, INSERT, UPDATE"
READ_ONLY = "SELECT"


def append_only_tables() -> set[str]:
    """Tables the runtime role may only add rows to and read: change history, and tables whose own triggers
    refuse updates (the access log)."""
    tables = set()
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        protected = any(
            isinstance(trigger, pgtrigger.Protect) and "UPDATE" in str(trigger.operation)
            for trigger in getattr(model._meta, "triggers", [])
        )
        if protected or issubclass(model, pghistory.models.Event):
            tables.add(model._meta.db_table)
    return tables


def _privileges_by_table(cursor) -> dict[str, str]:
    cursor.execute(
        """SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm')"""
    )
    append_only = append_only_tables()
    special = {
        pghistory.models.Context._meta.db_table: CONTEXT,
        MigrationRecorder.Migration._meta.db_table: READ_ONLY,
    }
    privileges = {}
    for name, kind in cursor.fetchall():
        if kind in ("v", "m"):
            privileges[name] = READ_ONLY
        elif name in special:
            privileges[name] = special[name]
        elif name in append_only:
            privileges[name] = APPEND_ONLY
        else:
            privileges[name] = ORDINARY
    return privileges


def runtime_role_grant(*, role: str, password: str = "") -> list[str]:
    """Create the runtime role if it is missing (with `password`, if given) and set exactly its privileges on
    the current database's schema: what it held before is revoked first, so the grant can be re-run after
    every migration. Returns what is still wrong with the role (empty when it is safe; see `role_problems`)."""
    if not ROLE_NAME.match(role):
        raise ValueError(f"not a plain role name: {role!r}")
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            cursor.execute(
                f"CREATE ROLE {quote(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
                " PASSWORD %s",
                [password or None],
            )
        elif password:
            cursor.execute(f"ALTER ROLE {quote(role)} LOGIN PASSWORD %s", [password])
        cursor.execute("SELECT current_database(), current_schema()")
        database, schema = cursor.fetchone()
        cursor.execute(f"GRANT CONNECT ON DATABASE {quote(database)} TO {quote(role)}")
        cursor.execute(f"REVOKE CREATE ON SCHEMA {quote(schema)} FROM {quote(role)}")
        cursor.execute(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {quote(role)}")
        cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {quote(schema)} FROM {quote(role)}")
        cursor.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {quote(schema)} FROM {quote(role)}")
        by_privileges: dict[str, list[str]] = {}
        for table, privileges in _privileges_by_table(cursor).items():
            by_privileges.setdefault(privileges, []).append(quote(table))
        for privileges, tables in by_privileges.items():
            cursor.execute(f"GRANT {privileges} ON TABLE {', '.join(sorted(tables))} TO {quote(role)}")
        # nextval() for the id columns; no UPDATE, which would allow setval().
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {quote(role)}")
        return role_problems(cursor, role)


def role_problems(cursor, role: str) -> list[str]:
    """What would let `role` change the record of what happened: role attributes, ownership (directly or
    through a role it belongs to), a privilege beyond INSERT and SELECT on an append-only table, or the
    right to create objects in the schema (a function there could shadow one the owner's triggers call)."""
    cursor.execute(
        """SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
           FROM pg_roles WHERE rolname = %s""",
        [role],
    )
    row = cursor.fetchone()
    if row is None:
        return [f"role {role} does not exist"]
    problems = [
        f"role {role} has {name}"
        for name, held in zip(
            ("SUPERUSER", "CREATEROLE", "CREATEDB", "REPLICATION", "BYPASSRLS"), row, strict=True
        )
        if held
    ]
    cursor.execute(
        """SELECT count(*), min(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND pg_has_role(%s, c.relowner, 'MEMBER')""",
        [role],
    )
    owned, example = cursor.fetchone()
    if owned:
        problems.append(f"role {role} owns {owned} objects such as {example} (or belongs to their owner)")
    cursor.execute("SELECT has_schema_privilege(%s, current_schema(), 'CREATE')", [role])
    if cursor.fetchone()[0]:
        problems.append(f"role {role} may create objects in the schema")
    cursor.execute(
        """SELECT p, count(*), min(t) FROM unnest(%s::text[]) AS t,
               unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p
           WHERE to_regclass(t) IS NOT NULL AND has_table_privilege(%s, to_regclass(t), p)
           GROUP BY p ORDER BY p""",
        [sorted(append_only_tables()), role],
    )
    problems += [
        f"role {role} has {privilege} on {count} append-only tables such as {example}"
        for privilege, count, example in cursor.fetchall()
    ]
    return problems


@checks.register(checks.Tags.database)
def check_runtime_role(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """`manage.py check --database default`: the app's connection must not be able to change the access log.
    An error in production; a warning with DEBUG on, where one role for everything is a development server."""
    if settings.DATABASE_AS_OWNER or "default" not in (databases or []):
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (role,) = cursor.fetchone()
        problems = role_problems(cursor, role)
    level = checks.Warning if settings.DEBUG else checks.Error
    return [
        level(
            f"The app's database role can change the record of what happened: {problem}.",
            hint="Connect as a runtime role (DATABASE_URL) set up by grant_runtime_role; SECURITY.md.",
            id="portal.E001" if level is checks.Error else "portal.W001",
        )
        for problem in problems
    ]
