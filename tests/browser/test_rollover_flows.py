"""The autumn roll-over as the bureau and a principal do it, in a real browser (issue 13)."""

from datetime import date

import pytest

from students.models import Enrollment, RolloverConfirmation, school_year_of
from tests.factories import StudentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bureau_opens_the_school_year_and_the_principal_confirms_the_list(
    page, login, bureau, principal_a, school_a
):
    year = school_year_of()
    pupil = StudentFactory(school=school_a, grade=2, enrolled_on=date(year - 1, 9, 1), name="王升级")
    leaver = StudentFactory(school=school_a, grade=6, enrolled_on=date(year - 1, 9, 1), name="赵毕业")

    login(page, bureau)
    page.click("nav >> text=学年升级")
    assert "初中一年级: 1" in page.locator("#rollover-schools").inner_text()
    page.check("#id_confirm")
    page.click(f"button:has-text('开启{year}学年')")
    page.wait_for_selector("text=2名学生完成升级/毕业")
    assert Enrollment.objects.on(date(year, 9, 1)).get(student=pupil).grade == 3
    assert Enrollment.objects.on(date(year, 9, 1)).get(student=leaver).status == "graduated"

    page.context.clear_cookies()
    login(page, principal_a)
    page.click("nav >> text=确认本校名单")
    pupils = page.locator("#rollover-pupils").inner_text()
    assert "王升级" in pupils and "赵毕业" not in pupils
    page.click("button:has-text('确认名单')")
    page.wait_for_selector("#rollover-confirmed")
    assert RolloverConfirmation.objects.get().school == school_a
