"""Outside attack on issue 17: the 雨露计划 list as a matching source.

The rural-revitalisation bureau's 雨露计划 list covers vocational students of 脱贫户 and monitored households
only; matching it as a confirmation of 低保 or 残疾 (and then applying that category to the children) is
refused."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from students.models import Stage
from subsidies import matching
from subsidies.models import MatchRun
from tests.refusals import nothing_written
from tests.subsidies.conftest import xlsx

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("category", ["dibao", "disabled", "orphan"])
def test_a_yulu_plan_list_cannot_confirm_a_category_the_plan_does_not_cover(bureau, make_student, category):
    student = make_student(Stage.VOCATIONAL, grade=1)
    upload = xlsx([["身份证号", "姓名"], [student.id_number, student.name]])
    with nothing_written(), pytest.raises(ValidationError):
        matching.match_upload(
            upload=upload,
            source=MatchRun.Source.YULU_PLAN,
            category=category,
            school_year=2025,
            term="autumn",
            by=bureau,
        )
