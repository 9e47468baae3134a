"""The aid flow a bureau clerk must be able to do in a real browser: generate a batch, approve it, see totals;
and the public lookup a parent uses."""

from __future__ import annotations

from datetime import date

import pytest

from students.models import Stage, Student
from subsidies import pengshui
from subsidies.models import AidPolicy, Payment
from tests.factories import CategoryFactory, StudentFactory
from tests.subsidies.past import ENROLLED, roll_student, row, xlsx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def needy_boarders(school_a, school_b):
    # Transactional tests start from flushed tables: load the default rule book again.
    pengshui.load(AidPolicy)
    students = []
    for school, name in ((school_a, "甲寄宿生"), (school_a, "甲寄宿生二"), (school_b, "乙寄宿生")):
        student = StudentFactory(school=school, name=name, stage=Stage.PRIMARY, grade=4, is_boarding=True)
        CategoryFactory(student=student, category="dibao")
        students.append(student)
    return students


@pytest.fixture
def sign_in(client_for, live_server):
    """A signed-in session (second factor passed, as tests/conftest.py's clients have it) handed to the browser.

    The real login form is covered by the registry flows; here the aid flow is what is under test.
    """

    def _sign_in(page, user):
        client = client_for(user)
        page.context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
        )

    return _sign_in


def test_bureau_generates_approves_and_sees_totals(page, sign_in, bureau, needy_boarders):
    sign_in(page, bureau)
    page.goto("/")
    page.click("nav.mainnav >> text=学生资助")
    page.select_option("#id_aid_type", "boarder_allowance")
    page.fill("#id_school_year", "2022")
    page.select_option("#id_term", "autumn")
    page.click("#generate-form button[type=submit]")
    page.wait_for_selector("text=已生成批次：3 名学生")
    assert page.inner_text("#batch-count") == "3"
    assert page.inner_text("#batch-amount") == "1,500.00"
    totals = page.inner_text("#totals-township")
    assert "甲镇" in totals and "乙镇" in totals
    page.click("#approve-form a")
    assert "审批通过 3 人，共 ¥1,500.00" in page.inner_text("#approve-figures")
    page.click("#approve-confirm-form button[type=submit]")
    page.wait_for_selector("text=批次已审批")
    assert page.inner_text("#batch-status") == "已审批"
    assert "审批" in page.inner_text("#steps")
    page.click("text=发放批次")
    assert "1,500.00" in page.inner_text("#batches")


def test_principal_sees_only_own_part_and_cannot_approve(page, login, bureau, principal_a, needy_boarders):
    from subsidies import services

    batch = services.batch_generate(aid_type="boarder_allowance", school_year=2022, term="autumn", by=bureau)
    login(page, principal_a)
    page.goto(f"/aid/batches/{batch.pk}/")
    assert page.inner_text("#batch-count") == "2"
    assert "乙寄宿生" not in page.content()
    assert page.locator("#approve-form").count() == 0


def test_parent_looks_up_aid_by_id_number_without_logging_in(page, bureau, needy_boarders):
    from datetime import date

    from subsidies import services
    from tests.subsidies.banking import pay_through_the_bank

    batch = services.batch_generate(aid_type="boarder_allowance", school_year=2022, term="autumn", by=bureau)
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    pay_through_the_bank(batch, bureau, paid_on=date(2022, 10, 1))
    child = needy_boarders[0]
    page.goto("/aid/lookup/")
    page.fill("#id_id_number", child.id_number)
    page.fill("#id_name", child.name)
    page.click("button.primary")
    results = page.inner_text("#lookup-results")
    assert "寄宿生生活补助" in results and "500.00" in results and "秋季学期" in results
    assert child.school.name not in page.content()


def test_bureau_previews_and_records_past_payments(page, sign_in, bureau, school_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    pengshui.load(AidPolicy)  # flushed tables: the rule book says which stages an aid reaches
    ming = roll_student(school_a, name="张小明", spells=[(date(2022, 9, 1), None, 1, ENROLLED)])
    late = roll_student(school_a, name="赵丽", spells=[(date(2024, 9, 1), None, 1, ENROLLED)])
    assert Student.objects.count() == 2
    sign_in(page, bureau)
    page.goto("/aid/")
    page.click("nav.subnav >> text=往年资助发放")
    refused = {
        "name": "2022.xlsx",
        "mimeType": "application/octet-stream",
        "buffer": xlsx([row(ming), row(late)]).read(),
    }
    page.set_input_files("#id_file", files=[refused])
    page.click("#past-payments-form button[type=submit]")
    assert page.inner_text("#preview-refused") == "1"
    assert "赵丽" in page.inner_text("#refused-rows")
    assert page.locator("#past-payments-apply").count() == 0
    accepted = {
        "name": "2022.xlsx",
        "mimeType": "application/octet-stream",
        "buffer": xlsx([row(ming)]).read(),
    }
    page.set_input_files("#id_file", files=[accepted])
    page.click("#past-payments-form button[type=submit]")
    assert page.inner_text("#preview-accepted") == "1"
    page.click("#past-payments-apply button[type=submit]")
    page.wait_for_selector("text=已从 2022.xlsx 记录 1 笔往年发放")
    assert "250.00" in page.inner_text("#imported-batches")
    assert Payment.objects.get().status == Payment.Status.PAID
