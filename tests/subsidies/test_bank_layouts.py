"""The bank payroll file's layout per bank, kept as data: the ID number column banks require for 代发,
column order and titles, the 一卡通 card format (issue 17)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from students import id_numbers
from students.models import Stage
from subsidies import bank, services
from subsidies.models import AidType, BankPayrollLayout
from tests.conftest import PASSWORD
from tests.refusals import nothing_written
from tests.subsidies.banking import sent_rows

PA = "poverty_alleviated"
PARENT_ID = id_numbers.make("360730", date(1980, 1, 1), 13)


@pytest.fixture
def approved(bureau, make_student, school_a):
    """Three boarders of 脱贫户 families: 学生0's account is the child's own, 学生1's a parent's with the
    parent's ID number, 学生2's a parent's without it."""
    students = [
        make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name=f"学生{i}")
        for i in range(3)
    ]
    services.bank_account_set(
        student=students[0],
        holder_name="学生0",
        relation="本人",
        bank_name="农商银行",
        account_number="621700123456789010",
        by=bureau,
    )
    services.bank_account_set(
        student=students[1],
        holder_name="家长1",
        relation="父亲",
        bank_name="农商银行",
        account_number="621700123456789011",
        holder_id_number=PARENT_ID,
        by=bureau,
    )
    services.bank_account_set(
        student=students[2],
        holder_name="家长2",
        relation="母亲",
        bank_name="农商银行",
        account_number="621700123456789012",
        by=bureau,
    )
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    return batch, students


def test_the_default_file_is_todays_plus_the_id_number_column(bureau, approved):
    batch, students = approved
    rows = sent_rows(bank.payroll_workbook(batch=batch, by=bureau))
    assert rows[0] == ["序号", "户名", "账号", "开户银行", "金额", "参考号", "备注", "身份证号"]
    by_holder = {r[1]: r for r in rows[1:]}
    assert by_holder["学生0"][7] == students[0].id_number  # the child holds the account
    assert by_holder["家长1"][7] == PARENT_ID
    assert by_holder["家长2"][7] in ("", None)  # unknown: never the child's number under a parent's name


def test_a_banks_layout_orders_and_names_the_columns(bureau, approved):
    batch, students = approved
    layout = bank.payroll_layout_create(
        bank="宁都农商银行（一卡通）",
        columns=[
            ["holder_id_number", "证件号码"],
            ["holder_name", "姓名"],
            ["account_number", "一卡通账号"],
            ["amount", "发放金额"],
            ["subsidy_item", "补贴项目"],
            ["card_type", "卡类型"],
            ["reference", "参考号"],
        ],
        card_format=BankPayrollLayout.CardFormat.ONE_CARD,
        sheet_title="一卡通代发",
        by=bureau,
    )
    wb = bank.payroll_workbook(batch=batch, by=bureau, layout=layout)
    assert wb.worksheets[0].title == "一卡通代发"
    rows = sent_rows(load_workbook(io.BytesIO(_saved(wb))))
    assert rows[0] == ["证件号码", "姓名", "一卡通账号", "发放金额", "补贴项目", "卡类型", "参考号"]
    line = next(r for r in rows[1:] if r[1] == "家长1")
    assert line[0] == PARENT_ID and line[2] == "621700123456789011"
    assert line[4].startswith("惠民惠农财政补贴") and line[5] == "一卡通"
    # Downloaded again, the file keeps its layout.
    again = sent_rows(load_workbook(io.BytesIO(_saved(bank.bank_file_workbook(batch=batch, number=1)))))
    assert again == rows


def _saved(wb) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "columns, word",
    [
        ([["holder_name", "户名"], ["amount", "金额"], ["reference", "参考号"]], "columns"),  # no account
        (
            [
                ["holder_name", "户名"],
                ["holder_id_number", "身份证号"],
                ["account_number", "账号"],
                ["amount", "金额"],
                ["reference", "参考号"],
                ["shoe_size", "鞋码"],
            ],
            "shoe_size",
        ),
        (
            [
                ["holder_name", "户名"],
                ["holder_id_number", "身份证号"],
                ["account_number", "户名"],
                ["amount", "金额"],
                ["reference", "参考号"],
            ],
            "户名",
        ),
        (
            [
                ["holder_name", "户名"],
                ["account_number", "账号"],
                ["amount", "金额"],
                ["reference", "参考号"],
            ],
            "身份证号",
        ),  # no ID number: banks require it for 代发
        ("户名,账号", "columns"),
    ],
)
def test_a_bad_layout_is_refused_and_nothing_written(bureau, columns, word):
    with nothing_written(), pytest.raises(ValidationError) as caught:
        bank.payroll_layout_create(bank="某银行", columns=columns, by=bureau)
    assert "columns" in caught.value.message_dict
    if word != "columns":
        assert word in str(caught.value)


def test_one_layout_per_bank(bureau):
    columns = [
        ["holder_name", "户名"],
        ["holder_id_number", "身份证号"],
        ["account_number", "账号"],
        ["amount", "金额"],
        ["reference", "参考号"],
    ]
    bank.payroll_layout_create(bank="某银行", columns=columns, by=bureau)
    with nothing_written(), pytest.raises(ValidationError):
        bank.payroll_layout_create(bank="某银行", columns=columns, by=bureau)


def test_only_bureau_staff_keep_layouts_through_the_api(bureau, principal_a):
    body = {
        "bank": "某银行",
        "columns": [
            ["holder_name", "户名"],
            ["holder_id_number", "身份证号"],
            ["account_number", "账号"],
            ["amount", "金额"],
            ["reference", "参考号"],
        ],
        "card_format": "bank_card",
    }
    client = APIClient()
    client.force_authenticate(principal_a)
    with nothing_written():
        assert client.post("/api/subsidies/bank-payroll-layouts/", body, format="json").status_code == 403
    client.force_authenticate(bureau)
    response = client.post("/api/subsidies/bank-payroll-layouts/", body, format="json")
    assert response.status_code == 201, response.json()
    bad = {**body, "bank": "另一银行", "columns": [["holder_name", "户名"]]}
    with nothing_written():
        response = client.post("/api/subsidies/bank-payroll-layouts/", bad, format="json")
    assert response.status_code == 400
    assert "columns" in response.json()


def test_the_page_makes_the_file_in_the_chosen_layout(bureau, bureau_client, approved):
    batch, _students = approved
    layout = bank.payroll_layout_create(
        bank="某银行",
        columns=[
            ["reference", "流水号"],
            ["holder_name", "户名"],
            ["account_number", "卡号"],
            ["amount", "金额"],
            ["holder_id_number", "证件号码"],
        ],
        by=bureau,
    )
    url = reverse("subsidies:batch_bank_file", args=[batch.pk])
    assert "某银行" in bureau_client.get(url).content.decode()
    response = bureau_client.post(url, {"password": PASSWORD, "layout": layout.pk})
    rows = sent_rows(response.content)
    assert rows[0] == ["流水号", "户名", "卡号", "金额", "证件号码"]


def test_the_api_makes_the_file_in_the_chosen_layout(bureau, approved):
    batch, _students = approved
    layout = bank.payroll_layout_create(
        bank="某银行",
        columns=[
            ["reference", "流水号"],
            ["holder_name", "户名"],
            ["account_number", "卡号"],
            ["amount", "金额"],
            ["holder_id_number", "证件号码"],
        ],
        by=bureau,
    )
    client = APIClient()
    client.force_authenticate(bureau)
    response = client.post(
        f"/api/subsidies/batches/{batch.pk}/bank-file/",
        {"password": PASSWORD, "layout": layout.pk},
        format="json",
    )
    assert response.status_code == 200
    assert sent_rows(response.content)[0] == ["流水号", "户名", "卡号", "金额", "证件号码"]
