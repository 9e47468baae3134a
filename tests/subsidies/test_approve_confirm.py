"""审批通过 states the count and amount before approving (page and API), and refuses a batch that changed
under the clerk; after a bank file's download the batch page says what the file held."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from students.models import Stage
from subsidies import selectors, services
from subsidies.models import AidType, DisbursementBatch
from tests.conftest import PASSWORD
from tests.refusals import nothing_written
from tests.subsidies.banking import give_account

PA = "poverty_alleviated"
API = "/api/subsidies"


@pytest.fixture
def draft(bureau, make_student, school_a):
    for name in ("甲", "乙", "丙"):
        give_account(
            make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name=name), bureau
        )
    return services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )


def test_the_approval_page_states_the_count_and_amount_before_approving(bureau_client, draft):
    body = bureau_client.get(reverse("subsidies:batch_approve", args=[draft.pk])).content.decode()
    assert "审批通过 3 人，共 ¥1,500.00" in body
    draft.refresh_from_db()
    assert draft.status == DisbursementBatch.Status.DRAFT  # asking wrote nothing


def test_a_post_without_the_figures_approves_nothing(bureau_client, draft):
    with nothing_written(draft):
        response = bureau_client.post(reverse("subsidies:batch_approve", args=[draft.pk]), follow=True)
    assert "请先核对人数和金额" in response.content.decode()


def test_a_batch_that_changed_since_the_page_is_not_approved(
    bureau_client, bureau, draft, make_student, school_a
):
    figures = {
        "expected_count": 3,
        "expected_amount": "1500.00",
        "expected_fingerprint": selectors.approval_fingerprint(draft),
    }
    extra = make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name="丁")
    services.batch_add_student(
        batch=draft, student=extra, by=bureau, reason="补录"
    )  # another clerk, meanwhile
    response = bureau_client.post(reverse("subsidies:batch_approve", args=[draft.pk]), figures, follow=True)
    body = response.content.decode()
    assert "批次已有变化" in body and "4 人" in body and "¥2,000.00" in body
    assert "审批通过 4 人，共 ¥2,000.00" in body  # asked again, with the figures as they are now
    draft.refresh_from_db()
    assert draft.status == DisbursementBatch.Status.DRAFT


def test_the_page_approves_with_the_figures_it_stated(bureau_client, draft):
    count, amount = selectors.approval_figures(draft)
    assert (count, amount) == (3, Decimal("1500.00"))
    bureau_client.post(
        reverse("subsidies:batch_approve", args=[draft.pk]),
        {
            "expected_count": count,
            "expected_amount": amount,
            "expected_fingerprint": selectors.approval_fingerprint(draft),
        },
    )
    draft.refresh_from_db()
    assert draft.status == DisbursementBatch.Status.APPROVED


def test_the_api_requires_the_figures_and_refuses_stale_ones(client_for, bureau, draft):
    api = client_for(bureau)
    url = f"{API}/batches/{draft.pk}/approve/"
    with nothing_written(draft):
        missing = api.post(url, {}, content_type="application/json")
        wrong = api.post(
            url, {"expected_count": 3, "expected_amount": "1400.00"}, content_type="application/json"
        )
    assert (missing.status_code, wrong.status_code) == (400, 400)
    assert "expected_count" in missing.json()
    assert "批次已有变化" in str(wrong.json())
    ok = api.post(url, {"expected_count": 3, "expected_amount": "1500.00"}, content_type="application/json")
    assert (ok.status_code, ok.json()["status"]) == (200, "approved")


def test_the_approval_page_is_bureau_only(principal_a_client, official_client, draft):
    for client in (principal_a_client, official_client):
        assert client.get(reverse("subsidies:batch_approve", args=[draft.pk])).status_code == 403


def test_after_the_download_the_batch_page_says_what_the_file_held(bureau_client, bureau, draft):
    services.batch_approve(batch=draft, by=bureau, expected_count=3, expected_amount=Decimal("1500.00"))
    confirm = bureau_client.get(reverse("subsidies:batch_bank_file", args=[draft.pk])).content.decode()
    assert f'data-download-cookie="bank-file-{draft.pk}"' in confirm
    response = bureau_client.post(
        reverse("subsidies:batch_bank_file", args=[draft.pk]), {"password": PASSWORD}
    )
    assert response.cookies[f"bank-file-{draft.pk}"].value == "1"
    page = bureau_client.get(reverse("subsidies:batch_detail", args=[draft.pk]), {"downloaded": "1"})
    notice = page.content.decode()
    assert 'id="bank-file-downloaded"' in notice
    assert "第 1 号" in notice and "3 笔" in notice and "¥1,500.00" in notice
