"""Aid pages for each role, the public lookup, letters, and query counts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pghistory.models
import pytest
from django.core.cache import cache
from django.urls import reverse

from portal.models import AccessLog
from students.models import Stage
from subsidies import selectors, services
from subsidies.models import AidType, BankAccount, DisbursementBatch, LookupLog, OutOfCountyStudent, Payment
from tests.factories import make_id_number
from tests.refusals import nothing_written
from tests.subsidies.banking import pay_through_the_bank

PA, DIBAO = "poverty_alleviated", "dibao"


@pytest.fixture
def batch(bureau, make_student, school_a, school_b):
    make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name="甲生一")
    make_student(Stage.PRIMARY, categories=[DIBAO], boarding=True, school=school_a, name="甲生二")
    make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_b, name="乙生一")
    return services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )


@pytest.fixture
def paid_batch(batch, bureau):
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    pay_through_the_bank(batch, bureau, paid_on=date(2022, 10, 1))
    return batch


def test_index_is_chinese_and_shows_totals(bureau_client, batch):
    body = bureau_client.get(reverse("subsidies:index")).content.decode()
    assert "寄宿生生活补助" in body
    assert "1,500.00" in body
    assert "人次" in body


def test_principal_index_counts_only_own_school(principal_a_client, batch):
    body = principal_a_client.get(reverse("subsidies:index")).content.decode()
    assert "1,000.00" in body
    assert "1,500.00" not in body
    assert 'id="generate-form"' not in body


def test_batch_detail_for_principal_lists_own_students_only(principal_a_client, batch):
    body = principal_a_client.get(reverse("subsidies:batch_detail", args=[batch.pk])).content.decode()
    assert "甲生一" in body and "甲生二" in body
    assert "乙生一" not in body
    assert 'id="approve-form"' not in body


def test_bureau_sees_approve_and_totals_by_township(bureau_client, batch, school_a, school_b):
    body = bureau_client.get(reverse("subsidies:batch_detail", args=[batch.pk])).content.decode()
    assert 'id="approve-form"' in body
    assert school_a.township.name in body and school_b.township.name in body


@pytest.mark.parametrize("who", ["principal_a_client", "township_client", "official_client"])
def test_non_bureau_cannot_approve_or_generate(request, who, batch, make_student):
    make_student(Stage.JUNIOR, categories=[PA], boarding=False, rural=False)  # something to draw
    client = request.getfixturevalue(who)
    with nothing_written(batch):
        approved = client.post(reverse("subsidies:batch_approve", args=[batch.pk]))
        generated = client.post(
            reverse("subsidies:batch_generate"),
            {"aid_type": "free_lunch", "school_year": 2022, "term": "autumn"},
        )
    assert (approved.status_code, generated.status_code) == (403, 403)


def test_bureau_generates_and_approves_through_the_pages(bureau_client, make_student):
    make_student(Stage.JUNIOR, categories=[PA], boarding=False, rural=False)
    response = bureau_client.post(
        reverse("subsidies:batch_generate"), {"aid_type": "free_lunch", "school_year": 2022, "term": "autumn"}
    )
    batch = DisbursementBatch.objects.get()
    assert response["Location"] == reverse("subsidies:batch_detail", args=[batch.pk])
    url = reverse("subsidies:batch_approve", args=[batch.pk])
    count, amount = selectors.approval_figures(batch)
    figures = {
        "expected_count": count,
        "expected_amount": amount,
        "expected_fingerprint": selectors.approval_fingerprint(batch),
    }
    assert f"审批通过 {count} 人，共 ¥{amount:,.2f}" in bureau_client.get(url).content.decode()
    bureau_client.post(url, figures)
    bureau_client.post(url, figures)
    batch.refresh_from_db()
    assert batch.status == "approved"
    assert batch.steps.filter(action="approved").count() == 1


def test_approving_an_empty_batch_shows_the_message(bureau_client, bureau):
    batch = services.batch_generate(aid_type=AidType.FREE_LUNCH, school_year=2022, term="autumn", by=bureau)
    response = bureau_client.post(
        reverse("subsidies:batch_approve", args=[batch.pk]),
        {
            "expected_count": 0,
            "expected_amount": "0.00",
            "expected_fingerprint": selectors.approval_fingerprint(batch),
        },
        follow=True,
    )
    assert "没有学生" in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == "draft"


def test_principal_removes_own_student_from_draft(principal_a_client, batch):
    payment = Payment.objects.get(batch=batch, student__name="甲生二")
    principal_a_client.post(
        reverse("subsidies:batch_remove_student", args=[batch.pk, payment.student_id]), {"reason": "转学"}
    )
    assert not Payment.objects.filter(pk=payment.pk).exists()


def test_principal_cannot_remove_another_schools_student(principal_a_client, principal_b_client, batch):
    payment = Payment.objects.get(batch=batch, student__name="乙生一")
    url = reverse("subsidies:batch_remove_student", args=[batch.pk, payment.student_id])
    with nothing_written(batch, payment):
        assert principal_a_client.post(url, {"reason": "转学"}).status_code == 404
    principal_b_client.post(url, {"reason": "转学"})  # the same form from the pupil's own school is taken
    assert not Payment.objects.filter(pk=payment.pk).exists()


def test_batch_detail_has_no_n_plus_one(
    bureau_client, bureau, make_student, school_a, django_assert_max_num_queries
):
    for _ in range(20):
        make_student(Stage.PRIMARY, categories=[DIBAO], boarding=True, school=school_a)
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    with django_assert_max_num_queries(30):
        response = bureau_client.get(reverse("subsidies:batch_detail", args=[batch.pk]))
    assert response.status_code == 200


def test_index_has_no_n_plus_one(bureau_client, bureau, batch, make_student, django_assert_max_num_queries):
    make_student(Stage.JUNIOR, categories=[PA], boarding=False)
    services.batch_generate(aid_type=AidType.FREE_LUNCH, school_year=2022, term="autumn", by=bureau)
    with django_assert_max_num_queries(12):
        assert bureau_client.get(reverse("subsidies:index")).status_code == 200


def test_student_aid_history_and_masked_account(principal_a_client, principal_a, paid_batch):
    payment = Payment.objects.filter(batch=paid_batch, student__name="甲生一").get()
    services.bank_account_set(
        student=payment.student,
        holder_name="甲父",
        bank_name="农商银行",
        account_number="6217001234567890123",
        by=principal_a,
    )
    body = principal_a_client.get(
        reverse("subsidies:student_aid", args=[payment.student_id])
    ).content.decode()
    assert "500.00" in body
    assert "6217 **** **** 0123" in body
    assert "6217001234567890123" not in body
    assert "寄宿生生活补助" in body


def test_student_aid_of_another_school_is_404(principal_a_client, batch):
    other = Payment.objects.get(batch=batch, student__name="乙生一").student_id
    assert principal_a_client.get(reverse("subsidies:student_aid", args=[other])).status_code == 404


def test_notification_letters_print_as_one_document(bureau_client, paid_batch):
    body = bureau_client.get(reverse("subsidies:batch_letters", args=[paid_batch.pk])).content.decode()
    assert body.count('class="letter"') == 3
    assert "家长签字" in body
    single = bureau_client.get(
        reverse(
            "subsidies:student_letter",
            args=[Payment.objects.filter(batch=paid_batch).first().student_id, 2022, "autumn"],
        )
    ).content.decode()
    assert single.count('class="letter"') == 1


def test_policies_page_for_all_edit_for_bureau_only(bureau_client, principal_a_client, official_client):
    assert "660.00" in principal_a_client.get(reverse("subsidies:policy_list")).content.decode()
    assert principal_a_client.get(reverse("subsidies:policy_create")).status_code == 403
    assert official_client.get(reverse("subsidies:policy_create")).status_code == 403
    assert bureau_client.get(reverse("subsidies:policy_create")).status_code == 200


def test_policy_form_refuses_end_before_start(bureau_client):
    with nothing_written():
        response = bureau_client.post(
            reverse("subsidies:policy_create"),
            {
                "aid_type": "freshman_travel",
                "stage": "higher",
                "tier": 0,
                "boarding": "any",
                "unit": "per_year",
                "amount": "500",
                "payee": "person",
                "valid_from": "2022-09-01",
                "valid_to": "2022-01-01",
            },
        )
    assert response.status_code == 200
    assert "早于" in response.content.decode()


def test_quota_page_shows_allocated_drawn_remaining(bureau_client, batch):
    bureau_client.post(
        reverse("subsidies:quota_list"),
        {"aid_type": "boarder_allowance", "school_year": 2022, "term": "autumn", "amount": "1200"},
    )
    body = bureau_client.get(reverse("subsidies:quota_list")).content.decode()
    assert "1,200.00" in body and "1,500.00" in body and "-300.00" in body
    detail = bureau_client.get(reverse("subsidies:batch_detail", args=[batch.pk])).content.decode()
    assert "超出" in detail


def test_out_of_county_ledger_and_letter(bureau_client, township_a):
    number = make_id_number(date(2008, 2, 2))
    response = bureau_client.post(
        reverse("subsidies:out_of_county"),
        {
            "id_number": number,
            "name": "外读生",
            "home_township": township_a.pk,
            "destination_county_code": "500243",
            "destination_county": "彭水县",
            "destination_school": "彭水中学",
            "stage": "senior",
            "school_year": 2022,
        },
    )
    assert response.status_code == 302
    letter = bureau_client.get(
        reverse("subsidies:out_of_county_letter", args=["500243", 2022])
    ).content.decode()
    assert "外读生" in letter and number in letter and "彭水县" in letter
    bureau_client.post(reverse("subsidies:out_of_county_letter", args=["500243", 2022]))
    assert OutOfCountyStudent.objects.get().follow_up == "sent"


def test_township_sees_only_own_ledger(township_client, township_b, township_a, bureau):
    services.out_of_county_add(
        by=bureau,
        id_number=make_id_number(date(2008, 1, 1)),
        name="本镇生",
        home_township=township_a,
        destination_county_code="500243",
        destination_county="彭水县",
        destination_school="x",
        stage="junior",
        school_year=2022,
    )
    services.out_of_county_add(
        by=bureau,
        id_number=make_id_number(date(2008, 1, 1)),
        name="他镇生",
        home_township=township_b,
        destination_county_code="500243",
        destination_county="彭水县",
        destination_school="x",
        stage="junior",
        school_year=2022,
    )
    body = township_client.get(reverse("subsidies:out_of_county")).content.decode()
    assert "本镇生" in body and "他镇生" not in body
    assert (
        township_client.get(reverse("subsidies:out_of_county_letter", args=["500243", 2022])).status_code
        == 403
    )


def test_loan_page_refuses_amount_above_cap(bureau_client):
    with nothing_written():
        response = bureau_client.post(reverse("subsidies:loan_list"), loan_form(amount="13000"))
    assert response.status_code == 200
    assert "12,000" in response.content.decode()


def loan_form(**overrides) -> dict:
    form = {
        "id_number": make_id_number(date(2003, 1, 1)),
        "name": "贷款生",
        "university": "重庆大学",
        "school_year": 2022,
        "contract_date": "2022-09-01",
        "amount": "8000",
        "top_up": "0",
    }
    form.update(overrides)
    return form


# --- public lookup -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def test_lookup_shows_term_aid_and_amount_only(client, paid_batch, principal_a):
    payment = Payment.objects.filter(batch=paid_batch, student__name="甲生一").get()
    services.bank_account_set(
        student=payment.student,
        holder_name="甲父",
        bank_name="农商银行",
        account_number="6217001234567890123",
        by=principal_a,
    )
    response = client.post(
        reverse("subsidies:lookup"), {"id_number": payment.student.id_number, "name": "甲生一"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "寄宿生生活补助" in body and "500.00" in body and "秋季学期" in body
    for secret in ("0123", "农商银行", "脱贫户", payment.school.name):
        assert secret not in body
    assert LookupLog.objects.get().outcome == "shown"
    assert AccessLog.objects.filter(action=AccessLog.Action.LOOKUP).count() == 1
    assert payment.student.id_number not in LookupLog.objects.get().id_number_masked


def test_lookup_with_wrong_name_shows_nothing(client, paid_batch):
    payment = Payment.objects.filter(batch=paid_batch).first()
    body = client.post(
        reverse("subsidies:lookup"), {"id_number": payment.student.id_number, "name": "别人"}
    ).content.decode()
    assert "500.00" not in body
    assert "不匹配" in body
    assert LookupLog.objects.get().outcome == "no_match"


def test_lookup_is_rate_limited_per_client(client, paid_batch):
    payment = Payment.objects.filter(batch=paid_batch).first()
    for _ in range(10):
        client.post(reverse("subsidies:lookup"), {"id_number": "1", "name": "x"})
    response = client.post(
        reverse("subsidies:lookup"), {"id_number": payment.student.id_number, "name": payment.student.name}
    )
    assert response.status_code == 429
    assert "500.00" not in response.content.decode()
    assert LookupLog.objects.filter(outcome="limited").count() == 1
    other = client.post(
        reverse("subsidies:lookup"),
        {"id_number": payment.student.id_number, "name": payment.student.name},
        REMOTE_ADDR="10.0.0.9",
    )
    assert other.status_code == 200


def test_bank_account_form_on_student_page(principal_a_client, student_a):
    principal_a_client.post(
        reverse("subsidies:student_aid", args=[student_a.pk]),
        {
            "holder_name": "张父",
            "relation": "父亲",
            "bank_name": "农行",
            "account_number": "6228480012345678901",
        },
    )
    assert BankAccount.objects.get(student=student_a).account_number == "6228480012345678901"


PAGES = ["index", "policy_list", "quota_list", "match_list", "out_of_county", "loan_list"]
# Who may open each page: data matching is the bureau's (officials read its runs through the API).
EXPECTED = {
    "bureau_client": dict.fromkeys(PAGES, 200),
    "official_client": {**dict.fromkeys(PAGES, 200), "match_list": 403},
    "township_client": {**dict.fromkeys(PAGES, 200), "match_list": 403},
    "principal_a_client": {**dict.fromkeys(PAGES, 200), "match_list": 403},
}


@pytest.mark.parametrize("who", list(EXPECTED))
def test_every_page_for_every_role(request, who, batch):
    client = request.getfixturevalue(who)
    for name, status in EXPECTED[who].items():
        assert client.get(reverse(f"subsidies:{name}")).status_code == status, name


def test_anonymous_is_sent_to_login_except_for_the_lookup(client, batch):
    for name in PAGES:
        response = client.get(reverse(f"subsidies:{name}"))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name
    assert client.get(reverse("subsidies:batch_detail", args=[batch.pk])).status_code == 302
    assert client.get(reverse("subsidies:lookup")).status_code == 200


@pytest.mark.parametrize("who", ["official_client", "principal_a_client", "township_client"])
def test_read_only_and_school_roles_cannot_write_bureau_records(request, who, bureau_client):
    client = request.getfixturevalue(who)
    quota = {"aid_type": "free_lunch", "school_year": 2022, "term": "autumn", "amount": "100"}
    loan = loan_form()
    with nothing_written():
        assert client.post(reverse("subsidies:quota_list"), quota).status_code == 403
        assert client.post(reverse("subsidies:loan_list"), loan).status_code == 403
    assert bureau_client.post(reverse("subsidies:quota_list"), quota).status_code == 302
    assert bureau_client.post(reverse("subsidies:loan_list"), loan).status_code == 302


def test_generating_above_the_quota_warns(bureau_client, bureau, make_student):
    from decimal import Decimal

    make_student(Stage.JUNIOR, categories=[PA], boarding=False)
    services.quota_set(
        aid_type="free_lunch", school_year=2022, term="autumn", amount=Decimal("100"), by=bureau
    )
    response = bureau_client.post(
        reverse("subsidies:batch_generate"),
        {"aid_type": "free_lunch", "school_year": 2022, "term": "autumn"},
        follow=True,
    )
    assert "超出指标" in response.content.decode()


def test_closing_a_paid_policy_row_through_the_form(bureau_client, bureau, paid_batch):
    from subsidies.models import AidPolicy

    policy = AidPolicy.objects.get(aid_type="boarder_allowance", stage="primary")
    data = {
        "aid_type": policy.aid_type,
        "stage": policy.stage,
        "tier": policy.tier,
        "categories": policy.categories,
        "levels": policy.levels,
        "boarding": policy.boarding,
        "unit": policy.unit,
        "amount": "1000.00",
        "payee": policy.payee,
        "valid_from": "2022-01-01",
        "valid_to": "2023-08-31",
        "note": policy.note,
        "source": policy.source,
    }
    response = bureau_client.post(reverse("subsidies:policy_edit", args=[policy.pk]), data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    policy.refresh_from_db()
    assert policy.valid_to == date(2023, 8, 31)
    data["amount"] = "1200.00"
    response = bureau_client.post(reverse("subsidies:policy_edit", args=[policy.pk]), data)
    assert response.status_code == 200
    assert "已按此标准发放过资助" in response.content.decode()
    policy.refresh_from_db()
    assert policy.amount == Decimal("1000.00")


def test_a_large_county_is_drawn_by_a_task(
    bureau_client, make_student, monkeypatch, django_capture_on_commit_callbacks
):
    from subsidies import tasks
    from subsidies.services import batches

    monkeypatch.setattr(batches, "ASYNC_DRAW_ABOVE", 0)
    make_student(Stage.JUNIOR, categories=[PA], boarding=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        bureau_client.post(
            reverse("subsidies:batch_generate"),
            {"aid_type": "free_lunch", "school_year": 2022, "term": "autumn"},
        )
    batch = DisbursementBatch.objects.get()
    assert batch.payments.count() == 0
    assert (
        'id="drawing"'
        in bureau_client.get(reverse("subsidies:batch_detail", args=[batch.pk])).content.decode()
    )
    assert len(callbacks) == 1
    callbacks[0]()  # the task, run eagerly as Celery does in tests
    assert batch.payments.count() == 1
    # The task acts as the clerk who generated the batch: the change history names her.
    payment = batch.payments.get()
    insert = [e for e in pghistory.models.Events.objects.tracks(payment) if e.pgh_label == "insert"]
    assert insert and int(insert[0].pgh_context["user"]) == batch.created_by_id
    assert tasks.draw_batch(batch.pk, batch.created_by_id) == 1  # a retried task adds nobody twice
    assert batch.payments.count() == 1
    assert (
        'id="drawing"'
        not in bureau_client.get(reverse("subsidies:batch_detail", args=[batch.pk])).content.decode()
    )
