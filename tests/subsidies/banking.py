"""Paying a batch the way the bureau does: the payroll file to the bank, the bank's result file back.

Tests outside the aid area (reports, browser flows) use `pay_through_the_bank` to get paid payments, now that
nothing but a bank result (or a reasoned hand entry) makes a payment paid.
"""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook

from subsidies import bank, services
from subsidies.models import PayeeKind, Payment
from tests.subsidies.conftest import xlsx

RESULT_HEADER = ["参考号", "户名", "金额", "状态", "失败原因"]


def sent_rows(workbook) -> list[list]:
    """The payroll sheet of a bank file as rows (header first)."""
    if not hasattr(workbook, "worksheets"):
        workbook = load_workbook(io.BytesIO(workbook))
    return [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]


def result_file(rows) -> io.BytesIO:
    """A bank result file: [reference, holder, amount, status, reason] rows under the standard header."""
    return xlsx([RESULT_HEADER, *rows])


def give_account(student, by, n: int = 0):
    return services.bank_account_set(
        student=student,
        holder_name=f"家长{student.pk}",
        bank_name="农商银行",
        account_number=f"6217001234{student.pk:08d}{n}",
        by=by,
    )


def pay_through_the_bank(batch, by, *, paid_on: date = date(2022, 10, 8), accounts: bool = True) -> None:
    """Approve if needed, give every family payee an account (unless told not to), send the payroll file,
    bring every sent payment back successful, and record the transfer to schools and canteens."""
    batch.refresh_from_db()
    if batch.status == "draft":
        services.batch_approve(batch=batch, by=by, on=batch.eligibility_date)
    people = batch.payments.filter(payee=PayeeKind.PERSON, status=Payment.Status.PENDING)
    if people.exists():
        if accounts:
            for payment in people.select_related("student"):
                if not payment.student.bank_accounts.filter(is_active=True).exists():
                    give_account(payment.student, by)
        bank.payroll_workbook(batch=batch, by=by)
        sent = batch.payments.filter(status=Payment.Status.SENT)
        rows = [[p.reference, "", p.amount, "成功", ""] for p in sent]
        if rows:
            bank.result_import(batch=batch, upload=result_file(rows), paid_on=paid_on, by=by)
    if batch.payments.exclude(payee=PayeeKind.PERSON).filter(status=Payment.Status.PENDING).exists():
        services.batch_mark_paid(batch=batch, bank_reference="ZZ-1", paid_on=paid_on, by=by)
