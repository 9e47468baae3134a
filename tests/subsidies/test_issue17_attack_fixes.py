# ruff: noqa: F811  (the fixtures `approved` and `paid` are imported from their test modules)
"""The outside attack on issue 17, the paths its tests leave open: the same refusals through the API and the
pages (bank payroll layouts, the national reconciliation, the 雨露计划 list)."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from students import id_numbers
from subsidies import national_aid
from subsidies.models import BankFile, BankPayrollLayout, MatchRun
from tests.conftest import PASSWORD
from tests.refusals import nothing_written
from tests.subsidies.banking import sent_rows
from tests.subsidies.conftest import xlsx
from tests.subsidies.test_bank_layouts import approved  # noqa: F401
from tests.subsidies.test_national_aid import _export, _reconcile, _saved, paid  # noqa: F401

pytestmark = pytest.mark.django_db

COLUMNS = [
    ["holder_name", "户名"],
    ["holder_id_number", "身份证号"],
    ["account_number", "账号"],
    ["amount", "金额"],
    ["reference", "参考号"],
]
LAYOUTS = "/api/subsidies/bank-payroll-layouts/"


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _bank_file(client, batch, **body):
    return client.post(
        f"/api/subsidies/batches/{batch.pk}/bank-file/", {"password": PASSWORD, **body}, format="json"
    )


# --- Bank payroll layouts --------------------------------------------------------------------------------


def test_a_file_downloaded_again_through_the_api_and_the_page_is_the_file_sent(
    bureau, bureau_client, approved
):
    batch, _students = approved
    client = _api(bureau)
    made = client.post(LAYOUTS, {"bank": "某银行", "columns": COLUMNS, "sheet_title": "代发"}, format="json")
    assert made.status_code == 201, made.json()
    sent = _bank_file(client, batch, layout=made.json()["id"])
    assert sent.status_code == 200
    sent_wb = load_workbook(io.BytesIO(sent.content))
    changed = client.patch(
        f"{LAYOUTS}{made.json()['id']}/",
        {"columns": [["reference", "业务编号"], *COLUMNS[:4]], "sheet_title": "新格式"},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    again = _bank_file(client, batch, number=1)
    assert again.status_code == 200
    again_wb = load_workbook(io.BytesIO(again.content))
    assert again_wb.sheetnames[0] == sent_wb.sheetnames[0] == "代发"
    assert sent_rows(again_wb) == sent_rows(sent_wb)
    page = bureau_client.post(
        reverse("subsidies:batch_bank_file", args=[batch.pk]), {"password": PASSWORD, "number": 1}
    )
    assert sent_rows(page.content) == sent_rows(sent_wb)
    # Kept with the file, in its history too.
    assert BankFile.objects.get(batch=batch, number=1).layout_used["columns"] == COLUMNS


@pytest.mark.parametrize("title", ["代发/秋", "代发*", "'代发'", "History", "  "])
def test_the_api_refuses_a_sheet_title_excel_cannot_hold_in_chinese(bureau, title):
    with nothing_written():
        response = _api(bureau).post(
            LAYOUTS, {"bank": "某银行", "columns": COLUMNS, "sheet_title": title}, format="json"
        )
    assert response.status_code == 400
    assert "sheet_title" in response.json(), response.json()


def test_the_api_refuses_a_one_card_layout_without_the_subsidy_item(bureau):
    body = {"bank": "某银行一卡通", "columns": COLUMNS, "card_format": "one_card"}
    with nothing_written():
        response = _api(bureau).post(LAYOUTS, body, format="json")
    assert response.status_code == 400
    assert "补贴项目" in str(response.json()["columns"]), response.json()
    body["columns"] = [*COLUMNS, ["subsidy_item", "补贴项目"]]
    assert _api(bureau).post(LAYOUTS, body, format="json").status_code == 201


def test_a_layout_kept_before_the_check_is_refused_with_a_message_not_a_500(bureau, bureau_client, approved):
    """A layout saved with a bad sheet title before titles were checked: the API and the page refuse the
    bank file with the message, and no payment is marked sent."""
    batch, _students = approved
    layout = BankPayrollLayout.objects.create(bank="旧格式", columns=COLUMNS, sheet_title="代发/旧")
    with nothing_written():
        response = _bank_file(_api(bureau), batch, layout=layout.pk)
    assert response.status_code == 400
    assert "工作表" in str(response.json()), response.json()
    with nothing_written():
        page = bureau_client.post(
            reverse("subsidies:batch_bank_file", args=[batch.pk]),
            {"password": PASSWORD, "layout": layout.pk},
            follow=True,
        )
    assert page.status_code == 200
    assert "工作表" in page.content.decode()


# --- The national reconciliation --------------------------------------------------------------------------


def _post_page(client, content: bytes) -> str:
    upload = io.BytesIO(content)
    upload.name = "export.xlsx"
    return client.post(reverse("subsidies:national_aid"), {"file": upload}).content.decode()


def test_the_page_refuses_formulas_an_overwide_sheet_and_names_the_excel_row(bureau, bureau_client, paid):
    wb = load_workbook(io.BytesIO(_export(bureau)))
    wb[national_aid.PAYMENTS_SHEET]["J2"] = "=250*2"
    assert "公式" in _post_page(bureau_client, _saved(wb))

    wb = load_workbook(io.BytesIO(_export(bureau)))
    wb[national_aid.PAYMENTS_SHEET]["XFD5000"] = "备注"
    page = _post_page(bureau_client, _saved(wb))
    assert "XFD5000" in page and national_aid.PAYMENTS_SHEET in page

    wb = load_workbook(io.BytesIO(_export(bureau)))
    wb[national_aid.PAYMENTS_SHEET].insert_rows(2)
    wb[national_aid.PAYMENTS_SHEET]["G4"] = "不存在的资助"
    assert "第 4 行" in _post_page(bureau_client, _saved(wb))


def test_a_formula_on_the_identified_students_sheet_is_refused_too(bureau, paid):
    wb = load_workbook(io.BytesIO(_export(bureau)))
    wb[national_aid.STUDENTS_SHEET]["A2"] = "=1+1"
    response = _reconcile(bureau, _saved(wb))
    assert response.status_code == 400
    assert "公式" in str(response.json())


def test_the_identified_students_sheet_matches_on_the_national_student_number_first(
    bureau, bureau_client, paid
):
    """Also on the 困难学生 sheet, through the page: a child whose ID number the county corrected is the same
    child by its 学籍号, not one identified there only and one here only."""
    child = paid[0]
    old_id = id_numbers.make("360730", child.birth_date, 78)
    child.national_student_number = "G" + old_id
    child.save()
    wb = load_workbook(io.BytesIO(_export(bureau)))
    for sheet in wb.worksheets:
        for row in sheet.iter_rows(min_row=2):
            if row[3].value == child.id_number:
                row[3].value = old_id
    page = _post_page(bureau_client, _saved(wb))
    for kind in national_aid.KINDS.values():
        assert kind not in page, kind
    response = _reconcile(bureau, _saved(wb))
    assert response.status_code == 200 and response.json()["differences"] == []


# --- 雨露计划 -------------------------------------------------------------------------------------------------


def test_the_api_and_the_page_refuse_a_yulu_plan_list_confirming_dibao(bureau, bureau_client, make_student):
    student = make_student(grade=1)
    data = {"source": MatchRun.Source.YULU_PLAN, "category": "dibao", "school_year": 2022, "term": "autumn"}
    with nothing_written():
        response = _api(bureau).post(
            "/api/subsidies/matching-runs/",
            {**data, "file": xlsx([["身份证号", "姓名"], [student.id_number, student.name]])},
            format="multipart",
        )
    assert response.status_code == 400
    assert "雨露计划" in str(response.json()), response.json()
    with nothing_written():
        page = bureau_client.post(
            reverse("subsidies:match_list"),
            {**data, "file": xlsx([["身份证号", "姓名"], [student.id_number, student.name]])},
        )
    assert "雨露计划" in page.content.decode() and "脱贫户" in page.content.decode()
    assert not MatchRun.objects.exists()
