"""Issue 11: the attacks an outside review ran, each performed here and shown to fail.

Second-factor bypass (1), audit gaps (7), API tokens (8), one address locking everyone out (9), the password
re-prompt and weak passwords (12), responses kept by caches (12).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from rest_framework.test import APIClient

from portal.models import AccessLog, User
from portal.security import enrolment_link_make, issue_recovery_codes
from tests.conftest import PASSWORD
from tests.factories import UserFactory
from tests.portal.test_security import code_for, login


def pending_device(user) -> TOTPDevice:
    return TOTPDevice.objects.get(user=user, confirmed=False)


def other_code(device: TOTPDevice) -> str:
    return "000000" if code_for(device) != "000000" else "111111"


# --- 1. The second factor cannot be skipped -----------------------------------------------------------


def test_password_only_session_cannot_replace_the_authenticator(bureau):
    real = TOTPDevice.objects.create(user=bureau, name="authenticator", confirmed=True)
    codes = issue_recovery_codes(bureau)
    attacker = Client()
    login(attacker, bureau)
    response = attacker.get(reverse("otp_setup"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("otp_verify"))
    assert not TOTPDevice.objects.filter(user=bureau, confirmed=False).exists()  # no secret shown either
    # Posting a code straight away does not help: there is no device of the attacker's to confirm.
    attacker.post(reverse("otp_setup"), {"password": PASSWORD, "token": "123456"})
    assert list(TOTPDevice.objects.filter(user=bureau).values_list("pk", "confirmed")) == [(real.pk, True)]
    assert set(StaticToken.objects.filter(device__user=bureau).values_list("token", flat=True)) == set(codes)
    assert attacker.get(reverse("students:student_list")).status_code == 302
    assert attacker.get("/api/students/").status_code == 403


def test_password_only_session_cannot_make_a_first_authenticator_for_a_role_that_needs_one(bureau):
    attacker = Client()
    login(attacker, bureau)
    page = attacker.get(reverse("otp_setup"))
    body = page.content.decode()
    assert page.status_code == 200 and 'id="enrol-needed"' in body
    assert "otp-key" not in body and not TOTPDevice.objects.filter(user=bureau).exists()
    attacker.post(reverse("otp_setup"), {"password": PASSWORD, "token": "123456"})
    assert not TOTPDevice.objects.filter(user=bureau).exists()
    assert not attacker.session.get("otp_device_id")
    token = APIClient().post(
        "/api/auth/token/", {"username": bureau.username, "password": PASSWORD, "otp_token": "123456"}
    )
    assert token.status_code == 400 and not AuthToken.objects.filter(user=bureau).exists()


def test_enrolment_link_lets_the_user_enrol_once_with_the_password_again(bureau):
    admin = UserFactory(username="chief", role=User.Role.BUREAU, is_staff=True, is_superuser=True)
    link = enrolment_link_make(user=bureau, by=admin)
    client = Client()
    login(client, bureau)
    page = client.get(link)
    assert page.status_code == 200 and "otp-key" in page.content.decode()
    device = pending_device(bureau)
    wrong_password = client.post(link, {"password": "not-the-password", "token": code_for(device)})
    assert wrong_password.status_code == 200 and not TOTPDevice.objects.filter(confirmed=True).exists()
    done = client.post(link, {"password": PASSWORD, "token": code_for(device)})
    assert len(done.context["codes"]) == 10
    assert client.get(reverse("students:student_list")).status_code == 200
    assert AccessLog.objects.filter(user=bureau, action=AccessLog.Action.OTP_ENROLLED).count() == 1
    assert AccessLog.objects.filter(user=admin, action=AccessLog.Action.OTP_LINK).count() == 1
    # The same link a second time (an attacker who read it over the user's shoulder) is refused.
    again = Client()
    login(again, bureau)
    reused = again.get(link)
    assert reused.status_code == 403
    assert TOTPDevice.objects.filter(user=bureau).count() == 1


def test_enrolment_link_is_for_its_own_user_only(bureau, official):
    link = enrolment_link_make(user=bureau, by=None)
    client = Client()
    login(client, official)
    assert client.get(link).status_code == 403
    assert not TOTPDevice.objects.filter(user=official).exists()


def test_verified_user_replaces_the_authenticator_with_password_and_new_code(client, bureau):
    old = TOTPDevice.objects.create(user=bureau, name="authenticator", confirmed=True)
    old_codes = issue_recovery_codes(bureau)
    login(client, bureau)
    client.post(reverse("otp_verify"), {"token": code_for(old)})
    page = client.get(reverse("otp_setup")).content.decode()
    assert 'id="replacing-note"' in page
    new = pending_device(bureau)
    client.post(reverse("otp_setup"), {"password": PASSWORD, "token": code_for(new)})
    assert list(TOTPDevice.objects.filter(user=bureau).values_list("pk", flat=True)) == [new.pk]
    assert not StaticToken.objects.filter(token__in=old_codes).exists()
    entry = AccessLog.objects.get(user=bureau, action=AccessLog.Action.OTP_ENROLLED)
    assert "replaced" in entry.detail


def test_principal_turns_on_the_optional_factor_with_the_password_again(client, principal_a):
    login(client, principal_a)
    client.get(reverse("otp_setup"))
    device = pending_device(principal_a)
    client.post(reverse("otp_setup"), {"password": "wrong-password-zz", "token": code_for(device)})
    assert not TOTPDevice.objects.filter(user=principal_a, confirmed=True).exists()
    client.post(reverse("otp_setup"), {"password": PASSWORD, "token": code_for(device)})
    assert TOTPDevice.objects.filter(user=principal_a, confirmed=True).exists()


def test_admin_action_makes_an_enrolment_link(bureau, official):
    from tests.conftest import verify_second_factor

    bureau.is_superuser = True
    bureau.save()
    client = Client()
    client.force_login(bureau)
    verify_second_factor(client, bureau)
    response = client.post(
        reverse("admin:portal_user_changelist"),
        {"action": "make_enrolment_links", "_selected_action": [official.pk]},
        follow=True,
    )
    text = " ".join(str(m) for m in response.context["messages"])
    assert "/accounts/2fa/enrol/" in text
    assert AccessLog.objects.filter(action=AccessLog.Action.OTP_LINK, object_id=str(official.pk)).exists()


# --- 7. What the access log must hold ----------------------------------------------------------------


def test_password_only_login_is_not_logged_as_a_full_login(client, bureau):
    device = TOTPDevice.objects.create(user=bureau, name="authenticator", confirmed=True)
    login(client, bureau)
    assert list(AccessLog.objects.filter(user=bureau).values_list("action", flat=True)) == [
        AccessLog.Action.LOGIN_PASSWORD
    ]
    client.post(reverse("otp_verify"), {"token": other_code(device)})
    device.refresh_from_db()
    device.throttle_reset()
    client.post(reverse("otp_verify"), {"token": code_for(device)})
    actions = list(AccessLog.objects.filter(user=bureau).order_by("pk").values_list("action", flat=True))
    assert actions == [
        AccessLog.Action.LOGIN_PASSWORD,
        AccessLog.Action.OTP_FAILED,
        AccessLog.Action.OTP_VERIFIED,
    ]


def test_wrong_code_at_the_token_endpoint_is_logged(bureau):
    TOTPDevice.objects.create(user=bureau, name="authenticator", confirmed=True)
    APIClient().post(
        "/api/auth/token/", {"username": bureau.username, "password": PASSWORD, "otp_token": "000001"}
    )
    assert AccessLog.objects.filter(user=bureau, action=AccessLog.Action.OTP_FAILED).exists()


def test_refused_requests_are_logged(client_for, principal_a, official, student_b):
    principal = client_for(principal_a)
    assert principal.get(reverse("students:student_detail", args=[student_b.pk])).status_code == 404
    assert principal.get(f"/api/students/{student_b.pk}/").status_code == 404
    assert principal.get(reverse("access_log")).status_code == 403
    reader = client_for(official)
    assert reader.post("/api/students/", {"name": "x"}).status_code == 403
    denied = AccessLog.objects.filter(action=AccessLog.Action.DENIED)
    assert denied.filter(user=principal_a).count() == 3
    assert denied.filter(user=official, detail__startswith="403 POST /api/students/").count() == 1
    assert denied.filter(detail__contains=f"/registry/students/{student_b.pk}/").exists()


def test_refusal_of_a_token_request_is_logged_with_its_user(principal_a, student_b):
    api = APIClient()
    key = api.post("/api/auth/token/", {"username": principal_a.username, "password": PASSWORD}).json()[
        "token"
    ]
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(f"/api/students/{student_b.pk}/").status_code == 404
    assert AccessLog.objects.filter(user=principal_a, action=AccessLog.Action.DENIED).count() == 1


# --- 8. API tokens -----------------------------------------------------------------------------------


def token_for(user, password: str = PASSWORD) -> str:
    response = APIClient().post("/api/auth/token/", {"username": user.username, "password": password})
    assert response.status_code == 200, response.content
    return response.json()["token"]


def api_with(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def test_tokens_are_stored_hashed_and_expire_after_a_working_day(principal_a, settings):
    key = token_for(principal_a)
    stored = AuthToken.objects.get(user=principal_a)
    assert key not in (stored.digest, stored.token_key)
    assert timedelta(hours=7) < stored.expiry - timezone.now() <= timedelta(hours=settings.API_TOKEN_HOURS)
    assert api_with(key).get("/api/students/").status_code == 200
    AuthToken.objects.filter(pk=stored.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert api_with(key).get("/api/students/").status_code == 401


def test_a_password_change_ends_the_tokens(principal_a):
    key = token_for(principal_a)
    principal_a.set_password("another-long-passphrase-2027")
    principal_a.save()
    assert api_with(key).get("/api/students/").status_code == 401
    assert not AuthToken.objects.filter(user=principal_a).exists()


def test_a_password_change_in_the_browser_ends_the_tokens(client, principal_a):
    key = token_for(principal_a)
    login(client, principal_a)
    new = "a-different-passphrase-2026"
    response = client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    assert api_with(key).get("/api/students/").status_code == 401


def test_a_disabled_account_loses_its_tokens(principal_a):
    key = token_for(principal_a)
    principal_a.is_active = False
    principal_a.save()
    assert api_with(key).get("/api/students/").status_code == 401


def test_an_account_that_must_change_its_password_gets_no_token_and_cannot_use_one(principal_a):
    key = token_for(principal_a)
    principal_a.must_change_password = True
    principal_a.save()
    assert api_with(key).get("/api/students/").status_code == 401
    refused = APIClient().post("/api/auth/token/", {"username": principal_a.username, "password": PASSWORD})
    assert refused.status_code == 400
    assert AuthToken.objects.filter(user=principal_a).count() == 1


# --- 9. Lock-out per user name and address -----------------------------------------------------------


def test_made_up_names_from_one_address_do_not_lock_out_the_real_users(principal_a, settings):
    stranger = Client()
    for n in range(settings.AXES_FAILURE_LIMIT * 2):
        login(stranger, UserFactory.build(username=f"guess{n}"), "wrong-password-xx")
    colleague = Client()  # the same address: the bureau's one proxy
    assert login(colleague, principal_a).status_code == 302


def test_lock_out_counts_the_real_client_behind_our_proxy(principal_a, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    attacker = Client(HTTP_X_FORWARDED_FOR="203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(attacker, principal_a, "wrong-password-xx")
    assert login(attacker, principal_a).status_code == 429  # the guesser's own address is locked
    real = Client(HTTP_X_FORWARDED_FOR="198.51.100.20")
    assert login(real, principal_a).status_code == 302
    failed = AccessLog.objects.filter(action=AccessLog.Action.LOGIN_FAILED).values_list("ip", flat=True)
    assert set(failed) == {"203.0.113.9"}


# --- 12. The password re-prompt, weak passwords, caches -----------------------------------------------


def test_wrong_passwords_at_the_export_re_prompt_are_logged_and_limited(
    client_for, bureau, student_a, settings
):
    client = client_for(bureau)
    url = reverse("students:student_export")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(url, {"password": "wrong-password-xx"})
        assert response.status_code == 200 and "密码错误" in response.content.decode()
    assert client.post(url, {"password": "wrong-password-xx"}).status_code == 429
    failures = AccessLog.objects.filter(action=AccessLog.Action.LOGIN_FAILED, username=bureau.username)
    assert failures.count() == settings.AXES_FAILURE_LIMIT
    assert failures.first().detail == "password asked again"
    # Locked now: even the right password gives no file.
    locked = client.post(url, {"password": PASSWORD})
    assert locked.status_code == 429 and "Content-Disposition" not in locked
    assert not AccessLog.objects.filter(action=AccessLog.Action.EXPORT).exists()


@pytest.mark.parametrize("password", ["Aaaaaaaaaaaa", "Password1234", "qwertyuiop12", "aaaaaaaaaaaaaaaa"])
def test_easily_guessed_passwords_are_refused(password, db):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_strong_passphrase_is_accepted(db):
    validate_password("portal-demo-2026")
    validate_password("河边-sparrow-lantern-82")


def test_pages_and_api_answers_are_not_stored_by_caches(client_for, principal_a, student_a):
    client = client_for(principal_a)
    for url in (
        reverse("students:student_detail", args=[student_a.pk]),
        reverse("students:student_list"),
        "/api/students/",
        reverse("students:student_export"),
    ):
        assert "no-store" in client.get(url)["Cache-Control"], url


# --- 11. ID numbers in URLs and logs -----------------------------------------------------------------


def test_an_id_typed_with_spaces_in_the_address_bar_becomes_a_token(client_for, bureau, student_a):
    n = student_a.id_number
    spaced = f"{n[:6]} {n[6:14]} {n[14:]}"
    response = client_for(bureau).get(reverse("students:student_list"), {"q": spaced})
    assert response.status_code == 302
    assert n[6:14] not in response["Location"] and "q=%40" in response["Location"]


def test_search_forms_are_posted_so_the_number_is_in_no_url(client_for, bureau, township_a):
    from tests.dropout_control.factories import open_case

    case = open_case(township=township_a)
    client = client_for(bureau)
    page = client.get(reverse("dropout:case_list")).content.decode()
    assert f'action="{reverse("search")}"' in page and 'method="post"' in page
    response = client.post(
        reverse("search"),
        {"_next": reverse("dropout:case_list"), "q": f" {case.id_number[:9]} {case.id_number[9:]}"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("dropout:case_list") + "?q=%40")
    assert case.id_number[6:14] not in response["Location"]
    assert case.name in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "javascript:alert(1)", ""])
def test_search_redirect_stays_on_the_portal(client_for, bureau, target):
    response = client_for(bureau).post(reverse("search"), {"_next": target, "q": "张"})
    assert response.status_code == 400


# --- What a second outside attack found after the first fixes ---------------------------------------


def test_the_key_shown_earlier_is_worth_nothing_later(principal_a):
    attacker = Client()
    login(attacker, principal_a)
    attacker.get(reverse("otp_setup"))
    stolen = pending_device(principal_a)
    victim = Client()
    login(victim, principal_a)
    victim.get(reverse("otp_setup"))
    fresh = pending_device(principal_a)
    assert fresh.key != stolen.key
    victim.post(reverse("otp_setup"), {"password": PASSWORD, "token": code_for(fresh)})
    assert TOTPDevice.objects.get(user=principal_a, confirmed=True).key == fresh.key
    # The attacker's page posts a code of the old key: there is nothing of his to confirm any more.
    attacker.post(reverse("otp_setup"), {"password": PASSWORD, "token": code_for(stolen)})
    assert TOTPDevice.objects.get(user=principal_a, confirmed=True).key == fresh.key


def test_two_sessions_posting_one_link_enrol_once(bureau):
    link = enrolment_link_make(user=bureau, by=None)
    first, second = Client(), Client()
    for client in (first, second):
        login(client, bureau)
    first.get(link)
    first_device = pending_device(bureau)
    second.get(link)  # a fresh key for the second page (the first one's is void)
    second_device = pending_device(bureau)
    done = second.post(link, {"password": PASSWORD, "token": code_for(second_device)})
    assert done.status_code == 200 and len(done.context["codes"]) == 10
    late = first.post(link, {"password": PASSWORD, "token": code_for(first_device)})
    assert late.status_code == 403
    assert AccessLog.objects.filter(user=bureau, action=AccessLog.Action.OTP_ENROLLED).count() == 1
    assert list(TOTPDevice.objects.filter(user=bureau).values_list("pk", flat=True)) == [second_device.pk]


def test_a_lost_authenticator_is_replaced_through_an_administrators_link(bureau):
    lost = TOTPDevice.objects.create(user=bureau, name="authenticator", confirmed=True)
    link = enrolment_link_make(user=bureau, by=None)
    client = Client()
    login(client, bureau)
    client.get(link)
    new = pending_device(bureau)
    client.post(link, {"password": PASSWORD, "token": code_for(new)})
    assert list(TOTPDevice.objects.filter(user=bureau).values_list("pk", flat=True)) == [new.pk]
    assert not TOTPDevice.objects.filter(pk=lost.pk).exists()


def test_enrolling_ends_the_tokens_taken_before_and_renews_the_session(client, principal_a):
    key = token_for(principal_a)
    login(client, principal_a)
    client.get(reverse("otp_setup"))
    before = client.cookies["sessionid"].value
    client.post(reverse("otp_setup"), {"password": PASSWORD, "token": code_for(pending_device(principal_a))})
    assert client.cookies["sessionid"].value != before
    assert api_with(key).get("/api/students/").status_code == 401


def test_giving_the_second_factor_renews_the_session_key(client, bureau):
    device = TOTPDevice.objects.create(user=bureau, name="authenticator", confirmed=True)
    login(client, bureau)
    half = client.cookies["sessionid"].value
    client.post(reverse("otp_verify"), {"token": code_for(device)})
    assert client.cookies["sessionid"].value != half
    copied = Client()
    copied.cookies["sessionid"] = half
    assert copied.get("/api/students/").status_code == 401
    assert copied.get(reverse("students:student_list")).status_code == 302


def test_password_only_session_cannot_change_the_password(client, bureau):
    TOTPDevice.objects.create(user=bureau, name="authenticator", confirmed=True)
    login(client, bureau)
    new = "a-different-passphrase-2026"
    response = client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302 and response["Location"].startswith(reverse("otp_verify"))
    bureau.refresh_from_db()
    assert bureau.check_password(PASSWORD)


def test_a_new_account_without_authenticator_changes_its_forced_password_first(client, db):
    user = UserFactory(role=User.Role.BUREAU, must_change_password=True)
    login(client, user)
    assert client.get("/")["Location"].startswith(reverse("password_change"))
    new = "a-different-passphrase-2026"
    client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert client.get("/")["Location"].startswith(reverse("otp_setup"))
    entry = AccessLog.objects.get(action=AccessLog.Action.PASSWORD_CHANGED)
    assert entry.object_id == str(user.pk) and entry.detail == "forced"


def test_guessing_the_old_password_on_the_change_form_is_limited_and_logged(
    client_for, principal_a, settings
):
    client = client_for(principal_a)
    new = "a-different-passphrase-2026"
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong = client.post(
            reverse("password_change"),
            {"old_password": "wrong-password-xx", "new_password1": new, "new_password2": new},
        )
        assert wrong.status_code == 200
    last = client.post(
        reverse("password_change"),
        {"old_password": "wrong-password-xx", "new_password1": new, "new_password2": new},
    )
    assert last.status_code == 429
    right = client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert right.status_code == 429
    principal_a.refresh_from_db()
    assert principal_a.check_password(PASSWORD)
    # Five wrong answers, and the refused sixth try while locked.
    failures = AccessLog.objects.filter(action=AccessLog.Action.LOGIN_FAILED, username=principal_a.username)
    assert failures.count() == settings.AXES_FAILURE_LIMIT + 1


def test_the_new_password_must_differ_from_the_old(client_for, principal_a):
    response = client_for(principal_a).post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD},
    )
    assert response.status_code == 200
    assert "新密码不能与旧密码相同" in response.content.decode()


def test_new_recovery_codes_need_the_password_and_are_logged(client_for, bureau):
    client = client_for(bureau)
    old = issue_recovery_codes(bureau)
    refused = client.post(reverse("otp_recovery"), {"password": "wrong-password-xx"})
    assert refused.context["codes"] is None
    assert set(StaticToken.objects.filter(device__user=bureau).values_list("token", flat=True)) == set(old)
    done = client.post(reverse("otp_recovery"), {"password": PASSWORD})
    assert len(done.context["codes"]) == 10
    assert AccessLog.objects.filter(user=bureau, action=AccessLog.Action.OTP_RECOVERY).count() == 1


def test_api_reads_and_refused_tokens_are_logged(principal_a, student_a):
    key = token_for(principal_a)
    api = api_with(key)
    api.get("/api/students/?page=1")
    read = AccessLog.objects.get(user=principal_a, action=AccessLog.Action.API_READ)
    assert read.detail == "/api/students/?page=1"
    api_with("not-a-token-at-all").get("/api/students/")
    assert AccessLog.objects.filter(action=AccessLog.Action.DENIED, detail__startswith="401 GET").exists()


def test_an_id_number_in_a_logged_path_is_masked(client_for, principal_a, student_b):
    client_for(principal_a).get(f"/api/students/{student_b.id_number}/")
    details = " ".join(AccessLog.objects.values_list("detail", flat=True))
    assert student_b.id_number not in details and student_b.id_number[:4] in details


def test_a_password_set_by_an_administrator_must_be_changed_and_is_logged(principal_a):
    from tests.conftest import verify_second_factor

    admin = UserFactory(username="chief", role=User.Role.BUREAU, is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    verify_second_factor(client, admin)
    principal_a.must_change_password = False
    principal_a.save()
    temporary = "temporary-passphrase-for-zhang-2026"
    response = client.post(
        reverse("admin:auth_user_password_change", args=[principal_a.pk]),
        {"password1": temporary, "password2": temporary},
    )
    assert response.status_code == 302
    principal_a.refresh_from_db()
    assert principal_a.must_change_password and principal_a.check_password(temporary)
    assert AccessLog.objects.filter(
        action=AccessLog.Action.PASSWORD_CHANGED, object_id=str(principal_a.pk)
    ).exists()


def test_there_is_no_self_service_password_reset(client, principal_a):
    assert client.get("/accounts/password_reset/").status_code == 404


def test_a_forged_forwarded_header_is_no_address(client, principal_a, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    response = client.post(
        reverse("login"),
        {"username": principal_a.username, "password": "wrong-password-xx"},
        HTTP_X_FORWARDED_FOR="garbage",
    )
    assert response.status_code == 200
    assert AccessLog.objects.get(action=AccessLog.Action.LOGIN_FAILED).ip == "127.0.0.1"


def test_api_tokens_per_user_are_limited(principal_a, settings):
    from knox.settings import knox_settings

    for _ in range(knox_settings.TOKEN_LIMIT_PER_USER):
        token_for(principal_a)
    refused = APIClient().post("/api/auth/token/", {"username": principal_a.username, "password": PASSWORD})
    assert refused.status_code == 400
    assert AuthToken.objects.filter(user=principal_a).count() == knox_settings.TOKEN_LIMIT_PER_USER


@pytest.mark.parametrize(
    "password", ["Admin@123456", "ningdu123456", "woaini1314520", "Zhangsan1990!", "Jyj@2026abcd"]
)
def test_chinese_style_weak_passwords_are_refused(password, db):
    with pytest.raises(ValidationError):
        validate_password(password)


@pytest.mark.parametrize(
    "typed",
    [
        "{n17}Ｘ",
        "{fullwidth}",
        "{a}.{b}.{c}",
        "{a}\u200b{b}{c}",
        "冯博 {n}",
        "身份证:{n}",
        "{n},{n}",
        "{a}_{b}/{c}",
    ],
)
def test_an_id_number_however_typed_stays_out_of_the_url(client_for, bureau, typed):
    from tests.factories import make_id_number

    n = make_id_number(__import__("datetime").date(2017, 10, 1))
    value = typed.format(
        n=n,
        n17=n[:17],
        a=n[:6],
        b=n[6:14],
        c=n[14:],
        fullwidth="".join(chr(ord(ch) + 0xFEE0) for ch in n),
    )
    client = client_for(bureau)
    posted = client.post(reverse("search"), {"_next": reverse("dropout:case_list"), "q": value})
    assert posted.status_code == 302 and n[6:14] not in posted["Location"]
    typed_in_bar = client.get(reverse("dropout:case_list"), {"q": value})
    assert typed_in_bar.status_code == 302 and n[6:14] not in typed_in_bar["Location"]
