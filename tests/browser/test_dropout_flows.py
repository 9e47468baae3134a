"""Dropout control in a real browser: a case walks found → returned → watched → closed with the right roles."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from dropout_control import services
from dropout_control.models import DropoutCase, ReturnWatch
from dropout_control.services.common import add_months
from tests.conftest import PASSWORD
from tests.dropout_control.conftest import MONTHS, WATCH_MONTHS, YEAR_START, whole_watch_ran
from tests.factories import make_id_number

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _empty_cache():
    """The dashboards (home page panel included) are cached: no test sees figures another test counted."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def sign_in(page, login, user):
    """The shared `login`, then the authenticator code for county-wide roles.

    The shared fixture clicks the page's first submit button on the code page, which is now the header's
    log-out button; this finishes the second factor by the code form's own button instead.
    """
    login(page, user)
    if "/accounts/login/" not in page.url or not user.needs_second_factor:
        return
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="authenticator", defaults={"confirmed": True}
    )
    TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
    device.refresh_from_db()
    if "/accounts/2fa/" in page.url:
        if "/setup/" in page.url:
            page.goto("/accounts/2fa/verify/")
        page.fill(
            "#id_token", f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
        )
        page.click("main button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/2fa/" not in url)


@whole_watch_ran
def test_case_from_found_to_returned_watched_and_closed(
    page, login, township_officer, principal_a, bureau, school_a
):
    """Issue 18's walk: the township opens and visits, records the return; the school confirms each month of
    the watch; the township asks for the closing with the proof; the bureau confirms it. The return is dated on
    the running school year's first day (a return writes the register), watched two months."""
    services.watch_policy_set(months=WATCH_MONTHS, by=bureau)
    number = make_id_number(date(2014, 5, 1))
    sign_in(page, login, township_officer)
    page.goto("/dropout/")
    page.click("text=立案")
    page.fill("#id_id_number", number)
    page.fill("#id_name", "赵小六")
    page.select_option("#id_township", str(school_a.township_id))
    page.fill("#id_village", "上坪村")
    page.select_option("#id_school", str(school_a.pk))
    page.fill("#id_found_on", "2025-03-03")
    page.fill("#id_found_late_reason", "外出务工返乡后补录")
    page.select_option("#id_found_by", "township_survey")
    page.select_option("#id_reason", "work")
    page.click("button:has-text('保存')")
    page.wait_for_selector("text=已为 赵小六 立案")
    case = DropoutCase.objects.get(id_number=number)

    page.fill("#id_visited_on", "2025-03-05")
    page.fill("#id_visitors", "镇干部、班主任")
    page.fill("#id_result", "家长同意下周返校")
    page.click("#visit-form button[type=submit]")
    page.wait_for_selector("text=走访已登记")
    assert "家长同意下周返校" in page.locator("#visits").inner_text()
    assert page.locator("#close-form").count() == 0  # only the bureau closes

    # Returned: on the register at school A, watched.
    page.select_option("#return-form [name=school]", str(school_a.pk))
    page.fill("#return-form [name=on]", YEAR_START.isoformat())
    page.select_option("#return-form [name=stage]", "primary")
    page.fill("#return-form [name=grade]", "3")
    page.fill("#return-form [name=late_reason]", "复学证明补交")
    page.click("#return-form button[type=submit]")
    page.wait_for_selector("text=已登记复学")
    assert "已复学，观察中" in page.locator("#case-status").inner_text()
    case.refresh_from_db()
    # The watch as if recorded a month ago, still late after the return (the months of a late entry come due
    # one a month from the recording).
    ReturnWatch.objects.filter(case=case).update(created_at=timezone.now() - timedelta(days=32))
    assert case.student.school == school_a and case.student.status == "enrolled"

    # Watched: the school confirms each month from its list of watched children.
    page.context.clear_cookies()
    sign_in(page, login, principal_a)
    page.goto("/dropout/watches/")
    for month in [m.strftime("%Y-%m") for m in MONTHS]:
        page.click(f"#watch-list button:has-text('{month} 在校')")
        page.wait_for_selector("text=已确认该月在校")
    assert "已全部确认" in page.locator("#watch-list").inner_text()

    # Closed: the township asks with the proof, the bureau confirms.
    page.context.clear_cookies()
    sign_in(page, login, township_officer)
    page.goto(f"/dropout/cases/{case.pk}/")
    page.select_option("#closing-request-form [name=outcome]", "returned")
    page.fill("#closing-request-form [name=on]", add_months(YEAR_START, WATCH_MONTHS).isoformat())
    page.fill("#closing-request-form [name=proof]", "复学登记表（班主任签字）")
    page.click("#closing-request-form button[type=submit]")
    page.wait_for_selector("text=已提交销号申请")
    case.refresh_from_db()
    assert case.status == "open"

    page.context.clear_cookies()
    sign_in(page, login, bureau)
    page.goto("/dropout/closings/")
    page.click(f"#closing-list a[href='/dropout/cases/{case.pk}/']")
    # Before confirming, the bureau sees the dates entered long after the fact, flagged, with the reasons.
    dates = page.locator("#closing-dates").inner_text()
    assert "外出务工返乡后补录" in dates and "复学证明补交" in dates
    assert page.locator("#closing-dates tr.backdated").count() >= 2
    page.fill("#closing-confirm-form [name=note]", "材料齐全")
    page.click("#closing-confirm-form button.primary")
    page.wait_for_selector("text=案件已销号")
    assert "劝返复学" in page.locator("#case-outcome").inner_text()
    case.refresh_from_db()
    assert (case.status, case.outcome, case.outcome_school_id, case.outcome_on) == (
        "closed",
        "returned",
        school_a.pk,
        add_months(YEAR_START, WATCH_MONTHS),
    )
    assert "变更记录" in page.content()


def test_closing_without_outcome_shows_the_chinese_message(page, login, bureau, school_a):
    from dropout_control import services

    case = services.case_open(
        by=bureau,
        id_number=make_id_number(date(2014, 5, 1)),
        name="钱七",
        township=school_a.township,
        found_on=date(2025, 3, 3),
        found_by="school_report",
        reason="illness",
    )
    sign_in(page, login, bureau)
    page.goto(f"/dropout/cases/{case.pk}/")
    page.click("#close-form button[type=submit]")
    page.wait_for_selector("text=结案必须选择去向")
    case.refresh_from_db()
    assert case.status == "open"
