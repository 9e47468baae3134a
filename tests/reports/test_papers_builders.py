"""The paper tests' builders (tests/reports/papers.py) write what the portal itself would: valid ID numbers
(the SQL's check characters are GB 11643's), the sex and birth date the number says, a register spell each."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from students import id_numbers
from students.models import Enrollment, School, Stage, Student
from tests.reports import papers

pytestmark = pytest.mark.django_db


def test_students_written_in_sql_are_valid_and_on_the_register():
    townships = papers.county("360730", "宁都县", "赣州市", townships=1)
    school = papers.schools(townships, {School.Type.PRIMARY: (1, 1)})[School.Type.PRIMARY][0]
    children = papers.students({Stage.PRIMARY: school}, {Stage.PRIMARY: 1203}, household="360730")
    ids = [c.id for c in children[Stage.PRIMARY]]
    assert len(ids) == 1203
    for student in Student.objects.filter(pk__in=ids):
        parsed = id_numbers.parse(student.id_number)
        assert (parsed.sex, parsed.birth_date, parsed.division_code) == (
            student.sex,
            student.birth_date,
            "360730",
        )
    assert Enrollment.objects.on(date(2016, 1, 1)).filter(student_id__in=ids, school=school).count() == 1203


def test_payments_add_up_to_the_total(bureau):
    from subsidies.models import AidType, Payment

    townships = papers.county("360730", "宁都县", "赣州市", townships=1)
    school = papers.schools(townships, {School.Type.PRIMARY: (1, 1)})[School.Type.PRIMARY][0]
    children = papers.students({Stage.PRIMARY: school}, {Stage.PRIMARY: 7}, household="360730")[Stage.PRIMARY]
    total = Decimal("1000.00")
    papers.pay(
        children, aid_type=AidType.NATIONAL_GRANT, school_year=2022, term="autumn", total=total, by=bureau
    )
    amounts = list(
        Payment.objects.filter(student_id__in=[c.id for c in children]).values_list("amount", flat=True)
    )
    assert len(amounts) == 7 and sum(amounts) == total
