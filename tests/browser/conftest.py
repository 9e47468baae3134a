"""Playwright (Python) driving Debian's Chromium against pytest-django's live server.

The browser is the system one (/usr/bin/chromium, installed by `make test`): a test tool's own browser
download cannot work on our machines. Each test gets a fresh context; `login(page, user)` signs in
through the real login form.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def login():
    def _login(page, user, password: str = PASSWORD):
        """Sign in through the real forms, giving the authenticator code when the role needs one."""
        page.goto("/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        page.click("main button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        if "/accounts/2fa/" in page.url:
            device, _ = TOTPDevice.objects.get_or_create(
                user=user, name="authenticator", defaults={"confirmed": True}
            )
            if not device.confirmed:
                device.confirmed = True
                device.save()
            if "/setup/" in page.url:
                page.goto("/accounts/2fa/verify/")
            page.fill(
                "#id_token",
                f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}",
            )
            page.click("main button[type=submit]")
            page.wait_for_url(lambda url: "/accounts/2fa/" not in url)

    return _login
