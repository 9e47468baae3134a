"""审批通过 (issue 15): a batch in which one child was swapped for another (same count, same amount) changed
under the clerk: the confirmation carries the batch's fingerprint and the approval is refused."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from students.models import Stage
from subsidies import selectors, services
from subsidies.models import AidType, DisbursementBatch
from tests.conftest import verify_second_factor
from tests.subsidies.banking import give_account
from tests.subsidies.conftest import _pengshui_table, make_student  # noqa: F401

PA = "poverty_alleviated"


@pytest.fixture
def draft(bureau, make_student, school_a):  # noqa: F811
    for name in ("甲", "乙", "丙"):
        give_account(
            make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name=name), bureau
        )
    return services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )


def _swap(draft, bureau, make_student, school_a):  # noqa: F811
    gone = draft.payments.select_related("student").first().student
    services.batch_remove_student(batch=draft, student=gone, by=bureau, reason="转出")
    extra = make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name="丁")
    services.batch_add_student(batch=draft, student=extra, by=bureau, reason="补录")


def test_a_swapped_child_is_a_changed_batch_on_the_page(bureau_client, bureau, draft, make_student, school_a):  # noqa: F811
    count, amount = selectors.approval_figures(draft)  # what the confirmation page showed
    _swap(draft, bureau, make_student, school_a)  # another clerk, meanwhile
    assert selectors.approval_figures(draft) == (count, amount)
    bureau_client.post(
        reverse("subsidies:batch_approve", args=[draft.pk]),
        {"expected_count": count, "expected_amount": amount},
    )
    draft.refresh_from_db()
    assert draft.status == DisbursementBatch.Status.DRAFT


def test_a_swapped_child_is_a_changed_batch_in_the_api(bureau, draft, make_student, school_a):  # noqa: F811
    api = APIClient()
    api.force_login(bureau)
    verify_second_factor(api, bureau)
    read = api.get(f"/api/subsidies/batches/{draft.pk}/").json()
    _swap(draft, bureau, make_student, school_a)
    response = api.post(
        f"/api/subsidies/batches/{draft.pk}/approve/",
        {
            "expected_count": read["person_times"],
            "expected_amount": read["amount"],
            "expected_fingerprint": read["fingerprint"],
        },
        format="json",
    )
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert "批次" in response.json()["detail"] or "批次" in str(response.json()), response.json()
    draft.refresh_from_db()
    assert draft.status == DisbursementBatch.Status.DRAFT


def test_the_page_carries_the_fingerprint_and_an_unchanged_batch_is_approved(bureau_client, draft):
    page = bureau_client.get(reverse("subsidies:batch_approve", args=[draft.pk])).content.decode()
    fingerprint = selectors.approval_fingerprint(draft)
    assert f'value="{fingerprint}"' in page
    count, amount = selectors.approval_figures(draft)
    bureau_client.post(
        reverse("subsidies:batch_approve", args=[draft.pk]),
        {"expected_count": count, "expected_amount": amount, "expected_fingerprint": fingerprint},
    )
    draft.refresh_from_db()
    assert draft.status == DisbursementBatch.Status.APPROVED


def test_the_api_approves_an_unchanged_batch_with_its_fingerprint(bureau, draft):
    api = APIClient()
    api.force_login(bureau)
    verify_second_factor(api, bureau)
    read = api.get(f"/api/subsidies/batches/{draft.pk}/").json()
    response = api.post(
        f"/api/subsidies/batches/{draft.pk}/approve/",
        {
            "expected_count": read["person_times"],
            "expected_amount": read["amount"],
            "expected_fingerprint": read["fingerprint"],
        },
        format="json",
    )
    assert response.status_code == 200, response.content[:300]
