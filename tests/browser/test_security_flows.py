"""The second factor in a real browser: a first authenticator only through an administrator's link."""

from __future__ import annotations

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.security import enrolment_link_make
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_password_only(page, user):
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_bureau_clerk_enrols_through_the_link_and_a_password_alone_gets_nowhere(page, bureau):
    sign_in_password_only(page, bureau)
    assert "/accounts/2fa/setup/" in page.url
    assert page.locator("#enrol-needed").is_visible()
    assert page.locator("#otp-key").count() == 0
    page.goto("/registry/students/")
    assert "/accounts/2fa/" in page.url  # still nowhere without the factor

    page.goto(enrolment_link_make(user=bureau, by=None))
    key = page.locator("#otp-key").inner_text()
    assert len(key.replace(" ", "")) >= 16
    device = TOTPDevice.objects.get(user=bureau, confirmed=False)
    page.fill("#id_password", PASSWORD)
    page.fill(
        "#id_token", f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    )
    page.click("main button[type=submit]")
    # The recovery codes come with the answer to the POST: wait for it (is_visible() does not wait).
    page.wait_for_selector("main >> text=恢复码")
    assert page.locator("main").get_by_text("恢复码").first.is_visible()
    page.goto("/registry/students/")
    assert "/registry/students/" in page.url
    assert TOTPDevice.objects.filter(user=bureau, confirmed=True).count() == 1
