"""Issue 12, "Through the API as well as the pages": the bank file, the bank results, re-pay, release, one
payment paid by hand, the 告知书 and the reconciliation are API actions, documented in the OpenAPI schema."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from portal.excel import XLSX_CONTENT_TYPE
from portal.models import AccessLog
from students.models import Stage
from subsidies import bank, services
from subsidies.models import AidType, BankFile, BankResultFormat, BatchEvent, Payment
from tests.conftest import PASSWORD
from tests.subsidies.banking import give_account, result_file

PA, DIBAO = "poverty_alleviated", "dibao"
API = "/api/subsidies"


@pytest.fixture
def approved(bureau, make_student, school_a):
    for name in ("甲", "乙"):
        give_account(
            make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name=name), bureau
        )
    make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name="丙无账户")
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    return batch


def test_bank_file_through_the_api_is_the_xlsx(client_for, bureau, approved):
    api = client_for(bureau)
    url = f"{API}/batches/{approved.pk}/bank-file/"
    assert api.post(url, {"password": "wrong"}, content_type="application/json").status_code == 400
    assert not BankFile.objects.exists()
    response = api.post(url, {"password": PASSWORD}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    wb = load_workbook(io.BytesIO(response.content))
    rows = list(wb.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 2 and all(r[1].startswith("家长") for r in rows)
    assert [r[0] for r in wb["无账户"].iter_rows(min_row=2, values_only=True)] == ["丙无账户"]
    assert AccessLog.objects.filter(action=AccessLog.Action.EXPORT, object_id=str(approved.pk)).exists()
    assert approved.payments.filter(status="sent").count() == 2
    # Each file of a batch downloads under its own name (issue 15).
    assert "%E7%AC%AC1%E5%8F%B7.xlsx" in response["Content-Disposition"]  # 第1号.xlsx
    again = api.post(url, {"password": PASSWORD, "number": 1}, content_type="application/json")
    assert again.status_code == 200 and "%E7%AC%AC1%E5%8F%B7.xlsx" in again["Content-Disposition"]


def test_bank_file_is_bureau_only_through_the_api(client_for, official, principal_a, approved):
    for user in (official, principal_a):
        response = client_for(user).post(
            f"{API}/batches/{approved.pk}/bank-file/", {"password": PASSWORD}, content_type="application/json"
        )
        assert response.status_code == 403
    assert not BankFile.objects.exists()


def test_bank_results_through_the_api(client_for, bureau, approved):
    bank.payroll_workbook(batch=approved, by=bureau)
    a, b = approved.payments.filter(status="sent").order_by("pk")
    api = client_for(bureau)
    url = f"{API}/batches/{approved.pk}/bank-results/"
    bad = result_file([[a.reference, "", 500, "成功", ""], [b.reference, "", 500, "不明", ""]])
    response = api.post(url, {"file": bad, "paid_on": "2022-10-08"})
    assert response.status_code == 400
    assert "第 3 行" in str(response.json())
    assert not Payment.objects.filter(status="paid").exists()
    good = result_file(
        [[a.reference, "", 500, "成功", ""], [b.reference, "", 500, "不成功", "户名与账号不符"]]
    )
    response = api.post(url, {"file": good, "paid_on": "2022-10-08"})
    assert response.status_code == 200, response.content
    assert (response.json()["paid"], response.json()["failed"]) == (1, 1)
    rec = api.get(f"{API}/batches/{approved.pk}/reconciliation/").json()
    assert rec["drawn"] == {"count": 3, "amount": "1500.00"}
    assert rec["paid"] == {"count": 1, "amount": "500.00"}
    assert rec["failed"] == {"count": 1, "amount": "500.00"}
    assert rec["pending"] == {"count": 0, "amount": "0.00"}
    assert rec["unsent"] == {"count": 1, "amount": "500.00"}
    assert rec["no_account"] == {"count": 1, "amount": "500.00"}
    assert rec["balanced"] is True


def test_bank_results_with_a_named_format(client_for, bureau, approved):
    fmt = BankResultFormat.objects.create(
        name="代码格式",
        status_column="结果码",
        amount_column="金额",
        reason_column="",
        success_values=["00"],
        failure_values=["01"],
    )
    bank.payroll_workbook(batch=approved, by=bureau)
    a = approved.payments.filter(status="sent").first()
    from tests.subsidies.conftest import xlsx

    response = client_for(bureau).post(
        f"{API}/batches/{approved.pk}/bank-results/",
        {
            "file": xlsx([["参考号", "结果码", "金额"], [a.reference, "00", a.amount]]),
            "paid_on": "2022-10-08",
            "format": fmt.pk,
        },
    )
    assert response.status_code == 200, response.content
    a.refresh_from_db()
    assert a.status == "paid"


def test_repay_mark_paid_and_release_through_the_api(client_for, bureau, approved, make_student, school_a):
    bank.payroll_workbook(batch=approved, by=bureau)
    a, b = approved.payments.filter(status="sent").order_by("pk")
    bank.result_import(
        batch=approved,
        upload=result_file(
            [[a.reference, "", 500, "失败", "账户已销户"], [b.reference, "", 500, "失败", "户名与账号不符"]]
        ),
        paid_on=date(2022, 10, 8),
        by=bureau,
    )
    api = client_for(bureau)
    response = api.post(f"{API}/payments/{b.pk}/mark-paid/", {"reason": ""}, content_type="application/json")
    assert response.status_code == 400
    response = api.post(
        f"{API}/payments/{b.pk}/mark-paid/",
        {"reason": "纸质回单", "bank_reference": "HB-1", "paid_on": "2022-10-09"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "paid"
    assert BatchEvent.objects.filter(action="paid_by_hand", student=b.student, note="纸质回单").exists()
    response = api.post(
        f"{API}/payments/{a.pk}/repay/", {"reason": "新账户"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "pending"


def test_release_of_a_held_payment_through_the_api(client_for, bureau, make_student):
    student = make_student(Stage.PRIMARY, categories=[DIBAO], boarding=True, until=date(2022, 9, 30))
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 10, 10))
    payment = batch.payments.get(student=student)
    api = client_for(bureau)
    assert (
        api.post(
            f"{API}/payments/{payment.pk}/release/", {"reason": ""}, content_type="application/json"
        ).status_code
        == 400
    )
    response = api.post(
        f"{API}/payments/{payment.pk}/release/", {"reason": "低保续期"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "pending"


def test_payment_actions_are_bureau_only(client_for, principal_a, official, approved):
    payment = approved.payments.first()
    for user in (principal_a, official):
        for path in ("repay", "release", "mark-paid", "withdraw"):
            response = client_for(user).post(
                f"{API}/payments/{payment.pk}/{path}/", {"reason": "x"}, content_type="application/json"
            )
            assert response.status_code == 403, (user.username, path)


def test_letters_through_the_api_count_paid_money_only(client_for, bureau, approved):
    bank.payroll_workbook(batch=approved, by=bureau)
    a, b = approved.payments.filter(status="sent").order_by("pk")
    bank.result_import(
        batch=approved,
        upload=result_file(
            [[a.reference, "", 500, "成功", ""], [b.reference, "", 500, "失败", "账户已销户"]]
        ),
        paid_on=date(2022, 10, 8),
        by=bureau,
    )
    letters = client_for(bureau).get(f"{API}/batches/{approved.pk}/letters/").json()
    by_student = {letter["student"]: letter for letter in letters}
    assert by_student[a.student_id]["received_total"] == "500.00"
    assert by_student[b.student_id]["received_total"] == "0.00"
    assert by_student[b.student_id]["not_received"][0]["status"] == "failed"
    assert by_student[b.student_id]["not_received"][0]["failure_reason"] == "账户已销户"
    one = client_for(bureau).get(f"{API}/payments/{b.pk}/letter/").json()
    assert one["received_total"] == "0.00" and one["student"] == b.student_id


def test_a_county_configures_its_bank_format_through_the_api(client_for, bureau, official):
    row = {
        "name": "农行回单",
        "status_column": "交易状态",
        "success_values": ["交易成功"],
        "failure_values": ["交易失败"],
    }
    assert (
        client_for(official)
        .post(f"{API}/bank-result-formats/", row, content_type="application/json")
        .status_code
        == 403
    )
    response = client_for(bureau).post(f"{API}/bank-result-formats/", row, content_type="application/json")
    assert response.status_code == 201, response.content
    both = {**row, "name": "坏格式", "failure_values": ["交易成功"]}
    response = client_for(bureau).post(f"{API}/bank-result-formats/", both, content_type="application/json")
    assert response.status_code == 400


def test_schema_documents_the_bank_actions(bureau_client):
    schema = bureau_client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    bank_file = paths["/api/subsidies/batches/{id}/bank-file/"]["post"]
    assert XLSX_CONTENT_TYPE in bank_file["responses"]["200"]["content"]
    assert bank_file["responses"]["200"]["content"][XLSX_CONTENT_TYPE]["schema"]["format"] == "binary"
    results = paths["/api/subsidies/batches/{id}/bank-results/"]["post"]
    assert "multipart/form-data" in results["requestBody"]["content"]
    for path in (
        "/api/subsidies/batches/{id}/reconciliation/",
        "/api/subsidies/batches/{id}/letters/",
        "/api/subsidies/payments/{id}/repay/",
        "/api/subsidies/payments/{id}/release/",
        "/api/subsidies/payments/{id}/mark-paid/",
        "/api/subsidies/payments/{id}/withdraw/",
        "/api/subsidies/payments/{id}/letter/",
        "/api/subsidies/bank-result-formats/",
    ):
        assert path in paths, path


def test_a_bank_file_downloads_again_through_the_api(client_for, bureau, approved):
    api = client_for(bureau)
    url = f"{API}/batches/{approved.pk}/bank-file/"
    first = api.post(url, {"password": PASSWORD}, content_type="application/json")
    again = api.post(url, {"password": PASSWORD, "number": 1}, content_type="application/json")
    assert again.status_code == 200
    rows = [
        list(load_workbook(io.BytesIO(r.content)).worksheets[0].iter_rows(values_only=True))
        for r in (first, again)
    ]
    assert rows[0] == rows[1]
    assert BankFile.objects.filter(batch=approved).count() == 1
    assert (
        api.post(url, {"password": PASSWORD, "number": 2}, content_type="application/json").status_code == 400
    )
