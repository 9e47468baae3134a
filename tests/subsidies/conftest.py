"""Helpers for the aid tests: students of any stage, school kind and categories, on the Pengshui rule book
(loaded by the data migration)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook

from students.models import School, Stage, Student
from subsidies import pengshui
from subsidies.models import AidExclusionGroup, AidPolicy, BankResultFormat
from subsidies.models.bank import STANDARD_FORMAT
from tests.factories import CategoryFactory, SchoolFactory, StudentFactory

SCHOOL_FOR_STAGE = {
    Stage.PRESCHOOL: School.Type.KINDERGARTEN,
    Stage.PRIMARY: School.Type.PRIMARY,
    Stage.JUNIOR: School.Type.JUNIOR,
    Stage.SENIOR: School.Type.SENIOR_HIGH,
    Stage.VOCATIONAL: School.Type.VOCATIONAL,
    Stage.SPECIAL: School.Type.SPECIAL,
}


@pytest.fixture(autouse=True)
def _pengshui_table(request):
    """The data migrations load the table and the standard bank result format; a transactional test
    elsewhere may have flushed them since."""
    if "db" in request.fixturenames or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("db")
        pengshui.load(AidPolicy, AidExclusionGroup)
        if not BankResultFormat.objects.filter(is_default=True).exists():
            BankResultFormat.objects.create(**STANDARD_FORMAT)


@pytest.fixture
def make_student(db):
    def make(
        stage: str = Stage.PRIMARY,
        *,
        categories=(),
        grade: int = 1,
        boarding: bool = False,
        rural: bool = True,
        canteen: bool = True,
        school=None,
        preschool_fee: Decimal | None = Decimal("1800.00"),
        since: date = date(2020, 1, 1),
        until: date | None = None,
        status: str = Student.Status.ENROLLED,
        **extra,
    ) -> Student:
        school = school or SchoolFactory(
            school_type=SCHOOL_FOR_STAGE[stage],
            is_rural=rural,
            has_canteen=canteen,
            preschool_fee=preschool_fee,
        )
        student = StudentFactory(
            school=school, stage=stage, grade=grade, is_boarding=boarding, status=status, **extra
        )
        for category in categories:
            CategoryFactory(student=student, category=category, valid_from=since, valid_to=until)
        return student

    return make


def xlsx(rows) -> io.BytesIO:
    """A real .xlsx upload built with openpyxl."""
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "list.xlsx"
    return buffer
