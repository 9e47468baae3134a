"""Accounts, second factor, access log and production settings (issue: protect the children's data)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import InternalError, transaction
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from portal.models import AccessLog, User
from tests.conftest import PASSWORD
from tests.factories import UserFactory


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def login(client: Client, user, password: str = PASSWORD):
    return client.post(reverse("login"), {"username": user.username, "password": password})


@pytest.mark.parametrize("password", ["short-pw1", "password1234", "123456789012345"])
def test_weak_passwords_are_refused(password, db):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_passwords_are_hashed_with_argon2(settings, db):
    from tests.conftest import PRODUCTION_HASHERS

    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    user = UserFactory()
    assert user.password.startswith("argon2")


def test_new_account_must_change_its_password_first(client, db, student_a):
    user = UserFactory(role=User.Role.PRINCIPAL, school=student_a.school, must_change_password=True)
    login(client, user)
    response = client.get(reverse("students:student_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("password_change"))
    new = "a-much-better-passphrase-2026"
    client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    user.refresh_from_db()
    assert not user.must_change_password
    assert client.get(reverse("students:student_list")).status_code == 200


def test_bureau_staff_must_set_up_a_second_factor(client, bureau):
    from portal.security import enrolment_link_make

    login(client, bureau)
    response = client.get(reverse("students:student_list"))
    assert response["Location"].startswith(reverse("otp_setup"))
    link = enrolment_link_make(user=bureau, by=None)  # made by a bureau administrator
    client.get(link)
    device = TOTPDevice.objects.get(user=bureau)
    wrong = client.post(
        link, {"password": PASSWORD, "token": "000000" if code_for(device) != "000000" else "111111"}
    )
    assert "验证码错误" in wrong.content.decode()
    device.refresh_from_db()
    device.throttle_reset()  # django-otp slows a device down after a failure; a person would wait a second
    confirmed = client.post(link, {"password": PASSWORD, "token": code_for(device)})
    assert len(confirmed.context["codes"]) == 10
    assert client.get(reverse("students:student_list")).status_code == 200


def test_second_factor_asked_again_at_next_login_and_recovery_code_works_once(client, official):
    device = TOTPDevice.objects.create(user=official, name="authenticator", confirmed=True)
    from portal.security import issue_recovery_codes

    codes = issue_recovery_codes(official)
    login(client, official)
    assert client.get("/")["Location"].startswith(reverse("otp_verify"))
    client.post(reverse("otp_verify"), {"token": codes[0]})
    assert client.get("/").status_code == 200
    assert not StaticToken.objects.filter(token=codes[0]).exists()
    other = Client()
    login(other, official)
    other.post(reverse("otp_verify"), {"token": codes[0]})
    assert other.get("/").status_code == 302
    other.post(reverse("otp_verify"), {"token": code_for(device)})
    assert other.get("/").status_code == 200


def test_principals_need_no_second_factor(client, principal_a):
    login(client, principal_a)
    assert client.get("/").status_code == 200


def test_unverified_session_gets_403_from_the_api(client, bureau):
    login(client, bureau)
    assert client.get("/api/students/").status_code == 403


def test_api_token_for_bureau_needs_an_authenticator_code(bureau):
    device = TOTPDevice.objects.create(user=bureau, name="authenticator", confirmed=True)
    client = APIClient()
    refused = client.post("/api/auth/token/", {"username": bureau.username, "password": PASSWORD})
    assert refused.status_code == 400 and "otp_token" in refused.json()
    ok = client.post(
        "/api/auth/token/", {"username": bureau.username, "password": PASSWORD, "otp_token": code_for(device)}
    )
    assert ok.status_code == 200


def test_disabled_account_loses_its_sessions_and_tokens(principal_a, student_a):
    browser = Client()
    login(browser, principal_a)
    api = APIClient()
    token = api.post("/api/auth/token/", {"username": principal_a.username, "password": PASSWORD}).json()[
        "token"
    ]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/students/").status_code == 200
    principal_a.is_active = False
    principal_a.save()
    assert browser.get(reverse("students:student_list")).status_code == 302
    assert api.get("/api/students/").status_code == 401


def test_forged_session_cookie_is_anonymous(client, student_a):
    client.cookies["sessionid"] = "forged0000000000000000000000000"
    response = client.get(reverse("students:student_detail", args=[student_a.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_repeated_failures_lock_the_account_and_are_logged(client, principal_a, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, principal_a, "wrong-password-xx")
    locked = login(Client(), principal_a)  # even the right password, from the same address
    assert locked.status_code == 429
    assert "锁定" in locked.content.decode()
    assert (
        AccessLog.objects.filter(action=AccessLog.Action.LOGIN_FAILED, username=principal_a.username).count()
        >= 5
    )


def test_login_is_logged_with_address(client, principal_a):
    login(client, principal_a)
    entry = AccessLog.objects.get(action=AccessLog.Action.LOGIN)
    assert (entry.user, entry.ip) == (principal_a, "127.0.0.1")


def test_access_log_cannot_be_changed_or_deleted(principal_a):
    entry = AccessLog.objects.create(username="x", action=AccessLog.Action.LOGIN)
    with pytest.raises(InternalError), transaction.atomic():
        AccessLog.objects.filter(pk=entry.pk).update(username="y")
    with pytest.raises(InternalError), transaction.atomic():
        AccessLog.objects.filter(pk=entry.pk).delete()
    assert AccessLog.objects.filter(pk=entry.pk, username="x").exists()


def test_access_log_is_for_bureau_administrators_only(client_for, bureau, principal_a, official, student_a):
    bureau.is_staff = True
    bureau.save()
    AccessLog.objects.create(
        username=principal_a.username,
        action=AccessLog.Action.REVEAL_ID,
        object_type="students.student",
        object_id=str(student_a.pk),
    )
    body = client_for(bureau).get(reverse("access_log"), {"object": f"students.student:{student_a.pk}"})
    assert principal_a.username in body.content.decode()
    assert client_for(principal_a).get(reverse("access_log")).status_code == 403
    assert client_for(official).get(reverse("access_log")).status_code == 403


def test_idle_sessions_expire_after_30_minutes_of_no_requests(client_for, principal_a, settings):
    from portal.middleware import IdleTimeoutMiddleware

    assert settings.SESSION_COOKIE_AGE == 1800
    client = client_for(principal_a)
    client.get("/")
    first = client.session.get_expiry_date()
    assert 1700 < client.session.get_expiry_age() <= 1800
    # A minute later a request pushes the expiry back...
    session = client.session
    session[IdleTimeoutMiddleware.KEY] -= 61
    session.save()
    client.get("/")
    assert client.session.get_expiry_date() > first


def test_reading_a_page_does_not_write_the_session_each_time(
    client_for, principal_a, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(principal_a)
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    assert not [
        q for q in queries.captured_queries if q["sql"].startswith("UPDATE") and "django_session" in q["sql"]
    ]


def test_pages_carry_a_content_security_policy(client_for, principal_a):
    response = client_for(principal_a).get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_no_inline_scripts_in_pages(client_for, bureau, principal_a, student_a):
    import re

    for user in (bureau, principal_a):
        client = client_for(user)
        for url in (
            "/",
            reverse("students:student_list"),
            reverse("students:student_detail", args=[student_a.pk]),
        ):
            body = client.get(url).content.decode()
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), url
            assert " onchange=" not in body and " onclick=" not in body


def test_production_settings_pass_check_deploy(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "0",
        "SECURE_HTTPS": "1",
        "STATIC_MANIFEST": "1",
        "SECRET_KEY": "p" * 20 + "-production-grade-secret-key-with-enough-entropy-1234567890",
        "ALLOWED_HOSTS": "portal.jyj.example.gov.cn",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://u@127.0.0.1:5432/x"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_forged_forwarded_for_is_not_believed(client, principal_a, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    client.post(
        reverse("login"),
        {"username": principal_a.username, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="1.2.3.4",
    )
    assert AccessLog.objects.get(action=AccessLog.Action.LOGIN).ip == "127.0.0.1"


def test_address_from_our_own_proxy_is_believed(client, principal_a, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client.post(
        reverse("login"),
        {"username": principal_a.username, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="1.2.3.4, 10.9.8.7",
    )
    assert AccessLog.objects.get(action=AccessLog.Action.LOGIN).ip == "10.9.8.7"


def test_principal_may_turn_on_a_second_factor_and_is_then_asked_for_it(client, principal_a):
    login(client, principal_a)
    page = client.get(reverse("account_security")).content.decode()
    assert reverse("otp_setup") in page
    client.get(reverse("otp_setup"))
    device = TOTPDevice.objects.get(user=principal_a)
    client.post(reverse("otp_setup"), {"password": PASSWORD, "token": code_for(device)})
    assert TOTPDevice.objects.filter(user=principal_a, confirmed=True).exists()
    fresh = Client()
    login(fresh, principal_a)
    assert fresh.get("/")["Location"].startswith(reverse("otp_verify"))


def test_every_file_download_and_upload_is_logged_even_where_the_view_does_not(client_for, bureau, school_a):
    import io

    from openpyxl import Workbook

    client = client_for(bureau)
    client.get(reverse("students:import_template"))  # a download whose view writes no log line itself
    entry = AccessLog.objects.get(action=AccessLog.Action.DOWNLOAD)
    assert entry.user == bureau and "/registry/students/import/template.xlsx" in entry.detail

    buffer = io.BytesIO()
    Workbook().save(buffer)
    buffer.name = "名单.xlsx"
    client.post(reverse("dropout:register"), {"file": buffer, "as_of": "2022-09-01"})
    uploads = AccessLog.objects.filter(action=AccessLog.Action.IMPORT, user=bureau)
    assert uploads.exists() and "名单.xlsx" in uploads.first().detail


def test_a_view_that_logs_its_export_is_not_logged_twice(client_for, bureau, student_a):
    client_for(bureau).get(reverse("students:student_export"))
    logins = [AccessLog.Action.LOGIN, AccessLog.Action.LOGIN_PASSWORD]
    assert AccessLog.objects.filter(user=bureau).exclude(action__in=logins).count() == 1


def test_an_id_number_in_a_page_query_becomes_a_token_and_still_finds_the_record(
    client_for, bureau, student_a
):
    client = client_for(bureau)
    response = client.get(reverse("students:student_list"), {"q": student_a.id_number})
    assert response.status_code == 302
    assert student_a.id_number not in response["Location"] and "q=%40" in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert student_a.name in page
    assert student_a.id_number not in page  # nor echoed in the page's own links


def test_case_search_by_id_number_goes_through_a_token(client_for, bureau, township_a):
    from tests.dropout_control.factories import open_case

    case = open_case(township=township_a)
    client = client_for(bureau)
    response = client.get(reverse("dropout:case_list"), {"q": case.id_number})
    assert response.status_code == 302 and case.id_number not in response["Location"]
    assert case.name in client.get(response["Location"]).content.decode()
