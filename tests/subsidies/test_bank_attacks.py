"""An outside attacker's findings against the bank results (issue 12, part A), each performed as an attack.

A refusal is a valid request but for the one thing attacked; it answers with one status and writes nothing.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from openpyxl import Workbook

from students.models import Stage
from subsidies import bank, selectors, services
from subsidies.models import AidType, BankFileLine, Payment
from tests.refusals import nothing_written
from tests.subsidies.banking import RESULT_HEADER, give_account, result_file, sent_rows
from tests.subsidies.conftest import xlsx

PA = "poverty_alleviated"
API = "/api/subsidies"
PAID_ON = date(2022, 10, 8)


@pytest.fixture
def sent(bureau, make_student, school_a):
    """An approved boarder batch of two families with accounts, sent to the bank in file 1 (500.00 each)."""
    for _ in range(2):
        give_account(make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a), bureau)
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    workbook = bank.payroll_workbook(batch=batch, by=bureau)
    return batch, list(batch.payments.order_by("pk")), workbook


def _references(workbook) -> list[str]:
    return [row[5] for row in sent_rows(workbook)[1:]]


# --- 1. a result row is tied to one line of one bank file ----------------------------------------------


def test_the_payroll_file_names_each_line_by_payment_and_file(sent):
    batch, (p1, p2), workbook = sent
    assert _references(workbook) == [f"{p1.reference}-1", f"{p2.reference}-1"]


def test_an_old_files_failure_is_not_applied_to_the_transfer_now_at_the_bank(bureau, sent):
    """The attack: file 1 says 不成功; the payment is re-paid and sent in file 2; file 1's result is uploaded
    again. It used to fail the transfer now at the bank (which then pays it: paid twice, recorded once)."""
    batch, (p1, p2), workbook = sent
    old_result = [[f"{p1.reference}-1", "", 500, "不成功", "户名与账号不符"]]
    bank.result_import(batch=batch, upload=result_file(old_result), paid_on=PAID_ON, by=bureau)
    services.payment_repay(payment=p1, reason="户名已更正", by=bureau)
    second = bank.payroll_workbook(batch=batch, by=bureau)
    assert _references(second) == [f"{p1.reference}-2"]
    p1.refresh_from_db()
    with nothing_written(p1), pytest.raises(ValidationError) as exc:
        bank.result_import(batch=batch, upload=result_file(old_result), paid_on=PAID_ON, by=bureau)
    assert "Row 2" in str(exc.value) or "第 2 行" in str(exc.value)
    # the bare payment reference is no longer enough once the payment is in two files
    with nothing_written(p1), pytest.raises(ValidationError):
        bank.result_import(
            batch=batch,
            upload=result_file([[p1.reference, "", 500, "不成功", "x"]]),
            paid_on=PAID_ON,
            by=bureau,
        )
    # file 2's own answer is taken, and the per-file table shows each file's outcome
    bank.result_import(
        batch=batch,
        upload=result_file([[f"{p1.reference}-2", "", 500, "成功", ""]]),
        paid_on=PAID_ON,
        by=bureau,
    )
    p1.refresh_from_db()
    assert p1.status == "paid"
    files = {f.number: (f.paid, f.failed, f.awaiting) for f in selectors.bank_files(batch)}
    assert files == {1: (0, 1, 1), 2: (1, 0, 0)}


def test_a_line_that_already_has_a_result_is_refused_with_its_row(bureau, sent):
    batch, (p1, p2), _wb = sent
    rows = [[f"{p1.reference}-1", "", 500, "成功", ""]]
    bank.result_import(batch=batch, upload=result_file(rows), paid_on=PAID_ON, by=bureau)
    p1.refresh_from_db()
    with nothing_written(p1, p2), pytest.raises(ValidationError) as exc:
        bank.result_import(
            batch=batch,
            upload=result_file([[f"{p2.reference}-1", "", 500, "成功", ""], *rows]),
            paid_on=PAID_ON,
            by=bureau,
        )
    assert len(exc.value.messages) == 1
    assert "3" in exc.value.messages[0] and p1.reference in exc.value.messages[0]


def test_an_old_files_result_through_the_api_is_one_400_and_writes_nothing(client_for, bureau, sent):
    batch, (p1, _p2), _wb = sent
    old = [[f"{p1.reference}-1", "", 500, "失败", "账户已销户"]]
    bank.result_import(batch=batch, upload=result_file(old), paid_on=PAID_ON, by=bureau)
    services.payment_repay(payment=p1, reason="新账户", by=bureau)
    bank.payroll_workbook(batch=batch, by=bureau)
    p1.refresh_from_db()
    client = client_for(bureau)
    with nothing_written(p1):
        response = client.post(
            f"{API}/batches/{batch.pk}/bank-results/",
            {"file": result_file(old), "paid_on": PAID_ON.isoformat()},
        )
    assert response.status_code == 400, response.content


# --- 2. marking paid by hand only once the bank has answered -------------------------------------------


def test_a_sent_payment_cannot_be_marked_paid_by_hand(bureau, sent):
    batch, (p1, _p2), _wb = sent
    with nothing_written(p1), pytest.raises(ValidationError, match="(?i)failed|失败"):
        services.payment_mark_paid(
            payment=p1, reason="银行回单", bank_reference="HD-1", paid_on=PAID_ON, by=bureau
        )
    # the bank's later failure can still be recorded
    bank.result_import(
        batch=batch,
        upload=result_file([[f"{p1.reference}-1", "", 500, "失败", "账户已销户"]]),
        paid_on=PAID_ON,
        by=bureau,
    )
    p1.refresh_from_db()
    assert p1.status == "failed"
    services.payment_mark_paid(
        payment=p1, reason="柜台补发", bank_reference="HD-1", paid_on=PAID_ON, by=bureau
    )
    p1.refresh_from_db()
    assert p1.status == "paid"
    assert list(p1.bank_lines.values_list("outcome", flat=True)) == [BankFileLine.Outcome.FAILED]


def test_a_sent_payment_cannot_be_marked_paid_by_hand_through_the_api(client_for, bureau, sent):
    _batch, (p1, _p2), _wb = sent
    with nothing_written(p1):
        response = client_for(bureau).post(
            f"{API}/payments/{p1.pk}/mark-paid/",
            {"reason": "银行回单", "bank_reference": "HD-1", "paid_on": PAID_ON.isoformat()},
            content_type="application/json",
        )
    assert response.status_code == 400, response.content


# --- 3. the amount: required, exact --------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    ["", "500.0049", "500.005", 500.005, "abc", "NaN", "sNaN", "Infinity", "5,00", "5,0,0", "50,0.00"],
)
def test_a_blank_or_inexact_amount_refuses_the_row(bureau, sent, amount):
    batch, (p1, p2), _wb = sent
    upload = result_file([[f"{p1.reference}-1", "", amount, "成功", ""]])
    with nothing_written(p1, p2), pytest.raises(ValidationError) as exc:
        bank.result_import(batch=batch, upload=upload, paid_on=PAID_ON, by=bureau)
    assert "2" in exc.value.messages[0]


def test_a_result_file_without_the_amount_column_is_refused(bureau, sent):
    batch, (p1, _p2), _wb = sent
    upload = xlsx([["参考号", "状态"], [f"{p1.reference}-1", "成功"]])
    with nothing_written(p1), pytest.raises(ValidationError, match="金额"):
        bank.result_import(batch=batch, upload=upload, paid_on=PAID_ON, by=bureau)


def test_the_same_amount_written_otherwise_is_accepted(bureau, sent):
    batch, (p1, p2), _wb = sent
    upload = result_file(
        [[f"{p1.reference}-1", "", "500", "成功", ""], [f"{p2.reference}-1", "", "500.000", "成功", ""]]
    )
    report = bank.result_import(batch=batch, upload=upload, paid_on=PAID_ON, by=bureau)
    assert report.paid == 2


# --- 5. row numbers are Excel's, blank rows counted ------------------------------------------------------


def test_a_refused_row_is_named_by_its_excel_row_after_blank_rows(bureau, sent):
    batch, (p1, p2), _wb = sent
    wb = Workbook()
    ws = wb.active
    ws.append(RESULT_HEADER)  # row 1
    ws.append([f"{p1.reference}-1", "", 500, "成功", ""])  # row 2
    ws["A6"], ws["C6"], ws["D6"] = f"{p2.reference}-1", 500, "处理中"  # rows 3-5 left empty
    data = io.BytesIO()
    wb.save(data)
    data.seek(0)
    with nothing_written(p1, p2), pytest.raises(ValidationError) as exc:
        bank.result_import(batch=batch, upload=data, paid_on=PAID_ON, by=bureau)
    assert len(exc.value.messages) == 1
    assert exc.value.messages[0].startswith(("Row 6:", "第 6 行"))


# --- 8. a column given twice refuses the file ------------------------------------------------------------


@pytest.mark.parametrize("column", ["状态", "参考号", "金额"])
def test_a_column_given_twice_refuses_the_file_naming_it(bureau, sent, column):
    batch, (p1, _p2), _wb = sent
    header = [*RESULT_HEADER, column]
    extra = {"状态": "失败", "参考号": "P99999999-1", "金额": 1}[column]
    upload = xlsx([header, [f"{p1.reference}-1", "", 500, "成功", "", extra]])
    with nothing_written(p1), pytest.raises(ValidationError) as exc:
        bank.result_import(batch=batch, upload=upload, paid_on=PAID_ON, by=bureau)
    assert column in str(exc.value)


# --- 9. reasons that show nothing, payment dates out of range -------------------------------------------

INVISIBLE = ["", "   ", "\u200b", " \u200b\ufeff ", "\u3000\u200d"]


@pytest.fixture
def failed(bureau, sent):
    batch, (p1, p2), _wb = sent
    bank.result_import(
        batch=batch,
        upload=result_file([[f"{p1.reference}-1", "", 500, "失败", "账户已销户"]]),
        paid_on=PAID_ON,
        by=bureau,
    )
    p1.refresh_from_db()
    return batch, p1


@pytest.mark.parametrize("reason", INVISIBLE)
def test_an_invisible_reason_is_refused_everywhere(bureau, failed, reason):
    batch, p1 = failed
    calls = [
        lambda: services.payment_mark_paid(
            payment=p1, reason=reason, bank_reference="HD-1", paid_on=PAID_ON, by=bureau
        ),
        lambda: services.payment_repay(payment=p1, reason=reason, by=bureau),
        lambda: services.payment_withdraw(payment=p1, reason=reason, by=bureau),
    ]
    for call in calls:
        with nothing_written(p1), pytest.raises(ValidationError, match="reason|原因"):
            call()
    services.payment_withdraw(payment=p1, reason="孩子已转出", by=bureau)
    p1.refresh_from_db()
    with nothing_written(p1), pytest.raises(ValidationError):
        services.payment_release(payment=p1, reason=reason, by=bureau)


def test_an_invisible_reason_through_the_api_is_one_400(client_for, bureau, failed):
    _batch, p1 = failed
    with nothing_written(p1):
        response = client_for(bureau).post(
            f"{API}/payments/{p1.pk}/repay/", {"reason": "\u200b\ufeff"}, content_type="application/json"
        )
    assert response.status_code == 400, response.content


@pytest.mark.parametrize(
    "paid_on", [timezone.localdate() + timedelta(days=1), date(2022, 8, 31), date(2020, 1, 1)]
)
def test_a_payment_date_in_the_future_or_before_the_term_is_refused(bureau, failed, paid_on):
    batch, p1 = failed
    with nothing_written(p1), pytest.raises(ValidationError, match="paid_on|date|日期"):
        services.payment_mark_paid(
            payment=p1, reason="柜台补发", bank_reference="HD-1", paid_on=paid_on, by=bureau
        )
    p2 = batch.payments.get(status=Payment.Status.SENT)
    with nothing_written(p2), pytest.raises(ValidationError):
        bank.result_import(
            batch=batch,
            upload=result_file([[f"{p2.reference}-1", "", 500, "成功", ""]]),
            paid_on=paid_on,
            by=bureau,
        )


# --- The second attacker's findings ----------------------------------------------------------------------


def test_a_bank_file_the_bank_has_answered_cannot_be_downloaded_again(bureau, failed):
    """Downloading file 1 again after its results are in would send the bank what it has already paid."""
    batch, p1 = failed
    with nothing_written(p1), pytest.raises(ValidationError, match="1"):
        bank.bank_file_workbook(batch=batch, number=1)


def test_a_file_not_yet_answered_can_be_downloaded_again(bureau, sent):
    batch, (p1, p2), workbook = sent
    again = bank.bank_file_workbook(batch=batch, number=1)
    assert _references(again) == _references(workbook)


def test_the_banks_invisible_failure_reason_reads_as_failed(bureau, sent):
    batch, (p1, _p2), _wb = sent
    upload = result_file([[f"{p1.reference}-1", "", 500, "失败", "\u200b\u200b"]])
    bank.result_import(batch=batch, upload=upload, paid_on=PAID_ON, by=bureau)
    p1.refresh_from_db()
    assert p1.status == Payment.Status.FAILED
    assert p1.failure_reason.strip("\u200b") != "" and "\u200b" not in p1.failure_reason


def test_a_withdrawn_payment_that_went_to_the_bank_is_not_removed_but_refused(client_for, bureau, failed):
    batch, p1 = failed
    services.payment_withdraw(payment=p1, reason="家长放弃", by=bureau)
    p1.refresh_from_db()
    with nothing_written(p1):
        response = client_for(bureau).post(
            f"{API}/batches/{batch.pk}/remove-student/",
            {"student": p1.student_id, "reason": "离校"},
            content_type="application/json",
        )
    assert response.status_code == 400
    assert "bank" in str(response.json()) or "银行" in str(response.json())


def test_a_draft_batch_promises_nothing_in_letters_lookup_or_the_year_end(bureau, make_student, client):
    from django.conf import settings
    from django.core.cache import cache
    from django.urls import reverse

    from reports import yearend

    student = make_student(Stage.PRIMARY, categories=[PA], boarding=True)
    give_account(student, bureau)
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    assert batch.status == "draft" and batch.payments.count() == 1
    visible = Payment.objects.all()
    assert selectors.batch_letters(batch, visible) == []  # no letter promises a draft's money
    cache.clear()
    body = client.post(
        reverse("subsidies:lookup"), {"id_number": student.id_number, "name": student.name}
    ).content.decode()
    assert "500.00" not in body
    aid = yearend.build_figures(county_code=settings.HOME_COUNTY_CODE, year=2022, basis="school")["sections"][
        "aid"
    ]
    assert all(not r.get("person_times") for r in aid["tables"]["not_yet_paid"]["rows"])
    # approved, the same payment is owed: the letter and the report show it apart
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    (letter,) = selectors.batch_letters(batch, visible)
    assert letter["not_received_total"] == batch.payments.get().amount
