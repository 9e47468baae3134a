"""Attack (a17m): a student who transferred school during the identification. The identification stays scoped
to the school it was applied at, so the school the child has left still decides the level the county confirms
and the new school pays by, while the child's present school cannot touch it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from students import services as student_services
from students.models import Stage
from subsidies import services
from subsidies.models import Identification, IdentificationLevel

pytestmark = pytest.mark.django_db

YEAR = 2026  # the running school year: a transfer is dated in it


def test_the_school_a_child_has_left_no_longer_decides_their_level(
    make_student, school_a, school_b, principal_a, principal_b, bureau
):
    student = make_student(Stage.PRIMARY, school=school_a)
    found = services.identification_apply(
        by=principal_a,
        student=student,
        school_year=YEAR,
        applied_on=date(YEAR, 9, 3),
        family_members=4,
        family_income=Decimal("16000.00"),
        hardship_reasons="母亲重病",
        guardian_name="李某",
        guardian_declared=True,
    )
    services.identification_review(
        by=principal_a,
        identification=found,
        members="班主任王老师、家长代表赵某、学生代表孙某",
        result=IdentificationLevel.GENERAL,
        reviewed_on=date(YEAR, 9, 8),
    )
    student_services.student_transfer(
        student=student, to_school=school_b, on=date(YEAR, 10, 15), by=bureau, reason="随父母迁居"
    )
    student.refresh_from_db()
    assert student.school_id == school_b.pk
    try:
        services.identification_decide(
            by=principal_a,
            identification=found,
            level=IdentificationLevel.SPECIAL,
            decided_on=date(YEAR, 10, 20),
        )
    except (PermissionDenied, ValidationError):
        return  # refused: held
    found.refresh_from_db()
    pytest.fail(
        f"principal_a decided {found.school_level} for a child at 乙镇中心小学 since 2026-10-15 "
        f"(the identification stays scoped to school {found.school_id}; principal_b sees "
        f"{Identification.objects.editable_by(principal_b).filter(pk=found.pk).count()} of it)"
    )
