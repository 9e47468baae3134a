"""Small helpers of the attack on issue 17: a child leaving the register on a date."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from students import register
from students.models import Student


def leave(student: Student, status: str, on: date, **changes) -> Student:
    """The register's record of the child leaving (graduating, dropping out ...) or changing on `on`."""
    with transaction.atomic(), register.effective(on, source="test"):
        if status:
            student.status = status
        for key, value in changes.items():
            setattr(student, key, value)
        student.save()
    return student
