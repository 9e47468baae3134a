"""Helpers for the past-payments tests: a child of the 2026 register with the spells they had since 2022, and
the national aid system's export built with openpyxl."""

from __future__ import annotations

import io
from datetime import date

from django.db import transaction
from openpyxl import Workbook

from students import register
from students.models import Enrollment, Stage, Student
from tests.factories import StudentFactory

HEADER = ["身份证号", "姓名", "资助项目", "学年", "学期", "金额", "发放日期"]
ENROLLED, OUT = Student.Status.ENROLLED, Student.Status.TRANSFERRED_OUT


def roll_student(school, *, spells, name, stage=Stage.PRIMARY) -> Student:
    """A child as the 2026 register has them, with their spells since 2022: (from, to, grade, status)."""
    last = spells[-1]
    with transaction.atomic(), register.unsynced():
        student = StudentFactory(
            school=school,
            name=name,
            stage=stage,
            grade=last[2],
            status=last[3],
            enrolled_on=spells[0][0],
        )
        for valid_from, valid_to, grade, status in spells:
            Enrollment.objects.create(
                student=student,
                school=school,
                stage=stage,
                grade=grade,
                status=status,
                valid_from=valid_from,
                valid_to=valid_to,
                source="roll 2022",
            )
    return student


def xlsx(rows, header=HEADER) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "资助发放明细2022.xlsx"
    return buffer


def row(student, aid="非寄宿生生活补助", year="2022-2023", term="秋季", amount=250, paid=date(2022, 12, 20)):
    return [student.id_number, student.name, aid, year, term, amount, paid]
