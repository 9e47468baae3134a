"""Needy-student identification in a real browser (issue 17): a principal takes a family's application
through the class review, the 公示 and the school's level; bureau staff confirm it."""

from __future__ import annotations

import pytest

from students.models import Stage
from subsidies import pengshui
from subsidies.models import AidExclusionGroup, AidPolicy, Identification
from tests.factories import StudentFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("during_school_year_2025"),
]


@pytest.fixture
def sign_in(client_for, live_server):
    def _sign_in(page, user):
        client = client_for(user)
        page.context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
        )

    return _sign_in


def test_a_school_year_of_identification_walks_to_the_countys_confirmation(
    page, browser, live_server, sign_in, principal_a, bureau, school_a
):
    pengshui.load(AidPolicy, AidExclusionGroup)
    student = StudentFactory(school=school_a, name="困难学生甲", stage=Stage.SENIOR, grade=1)
    sign_in(page, principal_a)
    page.goto("/")
    page.click("nav.mainnav >> text=家庭经济困难学生认定")
    page.fill("#apply_id_number", student.id_number)
    page.fill("#apply_school_year", "2025")
    page.select_option("#apply_kind", "annual")
    page.fill("#apply_applied_on", "2025-09-03")
    page.fill("#apply_family_members", "4")
    page.fill("#apply_family_income", "12000")
    page.fill("#apply_hardship_reasons", "父亲因病失去劳动能力")
    page.fill("#apply_guardian_name", "困难家长")
    page.check("#apply_guardian_declared")
    page.click('button:text-is("保存")')
    page.wait_for_selector("#identification")
    detail = page.url
    page.fill("#id_members", "班主任、任课教师、家长代表")
    page.select_option("#id_result", "special")
    page.fill("#id_reviewed_on", "2025-09-08")
    page.click('button:text-is("登记评议结果")')
    page.wait_for_selector("#status >> text=已民主评议")

    page.goto(f"/aid/identifications/publicity/?school={school_a.pk}&school_year=2025")
    page.fill("#id_school_year", "2025")
    page.fill("#id_starts_on", "2025-09-10")
    page.fill("#id_ends_on", "2025-09-12")
    page.click("main button.primary")
    page.wait_for_selector("text=公示至少须持续 5 天")
    page.fill("#id_ends_on", "2025-09-16")
    page.click("main button.primary")
    page.wait_for_selector("#publicity >> text=困难学生甲")
    assert student.id_number[-4:] not in page.inner_text("#publicity")

    page.goto(detail)
    page.select_option("#id_level", "special")
    page.fill("#id_decided_on", "2025-09-18")
    page.click('button:text-is("认定等级")')
    page.wait_for_selector("#school-level >> text=特别困难")

    bureau_page = browser.new_context(base_url=live_server.url, locale="zh-CN").new_page()
    sign_in(bureau_page, bureau)
    bureau_page.goto(detail)
    bureau_page.click('button:text-is("县级确认")')
    bureau_page.wait_for_selector("#confirmed-level >> text=特别困难")
    found = Identification.objects.get(student=student)
    assert (found.status, found.confirmed_level) == (Identification.Status.CONFIRMED, "special")
