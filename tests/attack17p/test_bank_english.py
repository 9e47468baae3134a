"""Attack (a17p) on fix 2: the bank payroll is written in Chinese whatever the clerk's language, on the first
making of a file too (not only a download again), through the API and the page, for a 一卡通 layout."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from openpyxl import load_workbook

from subsidies import bank
from tests.conftest import PASSWORD
from tests.subsidies.test_bank_sent import approved  # noqa: F401

pytestmark = pytest.mark.django_db

ASCII_WORDS = ("Boarding", "Autumn", "Spring", "term", "allowance", "Bank card", "card", "subsidy")


def _one_card(bureau):
    keys = [
        "seq",
        "holder_name",
        "holder_id_number",
        "account_number",
        "amount",
        "reference",
        "remark",
        "card_type",
        "subsidy_item",
        "school",
    ]
    return bank.payroll_layout_create(
        by=bureau,
        bank="一卡通银行",
        columns=[[k, k] for k in keys],
        card_format="one_card",
        sheet_title="代发",
    )


def _english_words(wb):
    found = []
    for row in wb.active.iter_rows(min_row=2, values_only=True):
        for cell in row:
            if isinstance(cell, str) and any(w.lower() in cell.lower() for w in ASCII_WORDS):
                found.append(cell)
    return found


def test_a_new_file_made_through_the_api_in_english_is_in_chinese(bureau, approved, client_for):  # noqa: F811
    layout = _one_card(bureau)
    client = client_for(bureau)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(
        f"/api/subsidies/batches/{approved.pk}/bank-file/",
        {"layout": layout.pk, "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200, response.content[:400]
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.active.max_row > 1 and any(
        "秋季学期" in str(c) for c in next(wb.active.iter_rows(min_row=2, values_only=True))
    )
    assert not _english_words(wb), _english_words(wb)


def test_a_new_file_made_on_the_page_in_english_is_in_chinese(bureau, approved, client_for):  # noqa: F811
    client = client_for(bureau)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(
        f"/aid/batches/{approved.pk}/bank-file/", {"password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200, (response.status_code, response.content[:400])
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.active.max_row > 1 and any(
        "秋季学期" in str(c) for c in next(wb.active.iter_rows(min_row=2, values_only=True))
    )
    assert not _english_words(wb), _english_words(wb)
