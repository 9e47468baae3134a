"""Issue 12, item 1: the bank's result file is read by exact, documented values, configurable per bank.

A status the format does not list refuses its row (with the row number); any refused row refuses the whole
file, and every refused row is named at once.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from students.models import Stage
from subsidies import bank, services
from subsidies.models import AidType, BankResultFormat, Payment
from tests.subsidies.banking import give_account, result_file
from tests.subsidies.conftest import xlsx

PA = "poverty_alleviated"


@pytest.fixture
def sent(bureau, make_student, school_a):
    """An approved boarder batch of three families with accounts, sent to the bank (500.00 each)."""
    for _ in range(3):
        give_account(make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a), bureau)
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    bank.payroll_workbook(batch=batch, by=bureau)
    return batch, list(batch.payments.order_by("pk"))


def _statuses(batch):
    return list(batch.payments.order_by("pk").values_list("status", flat=True))


def test_not_successful_is_a_failure_not_a_payment(bureau, sent):
    """The defect: "不成功" contains "成功" and was read as paid."""
    batch, (p1, p2, p3) = sent
    upload = result_file(
        [
            [p1.reference, "", 500, "成功", ""],
            [p2.reference, "", 500, "失败", "账户已销户"],
            [p3.reference, "", 500, "不成功", "户名与账号不符"],
        ]
    )
    report = bank.result_import(batch=batch, upload=upload, paid_on=date(2022, 10, 8), by=bureau)
    assert (report.paid, report.failed) == (1, 2)
    p3.refresh_from_db()
    assert (p3.status, p3.failure_reason, p3.paid_on) == ("failed", "户名与账号不符", None)


def test_unknown_status_refuses_its_row_by_number_and_nothing_is_written(bureau, sent):
    batch, (p1, p2, p3) = sent
    before = _statuses(batch)
    upload = result_file(
        [
            [p1.reference, "", 500, "成功", ""],
            [p2.reference, "", 500, "处理中", ""],
            [p3.reference, "", 500, "成功了", ""],
        ]
    )
    with pytest.raises(ValidationError) as exc:
        bank.result_import(batch=batch, upload=upload, paid_on=date(2022, 10, 8), by=bureau)
    messages = exc.value.messages
    assert any("第 3 行" in m and "处理中" in m for m in messages), messages
    assert any("第 4 行" in m and "成功了" in m for m in messages), (
        messages
    )  # every refused row, not the first
    assert _statuses(batch) == before  # the good first row was not applied either
    assert not batch.steps.filter(action="result_imported").exists()


def test_substrings_and_case_tricks_are_unknown_not_read(bureau, sent):
    batch, (p1, _p2, _p3) = sent
    for value in ("交易成功但退回", "OK", "success", "成功/失败"):
        with pytest.raises(ValidationError, match="第 2 行"):
            bank.result_import(
                batch=batch,
                upload=result_file([[p1.reference, "", 500, value, ""]]),
                paid_on=date(2022, 10, 8),
                by=bureau,
            )
    assert not Payment.objects.filter(status="paid").exists()


def test_surrounding_spaces_are_not_a_different_value(bureau, sent):
    batch, (p1, _p2, _p3) = sent
    bank.result_import(
        batch=batch,
        upload=result_file([[p1.reference, "", 500, " 成功 ", ""]]),
        paid_on=date(2022, 10, 8),
        by=bureau,
    )
    p1.refresh_from_db()
    assert p1.status == "paid"


def test_amount_the_bank_paid_must_be_the_amount_sent(bureau, sent):
    batch, (p1, _p2, _p3) = sent
    with pytest.raises(ValidationError, match="500"):
        bank.result_import(
            batch=batch,
            upload=result_file([[p1.reference, "", 50, "成功", ""]]),
            paid_on=date(2022, 10, 8),
            by=bureau,
        )
    p1.refresh_from_db()
    assert p1.status == "sent"


def test_the_default_format_is_seeded_and_documented(db):
    fmt = BankResultFormat.objects.get(is_default=True)
    assert "成功" in fmt.success_values
    assert {"失败", "不成功"} <= set(fmt.failure_values)
    assert (fmt.reference_column, fmt.status_column) == ("参考号", "状态")


def test_a_bank_with_its_own_codes_is_configured_as_data(bureau, sent):
    """A county whose bank returns codes adds a format (admin or API): the codes are read exactly."""
    batch, (p1, p2, p3) = sent
    codes = BankResultFormat.objects.create(
        name="邮储银行代发回单",
        reference_column="业务参考号",
        status_column="处理结果代码",
        reason_column="处理结果说明",
        amount_column="",
        success_values=["0000"],
        failure_values=["E101", "E205"],
    )
    upload = xlsx(
        [
            ["业务参考号", "处理结果代码", "处理结果说明"],
            [p1.reference, "0000", "交易成功"],
            [p2.reference, "E205", "户名与账号不符"],
        ]
    )
    report = bank.result_import(
        batch=batch, upload=upload, paid_on=date(2022, 10, 8), by=bureau, result_format=codes
    )
    assert (report.paid, report.failed) == (1, 1)
    # the standard words mean nothing to this bank's format
    upload = xlsx([["业务参考号", "处理结果代码"], [p3.reference, "成功"]])
    with pytest.raises(ValidationError, match="成功"):
        bank.result_import(
            batch=batch, upload=upload, paid_on=date(2022, 10, 8), by=bureau, result_format=codes
        )


def test_a_format_cannot_list_one_value_as_both_success_and_failure(db):
    fmt = BankResultFormat(name="x", success_values=["成功"], failure_values=["成功", "失败"])
    with pytest.raises(ValidationError):
        fmt.full_clean()


def test_the_page_lists_every_refused_row(bureau_client, sent):
    batch, (p1, p2, _p3) = sent
    upload = result_file([[p1.reference, "", 500, "待定", ""], [p2.reference, "", 500, "?", ""]])
    response = bureau_client.post(
        reverse("subsidies:batch_bank_result", args=[batch.pk]),
        {"file": upload, "paid_on": "2022-10-08"},
        follow=True,
    )
    body = response.content.decode()
    assert "第 2 行" in body and "待定" in body
    assert "第 3 行" in body and "“?”" in body
    assert set(_statuses(batch)) == {"sent"}
    assert Decimal("0") == sum(p.amount for p in batch.payments.filter(status="paid"))
