"""Each demo login's daily task in a real browser, at a desk (1366×768) and on a phone (390×844) (issue 15).

The walk runs on the demo county (`seed_demo`, today's county only) with the demo accounts and their printed
password: what a person trying the portal sees. It asserts each page's content; with UPDATE_SCREENSHOTS=1 it
also writes the screenshots README.md shows (docs/screenshots/), so that an ordinary run changes no file.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from nutrition.models import PilotSchool
from portal import demo
from portal.models import User
from subsidies import pengshui
from subsidies.models import AidExclusionGroup, AidPolicy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo_county():
    from django.core.cache import cache

    cache.clear()
    pengshui.load(AidPolicy, AidExclusionGroup)
    call_command("seed_demo", students=300, past=False, stdout=io.StringIO())
    yield
    cache.clear()


def shot(page, name: str) -> None:
    """The page as it is on screen (the first screen, not the whole length), only when asked for."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled", caret="hide")


def sign_in(page, username: str) -> None:
    """The real log-in form with the demo password, then the authenticator code for the county roles."""
    user = User.objects.get(username=username)
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", demo.demo_password())
    page.locator("#id_password").locator("xpath=ancestor::form").locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if "/accounts/2fa/" in page.url:
        device = TOTPDevice.objects.get(user=user, name="authenticator")
        # The same person signs in again at phone width within the same 30 seconds: an authenticator code is
        # accepted once (django-otp remembers the last step used), so forget the earlier sign-in's step.
        TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
        if "/setup/" in page.url:
            page.goto("/accounts/2fa/verify/")
        page.fill(
            "#id_token", f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
        )
        page.locator("#id_token").locator("xpath=ancestor::form").locator("button[type=submit]").click()
        page.wait_for_url(lambda url: "/accounts/2fa/" not in url)


def rows(page, table: str) -> int:
    return page.locator(f"#{table} tbody tr").count()


def walk_principal(page, width: str) -> None:
    """梅江中心小学's principal: the home page, then the returned child whose month waits to be confirmed and
    the school's open cases with a visit due."""
    page.goto("/")
    page.wait_for_selector("h1")
    assert "梅江中心小学" in page.content()
    shot(page, f"principal-home-{width}")
    page.goto("/dropout/watches/")
    assert page.locator("h1").inner_text() == "复学观察中的儿童"
    assert rows(page, "watch-list") >= 1
    assert page.locator("#watch-list form button").count() >= 1  # a month to confirm
    page.goto("/dropout/cases/?status=open&overdue=true")
    assert rows(page, "cases") >= 1
    if width == "desktop":
        shot(page, "principal-cases-desktop")


def walk_township(page, width: str) -> None:
    """梅江镇's officer: the open cases of the township, one of them opened to record a visit."""
    page.goto("/")
    page.wait_for_selector("h1")
    assert "梅江镇" in page.content()
    shot(page, f"township-home-{width}")
    page.goto("/dropout/cases/?status=open")
    assert page.locator("h1").first.inner_text() == "辍学案件"
    assert rows(page, "cases") >= 1
    if width == "desktop":
        shot(page, "township-cases-desktop")
    page.locator("#cases tbody tr a").first.click()
    page.wait_for_url("**/dropout/cases/*/")
    assert "走访" in page.content()  # the visit form or the visits recorded


def walk_bureau(page, width: str) -> None:
    """资助中心: the batches with a draft to approve, the closings waiting for the bureau."""
    page.goto("/")
    page.wait_for_selector("h1")
    shot(page, f"bureau-home-{width}")
    page.goto("/aid/?status=draft")
    assert rows(page, "batches") >= 1
    if width == "desktop":
        shot(page, "bureau-batches-desktop")
    page.goto("/dropout/closings/")
    assert page.locator("h1").inner_text() == "销号申请"
    # A pilot school's page folds its long record tables (it was 9,350 px tall, issue 15).
    page.goto(f"/nutrition/pilots/{PilotSchool.objects.order_by('pk').first().pk}/")
    assert page.locator("#meals details.fold").count() == 1
    if width == "desktop":
        assert page.evaluate("document.documentElement.scrollHeight") < 4000


def walk_official(page, width: str) -> None:
    """The official reads the county's figures and the year-end report."""
    page.goto("/")
    page.wait_for_selector("h1")
    shot(page, f"official-home-{width}")
    page.goto("/reports/yearend/")
    assert page.locator("h1").first.inner_text() == "年终统计报表"
    assert rows(page, "snapshots") >= 1
    assert page.locator("#rebuild-form").count() == 0  # officials read; bureau staff rebuild
    if width == "desktop":
        shot(page, "official-reports-desktop")


WALKS = {
    "principal": walk_principal,
    "township": walk_township,
    "bureau": walk_bureau,
    "official": walk_official,
}


def test_each_role_walks_its_daily_task_at_a_desk_and_on_a_phone(browser, live_server, demo_county):
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        for username, walk in WALKS.items():
            context = browser.new_context(
                base_url=live_server.url, locale="zh-CN", viewport=viewport, device_scale_factor=1
            )
            page = context.new_page()
            page.set_default_timeout(20_000)
            try:
                sign_in(page, username)
                walk(page, width)
                # No page of the walk is wider than the screen at the top (the menu folds on a phone).
                assert page.locator("header").first.bounding_box()["width"] <= viewport["width"]
            finally:
                context.close()
