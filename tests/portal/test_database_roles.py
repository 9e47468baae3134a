"""The web server and the workers connect as a runtime role that cannot change the access log by any route
(issue 11, finding 4; SECURITY.md, "Database roles").

The suite runs as the schema owner (it creates its own database). Each test here creates a runtime role of its
own with the grant the owner runs after migrate, connects as it (committed rows, hence transactional tests)
and tries a route; the entry is then read back as the owner, unchanged. Roles are cluster-wide: the names are
unique and the roles are dropped afterwards.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager

import pghistory
import pgtrigger
import psycopg2
import pytest
from django.core.management import call_command
from django.db import InternalError, ProgrammingError, connection, transaction
from psycopg2 import errors

from portal.db_roles import check_runtime_role, role_problems, runtime_role_grant
from portal.models import AccessLog
from students.models import Student, StudentEvent

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = AccessLog._meta.db_table


def trigger_pgid(name: str) -> str:
    trigger = next(t for t in AccessLog._meta.triggers if t.name == name)
    return trigger.get_pgid(AccessLog)


class Runtime:
    """A runtime role made by the owner's grant, and connections as it."""

    def __init__(self):
        self.role = f"portal_test_app_{secrets.token_hex(4)}"
        self.password = secrets.token_urlsafe(16)
        self.connections: list = []

    def connect(self):
        params = {**connection.get_connection_params(), "user": self.role, "password": self.password}
        conn = psycopg2.connect(**params)
        self.connections.append(conn)
        return conn

    @contextmanager
    def django(self):
        """Django's own connection as the runtime role, as the web server and the workers have it."""
        saved = {key: connection.settings_dict[key] for key in ("USER", "PASSWORD")}
        connection.close()
        connection.settings_dict.update(USER=self.role, PASSWORD=self.password)
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict.update(saved)


@pytest.fixture
def runtime():
    runtime = Runtime()
    assert runtime_role_grant(role=runtime.role, password=runtime.password) == []
    yield runtime
    for conn in runtime.connections:
        conn.close()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{runtime.role}"')
        cursor.execute(f'DROP ROLE "{runtime.role}"')


@pytest.fixture
def entry():
    return AccessLog.objects.create(
        username="principal_a", action=AccessLog.Action.REVEAL_ID, detail="as logged"
    )


@pytest.fixture
def old_entry():
    """An entry past the 180 days, which the owner's trigger would let the owner delete."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {TABLE} (at, username, action, object_type, object_id, detail)
                VALUES (NOW() - INTERVAL '200 days', 'principal_a', 'login', '', '', 'as logged') RETURNING id"""
        )
        return AccessLog.objects.get(pk=cursor.fetchone()[0])


def attack(runtime: Runtime, statements: list[str]) -> None:
    """Run the statements in one transaction as the runtime role; PostgreSQL must refuse one of them."""
    conn = runtime.connect()
    with pytest.raises(errors.InsufficientPrivilege), conn, conn.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def assert_unchanged(*entries: AccessLog) -> None:
    for entry in entries:
        assert AccessLog.objects.filter(pk=entry.pk, username=entry.username, detail="as logged").exists()


def test_runtime_role_cannot_update_or_delete_an_entry(runtime, entry, old_entry):
    attack(runtime, [f"UPDATE {TABLE} SET username = 'someone_else' WHERE id = {entry.pk}"])
    attack(runtime, [f"DELETE FROM {TABLE} WHERE id = {entry.pk}"])
    # Past the 180 days too: purging old entries is the owner's job, the app deletes none.
    attack(runtime, [f"DELETE FROM {TABLE} WHERE id = {old_entry.pk}"])
    attack(runtime, [f"TRUNCATE {TABLE}"])
    assert_unchanged(entry, old_entry)


def test_runtime_role_cannot_switch_the_triggers_off(runtime, entry):
    update = f"UPDATE {TABLE} SET detail = 'forged' WHERE id = {entry.pk}"
    delete = f"DELETE FROM {TABLE} WHERE id = {entry.pk}"
    ignored = "{" + ",".join(f"{TABLE}:{trigger_pgid(t.name)}" for t in AccessLog._meta.triggers) + "}"
    attack(runtime, ["SET LOCAL session_replication_role = replica", update])
    attack(runtime, ["SET LOCAL session_replication_role = replica", delete])
    attack(runtime, [f"ALTER TABLE {TABLE} DISABLE TRIGGER ALL", delete])
    attack(runtime, [f"DROP TRIGGER {trigger_pgid('access_log_append_only')} ON {TABLE}", update])
    # pgtrigger.ignore is an ordinary session setting: it does skip the triggers, but not the privileges.
    attack(runtime, [f"SELECT set_config('pgtrigger.ignore', '{ignored}', true)", update])
    attack(runtime, [f"SELECT set_config('pgtrigger.ignore', '{ignored}', true)", delete])
    assert_unchanged(entry)


def test_pgtrigger_ignore_through_django_does_not_help(runtime, entry):
    with runtime.django():
        with (
            pytest.raises(ProgrammingError, match="permission denied"),
            pgtrigger.ignore("portal.AccessLog:access_log_append_only"),
        ):
            AccessLog.objects.filter(pk=entry.pk).update(detail="forged")
        with (
            pytest.raises(ProgrammingError, match="permission denied"),
            pgtrigger.ignore("portal.AccessLog:access_log_kept_180_days"),
        ):
            AccessLog.objects.filter(pk=entry.pk).delete()
    assert_unchanged(entry)


def test_runtime_role_cannot_take_over_the_table_or_the_schema(runtime, entry):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
    update = f"UPDATE {TABLE} SET detail = 'forged' WHERE id = {entry.pk}"
    attack(runtime, [f"ALTER TABLE {TABLE} OWNER TO CURRENT_USER"])
    attack(runtime, [f'SET ROLE "{owner}"', update])
    attack(runtime, [f"GRANT UPDATE ON {TABLE} TO CURRENT_USER", update])
    # A function of its own in the schema could shadow one the owner's triggers call.
    attack(runtime, ["CREATE FUNCTION now_shadow() RETURNS int LANGUAGE sql AS 'SELECT 1'"])
    attack(runtime, ["CREATE TABLE portal_shadow (id int)"])
    assert_unchanged(entry)


def test_change_history_takes_rows_and_gives_them_back_only(runtime, student_a):
    event = StudentEvent.objects.filter(pgh_obj=student_a).first()
    table = StudentEvent._meta.db_table
    attack(runtime, [f"UPDATE {table} SET name = 'forged' WHERE pgh_id = {event.pgh_id}"])
    attack(runtime, [f"DELETE FROM {table} WHERE pgh_id = {event.pgh_id}"])
    attack(runtime, [f"TRUNCATE {table}"])
    assert StudentEvent.objects.filter(pgh_id=event.pgh_id, name=event.name).exists()


def test_runtime_role_does_the_apps_work(runtime, entry, student_a):
    """Logging, reading the log, and changing a record with its history and context, through Django."""
    with runtime.django():
        AccessLog.objects.create(username="bureau", action=AccessLog.Action.EXPORT, detail="students.xlsx")
        assert AccessLog.objects.filter(pk=entry.pk).exists()
        with pghistory.context(user=None, source="test"):
            Student.objects.filter(pk=student_a.pk).update(name="张小明明")
    assert AccessLog.objects.filter(action=AccessLog.Action.EXPORT, username="bureau").exists()
    latest = StudentEvent.objects.filter(pgh_obj=student_a).order_by("-pgh_id").first()
    assert (latest.name, latest.pgh_context.metadata["source"]) == ("张小明明", "test")


@pytest.mark.django_db(transaction=False)
def test_grant_takes_back_privileges_given_by_hand():
    """Re-run after every migrate, the grant leaves exactly its own privileges (roles are transactional: this
    one goes with the test's transaction)."""
    role = f"portal_test_app_{secrets.token_hex(4)}"
    call_command("grant_runtime_role", role=role)
    with connection.cursor() as cursor:
        assert role_problems(cursor, role) == []
        cursor.execute(f'GRANT ALL ON {TABLE} TO "{role}"')
        assert role_problems(cursor, role) == [
            f"role {role} has {privilege} on 1 append-only tables such as {TABLE}"
            for privilege in ("DELETE", "REFERENCES", "TRIGGER", "TRUNCATE", "UPDATE")
        ]
    call_command("grant_runtime_role", role=role)
    with connection.cursor() as cursor:
        assert role_problems(cursor, role) == []


def test_check_passes_for_the_runtime_role_and_fails_for_the_owner(runtime, settings):
    settings.DATABASE_AS_OWNER = False
    settings.DEBUG = False
    assert {m.id for m in check_runtime_role(databases=["default"])} == {"portal.E001"}
    with runtime.django():
        assert check_runtime_role(databases=["default"]) == []


@pytest.mark.django_db(transaction=False)
def test_owner_purges_entries_past_180_days_only(entry, old_entry):
    """Retention stays the owner's, and its trigger still keeps the last 180 days."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [old_entry.pk])
    assert not AccessLog.objects.filter(pk=old_entry.pk).exists()
    with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [entry.pk])
    assert_unchanged(entry)
