"""A dump restores into a fresh database with the same records."""

from __future__ import annotations

import psycopg2
import pytest
from django.db import connection

from portal import backup
from students.models import Student

pytestmark = pytest.mark.django_db(transaction=True)


def _fresh_database(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')


def test_backup_restores_into_a_fresh_database(tmp_path, student_a, student_b):
    dump = backup.dump(tmp_path / "portal.dump")
    assert dump.stat().st_size > 0
    target = f"{connection.settings_dict['NAME']}_restore"
    _fresh_database(target)
    try:
        backup.restore(dump, database=target)
        params = {**connection.get_connection_params(), "dbname": target}
        restored = psycopg2.connect(**params)
        try:
            with restored.cursor() as cursor:
                cursor.execute(f"SELECT id_number, name FROM {Student._meta.db_table} ORDER BY id")
                rows = cursor.fetchall()
        finally:
            restored.close()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{target}"')
    assert rows == [(student_a.id_number, "张小明"), (student_b.id_number, "李小红")]
