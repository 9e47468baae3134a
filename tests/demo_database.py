"""The demo county, built once per test session in a database of its own (issue: CI time).

Seeding the demo county with its past takes about a minute; the page, walk, scoping and refusal tests all read
it. So the first module that asks for it copies the migrated test database (`CREATE DATABASE … TEMPLATE`), runs
`seed_demo` in the copy and commits; each module that asks for it then points Django's connection at the copy for
its tests. Every test runs in a transaction rolled back at its end (pytest-django's `db`), so the copy stays as
seeded; a module that uses it must hold no transactional test (those flush the database they run on).
"""

from __future__ import annotations

import io
from contextlib import contextmanager

import psycopg2
from django.core.management import call_command
from django.db import connection
from psycopg2 import sql

from portal.celery import app as celery_app

# One size for every reader: the walk wants lists longer than a page, the scoping test rows in every area.
DEMO_STUDENTS = 300


def _admin_connection():
    params = connection.get_connection_params()
    params = {**params, "dbname": "postgres"}
    params.pop("database", None)
    admin = psycopg2.connect(**params)
    admin.autocommit = True
    return admin


@contextmanager
def pointed_at(name: str):
    """Django's default connection reads and writes database `name` inside the block."""
    previous = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = previous


def build(test_name: str) -> str:
    """Copy the migrated test database `test_name` and seed the demo county in the copy; returns its name."""
    demo_name = f"{test_name}_demo"
    connection.close()
    admin = _admin_connection()
    try:
        with admin.cursor() as cursor:
            # A copy needs the template to itself: no other session may be connected to the test database.
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [test_name],
            )
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(demo_name)))
            cursor.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(demo_name), sql.Identifier(test_name)
                )
            )
    finally:
        admin.close()
    from subsidies import pengshui
    from subsidies.models import AidExclusionGroup, AidPolicy

    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with pointed_at(demo_name):
            # The aid rule book of a migrated database (a reused test database may have been flushed since).
            pengshui.load(AidPolicy, AidExclusionGroup)
            call_command("seed_demo", students=DEMO_STUDENTS, stdout=io.StringIO())
    finally:
        celery_app.conf.task_always_eager = eager
    return demo_name
