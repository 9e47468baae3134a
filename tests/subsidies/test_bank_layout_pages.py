"""The bureau's pages for the banks' payroll layouts: list, create, edit; bureau staff only (the others are
refused, nothing written); a layout without a column the bank needs is refused with the clerk's message."""

from __future__ import annotations

import pytest
from django.urls import reverse

from subsidies import bank
from subsidies.models import BankPayrollLayout
from tests.refusals import nothing_written

COLUMNS = [
    ["holder_name", "户名"],
    ["holder_id_number", "证件号码"],
    ["account_number", "卡号"],
    ["amount", "金额"],
    ["reference", "流水号"],
]


def _form(bank_name: str, columns, **extra) -> dict:
    data = {"bank": bank_name, "card_format": "bank_card", "sheet_title": "代发", "note": ""}
    for i, (key, title) in enumerate(columns):
        data[f"key_{i}"], data[f"title_{i}"] = key, title
    return data | extra


@pytest.fixture
def layout(bureau):
    return bank.payroll_layout_create(bank="县农商银行", columns=COLUMNS, by=bureau)


def test_bureau_staff_list_the_layouts_in_chinese(bureau_client, layout):
    page = bureau_client.get(reverse("subsidies:bank_layout_list")).content.decode()
    assert "县农商银行" in page and "证件号码" in page
    assert "银行代发文件格式" in page and "必需的列" in page


def test_bureau_staff_create_a_layout_on_the_page(bureau_client):
    columns = [["account_number", "一卡通账号"], *[c for c in COLUMNS if c[0] != "account_number"]]
    # A 一卡通 file names the subsidy item the money is booked under: refused without it, in Chinese.
    refused = bureau_client.post(
        reverse("subsidies:bank_layout_create"), _form("信用社", columns, card_format="one_card")
    )
    assert refused.status_code == 200 and "一卡通代发文件必须写明" in refused.content.decode()
    assert "请添加 “补贴项目" in refused.content.decode()
    columns.append(["subsidy_item", "补贴项目"])
    response = bureau_client.post(
        reverse("subsidies:bank_layout_create"), _form("信用社", columns, card_format="one_card")
    )
    assert response.status_code == 302
    made = BankPayrollLayout.objects.get(bank="信用社")
    assert made.columns == columns
    assert made.card_format == BankPayrollLayout.CardFormat.ONE_CARD


def test_the_new_layout_form_starts_from_the_standard_columns(bureau_client):
    page = bureau_client.get(reverse("subsidies:bank_layout_create")).content.decode()
    assert 'value="参考号"' in page and 'value="身份证号"' in page


def test_bureau_staff_edit_a_layout(bureau_client, layout):
    columns = [*COLUMNS, ["remark", "附言"]]
    response = bureau_client.post(
        reverse("subsidies:bank_layout_edit", args=[layout.pk]), _form("县农商银行", columns)
    )
    assert response.status_code == 302
    layout.refresh_from_db()
    assert layout.columns == columns
    page = bureau_client.get(reverse("subsidies:bank_layout_edit", args=[layout.pk])).content.decode()
    assert 'value="附言"' in page


@pytest.mark.parametrize("missing", ["holder_name", "holder_id_number", "account_number", "amount"])
def test_a_layout_missing_a_required_column_is_refused_in_chinese(bureau_client, layout, missing):
    columns = [c for c in COLUMNS if c[0] != missing]
    with nothing_written(layout):
        created = bureau_client.post(reverse("subsidies:bank_layout_create"), _form("另一银行", columns))
        edited = bureau_client.post(
            reverse("subsidies:bank_layout_edit", args=[layout.pk]), _form("县农商银行", columns)
        )
    for response in (created, edited):
        assert response.status_code == 200
        assert "银行需要这些列" in response.content.decode()


def test_a_title_without_what_it_holds_is_refused(bureau_client):
    with nothing_written():
        response = bureau_client.post(
            reverse("subsidies:bank_layout_create"), _form("另一银行", [*COLUMNS, ["", "附言"]])
        )
    assert response.status_code == 200
    assert "请选择这一列的内容" in response.content.decode()


@pytest.mark.parametrize("who", ["principal_a_client", "township_client", "official_client"])
def test_only_bureau_staff_reach_the_layout_pages(request, who, layout):
    client = request.getfixturevalue(who)
    for url in (
        reverse("subsidies:bank_layout_list"),
        reverse("subsidies:bank_layout_create"),
        reverse("subsidies:bank_layout_edit", args=[layout.pk]),
    ):
        assert client.get(url).status_code in (403, 404)
        with nothing_written(layout):
            assert client.post(url, _form("某银行", COLUMNS)).status_code in (403, 404)


def test_a_layout_that_does_not_exist_is_not_found(bureau_client):
    assert bureau_client.get(reverse("subsidies:bank_layout_edit", args=[999999])).status_code == 404
