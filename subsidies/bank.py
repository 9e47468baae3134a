"""The bank's payroll-agent (代发) file out, and the bank's result file back in.

The export is the one place where a full account number leaves the portal. Every payment to a family carries
its reference (P00000123) in the remark column; the bank returns it with 成功/失败, and the import marks each
payment paid or failed. A result file naming a payment outside the batch is refused whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import IO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from openpyxl import Workbook

from portal.excel import MONEY_FORMAT, ExcelError, cell_text, read_rows, write_sheet
from portal.services import bureau_service
from subsidies.models import BankAccount, BatchEvent, DisbursementBatch, PayeeKind, Payment
from subsidies.services import record_event

OK_WORDS = ("成功", "success", "ok", "已入账", "已支付")
FAILED_WORDS = ("失败", "fail", "退回", "未入账")


def payroll_payments(batch: DisbursementBatch):
    """What goes to the bank: payments to families, not held, not yet paid."""
    return (
        batch.payments.filter(
            payee=PayeeKind.PERSON, status__in=[Payment.Status.PENDING, Payment.Status.FAILED]
        )
        .select_related("student__school")
        .order_by("school__code", "student__name", "pk")
    )


@bureau_service
def payroll_workbook(*, batch: DisbursementBatch, by) -> Workbook:
    if batch.status == DisbursementBatch.Status.DRAFT:
        raise ValidationError(_("The batch must be approved before the bank file is made."))
    payments = list(payroll_payments(batch))
    accounts = {
        a.student_id: a
        for a in BankAccount.objects.active().filter(student_id__in=[p.student_id for p in payments])
    }
    wb = Workbook()
    ws = wb.active
    ws.title = _("Payroll")
    rows, missing = [], []
    for p in payments:
        account = accounts.get(p.student_id)
        if account is None:
            missing.append(p)
            continue
        rows.append(
            [
                len(rows) + 1,
                account.holder_name,
                account.account_number,
                account.bank_name,
                p.amount,
                p.reference,
                f"{p.student.name} {batch.get_aid_type_display()} {batch.term_label}",
            ]
        )
    write_sheet(
        ws,
        [
            _("No."),
            _("Account holder"),
            _("Account number"),
            _("Bank"),
            _("Amount"),
            _("Reference"),
            _("Remark"),
        ],
        rows,
        widths=[6, 12, 26, 18, 12, 12, 36],
        formats={4: MONEY_FORMAT},
    )
    # Account numbers are text: a spreadsheet would round 19 digits to a float.
    for row in ws.iter_rows(min_row=2, min_col=3, max_col=3):
        for cell in row:
            cell.number_format = "@"
    if missing:
        sheet = wb.create_sheet(_("No account"))
        write_sheet(
            sheet,
            [_("Student"), _("School"), _("Amount"), _("Reference")],
            [[p.student.name, p.school.name, p.amount, p.reference] for p in missing],
        )
    record_event(
        batch,
        BatchEvent.Action.EXPORTED,
        by=by,
        note=_("%(n)s payments in the bank file, %(m)s without an account.")
        % {"n": len(rows), "m": len(missing)},
    )
    return wb


@dataclass
class ResultReport:
    paid: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _column(header: list[str], *names: str) -> int | None:
    for index, text in enumerate(header):
        if any(name in text for name in names):
            return index
    return None


@bureau_service
def result_import(*, batch: DisbursementBatch, upload: IO[bytes], paid_on: date, by) -> ResultReport:
    """Mark each payment named in the bank's result file paid or failed; all or nothing."""
    batch = DisbursementBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status == DisbursementBatch.Status.DRAFT:
        raise ValidationError(_("The batch must be approved before bank results are imported."))
    try:
        rows = read_rows(upload)
    except ExcelError as exc:
        raise ValidationError(str(exc)) from exc
    if not rows:
        raise ValidationError(_("The file is empty."))
    header = [cell_text(c) for c in rows[0]]
    ref_col = _column(header, "参考号", "Reference", "流水", "备注号")
    status_col = _column(header, "状态", "结果", "Status", "Result")
    reason_col = _column(header, "原因", "Reason")
    if ref_col is None or status_col is None:
        raise ValidationError(_("The result file needs a reference column and a status column."))
    payments = {p.reference: p for p in batch.payments.all()}
    report = ResultReport()
    updates = []
    for number, row in enumerate(rows[1:], start=2):
        cells = [cell_text(c) for c in row] + [""] * len(header)
        reference, outcome = cells[ref_col], cells[status_col].lower()
        if not reference and not outcome:
            continue
        payment = payments.get(reference)
        if payment is None:
            report.errors.append(
                _("Row %(row)s: payment %(ref)s is not in this batch.")
                % {"row": number, "ref": reference or "—"}
            )
            continue
        if payment.status == Payment.Status.HELD:
            report.errors.append(
                _("Row %(row)s: payment %(ref)s is held and may not be paid.")
                % {"row": number, "ref": reference}
            )
            continue
        if any(word in outcome for word in OK_WORDS):
            payment.status, payment.paid_on, payment.failure_reason = Payment.Status.PAID, paid_on, ""
            payment.bank_reference = payment.bank_reference or batch.bank_reference or reference
            report.paid += 1
        elif any(word in outcome for word in FAILED_WORDS):
            payment.status = Payment.Status.FAILED
            payment.failure_reason = (cells[reason_col] if reason_col is not None else "")[:200] or _(
                "Failed"
            )
            report.failed += 1
        else:
            report.errors.append(
                _("Row %(row)s: unknown status “%(status)s” (use 成功 or 失败).")
                % {"row": number, "status": cells[status_col]}
            )
            continue
        updates.append(payment)
    if report.errors:
        raise ValidationError(report.errors)
    Payment.objects.bulk_update(updates, ["status", "paid_on", "failure_reason", "bank_reference"])
    record_event(
        batch,
        BatchEvent.Action.RESULT_IMPORTED,
        by=by,
        note=_("%(paid)s paid, %(failed)s failed.") % {"paid": report.paid, "failed": report.failed},
    )
    return report
