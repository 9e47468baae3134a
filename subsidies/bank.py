"""The bank's payroll-agent (代发) file out, and the bank's result file (回盘) back in.

Out: `payroll_workbook` puts the batch's family payments that are due (not yet sent, with an account in use)
in a numbered `BankFile`, one `BankFileLine` each, and marks them sent. A family payment without an account
is never sent: it stays 待补录账户 and is listed on the file's "无账户" sheet. A failed payment is sent again
only once re-paid (`services.payment_repay`). The export is the one place where a whole account number leaves
the portal.

Back: `result_import` reads the bank's result file by a `BankResultFormat` (the default one unless told): the
reference column names the payment, and the status column must hold exactly one of the format's values for
paid or for failed. An unknown value, a payment that is not awaiting a bank result, an amount that is not
the amount sent, a reference twice: each refuses its row, with its row number, and one refused row refuses
the whole file (every refused row is listed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from openpyxl import Workbook

from portal.excel import MONEY_FORMAT, ExcelError, cell_text, read_rows, write_sheet
from portal.services import bureau_service
from subsidies.models import (
    BankAccount,
    BankFile,
    BankFileLine,
    BankResultFormat,
    BatchEvent,
    DisbursementBatch,
    PayeeKind,
    Payment,
    mask_account,
)
from subsidies.services.batches import record_event, settle_batch


def due_payments(batch: DisbursementBatch):
    """The family payments a payroll file would take (accounts aside): not yet sent, not held, not failed."""
    return (
        batch.payments.filter(payee=PayeeKind.PERSON, status=Payment.Status.PENDING)
        .select_related("student", "school")
        .order_by("school__code", "student__name", "pk")
    )


def without_account(payments):
    """Of `payments`, those whose student has no bank account in use (待补录账户)."""
    return payments.exclude(student__bank_accounts__is_active=True)


@bureau_service
def payroll_workbook(*, batch: DisbursementBatch, by) -> Workbook:
    """A new bank file of the batch's due family payments with an account; they are marked sent."""
    batch = DisbursementBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status == DisbursementBatch.Status.DRAFT:
        raise ValidationError(_("The batch must be approved before the bank file is made."))
    payments = list(due_payments(batch))
    accounts = {
        a.student_id: a
        for a in BankAccount.objects.active().filter(student_id__in=[p.student_id for p in payments])
    }
    sending = [p for p in payments if p.student_id in accounts]
    missing = [p for p in payments if p.student_id not in accounts]
    if not sending:
        raise ValidationError(
            _("No payment is due to the bank: %(n)s families have no bank account yet (待补录账户).")
            % {"n": len(missing)}
            if missing
            else _("No payment is due to the bank: every family payment is sent, paid or held.")
        )
    number = (batch.bank_files.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    bank_file = BankFile.objects.create(batch=batch, number=number, made_by=by)
    BankFileLine.objects.bulk_create(
        BankFileLine(
            bank_file=bank_file,
            payment=p,
            account=accounts[p.student_id],
            amount=p.amount,
            account_masked=mask_account(accounts[p.student_id].account_number),
        )
        for p in sending
    )
    Payment.objects.filter(pk__in=[p.pk for p in sending]).update(status=Payment.Status.SENT)
    wb = _payroll(batch, [(p, accounts[p.student_id]) for p in sending])
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
        note=_("Bank file %(number)s: %(n)s payments sent, %(m)s without an account not sent.")
        % {"number": number, "n": len(sending), "m": len(missing)},
    )
    return wb


def _payroll(batch: DisbursementBatch, lines) -> Workbook:
    """The payroll sheet the bank reads: one row per (payment, account)."""
    wb = Workbook()
    ws = wb.active
    ws.title = _("Payroll")
    rows = [
        [
            n,
            account.holder_name,
            account.account_number,
            account.bank_name,
            payment.amount,
            payment.reference,
            f"{payment.student.name} {batch.get_aid_type_display()} {batch.term_label}",
        ]
        for n, (payment, account) in enumerate(lines, start=1)
    ]
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
    return wb


def bank_file_workbook(*, batch: DisbursementBatch, number: int) -> Workbook:
    """Bank file `number` of the batch again, as it was made (same payments, same accounts); nothing changes.
    For a download that did not arrive: the payments in it are already sent and are not sent twice."""
    bank_file = batch.bank_files.filter(number=number).first()
    if bank_file is None:
        raise ValidationError(_("This batch has no bank file %(number)s.") % {"number": number})
    lines = bank_file.lines.select_related("payment__student", "account").order_by("pk")
    return _payroll(batch, [(line.payment, line.account) for line in lines])


@dataclass
class ResultReport:
    paid: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _column(header: list[str], title: str) -> int | None:
    """The column whose title is exactly `title` (spaces around it aside)."""
    title = title.strip()
    for index, text in enumerate(header):
        if text.strip() == title:
            return index
    return None


def _amount(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", "").strip()).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


@bureau_service
def result_import(
    *,
    batch: DisbursementBatch,
    upload: IO[bytes],
    paid_on: date,
    by,
    result_format: BankResultFormat | None = None,
) -> ResultReport:
    """Mark each payment named in the bank's result file paid or failed, by the format's exact values; all or
    nothing."""
    batch = DisbursementBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status == DisbursementBatch.Status.DRAFT:
        raise ValidationError(_("The batch must be approved before bank results are imported."))
    fmt = result_format or BankResultFormat.objects.default()
    try:
        rows = read_rows(upload)
    except ExcelError as exc:
        raise ValidationError(str(exc)) from exc
    if not rows:
        raise ValidationError(_("The file is empty."))
    header = [cell_text(c) for c in rows[0]]
    ref_col = _column(header, fmt.reference_column)
    status_col = _column(header, fmt.status_column)
    reason_col = _column(header, fmt.reason_column) if fmt.reason_column else None
    amount_col = _column(header, fmt.amount_column) if fmt.amount_column else None
    if ref_col is None or status_col is None:
        raise ValidationError(
            _("The result file needs a column “%(ref)s” and a column “%(status)s” (format “%(format)s”).")
            % {"ref": fmt.reference_column, "status": fmt.status_column, "format": fmt.name}
        )
    payments = {p.reference: p for p in batch.payments.all()}
    awaiting = {
        line.payment_id: line
        for line in BankFileLine.objects.filter(bank_file__batch=batch, outcome=BankFileLine.Outcome.SENT)
    }
    report = ResultReport()
    seen: set[str] = set()
    updates, lines = [], []
    for number, row in enumerate(rows[1:], start=2):
        cells = [cell_text(c) for c in row] + [""] * len(header)
        reference, value = cells[ref_col].strip(), cells[status_col]
        if not reference and not value.strip():
            continue
        payment = payments.get(reference)
        if payment is None:
            report.errors.append(
                _("Row %(row)s: payment %(ref)s is not in this batch.")
                % {"row": number, "ref": reference or "—"}
            )
            continue
        if reference in seen:
            report.errors.append(
                _("Row %(row)s: payment %(ref)s is named twice in the file.")
                % {"row": number, "ref": reference}
            )
            continue
        seen.add(reference)
        outcome = fmt.outcome(value)
        if outcome is None:
            report.errors.append(
                _(
                    "Row %(row)s: unknown status “%(status)s”; format “%(format)s” accepts %(ok)s (paid) and %(failed)s (failed)."
                )
                % {
                    "row": number,
                    "status": value,
                    "format": fmt.name,
                    "ok": "、".join(fmt.success_values),
                    "failed": "、".join(fmt.failure_values),
                }
            )
            continue
        line = awaiting.get(payment.pk)
        if payment.status != Payment.Status.SENT or line is None:
            report.errors.append(
                _("Row %(row)s: payment %(ref)s is not awaiting a bank result (it is “%(status)s”).")
                % {"row": number, "ref": reference, "status": payment.get_status_display()}
            )
            continue
        if amount_col is not None and cells[amount_col].strip():
            amount = _amount(cells[amount_col])
            if amount != line.amount:
                report.errors.append(
                    _("Row %(row)s: the bank reports %(got)s, but %(sent)s was sent for payment %(ref)s.")
                    % {"row": number, "got": cells[amount_col], "sent": line.amount, "ref": reference}
                )
                continue
        if outcome == Payment.Status.PAID:
            payment.status, payment.paid_on, payment.failure_reason = Payment.Status.PAID, paid_on, ""
            payment.bank_reference = payment.bank_reference or batch.bank_reference or reference
            line.outcome, line.failure_reason = BankFileLine.Outcome.PAID, ""
            report.paid += 1
        else:
            reason = (cells[reason_col].strip() if reason_col is not None else "")[:200] or _("Failed")
            payment.status, payment.failure_reason = Payment.Status.FAILED, reason
            line.outcome, line.failure_reason = BankFileLine.Outcome.FAILED, reason
            report.failed += 1
        updates.append(payment)
        lines.append(line)
    if report.errors:
        raise ValidationError(report.errors)
    if not updates:
        raise ValidationError(_("The result file names no payment."))
    Payment.objects.bulk_update(updates, ["status", "paid_on", "failure_reason", "bank_reference"])
    BankFileLine.objects.bulk_update(lines, ["outcome", "failure_reason"])
    record_event(
        batch,
        BatchEvent.Action.RESULT_IMPORTED,
        by=by,
        note=_("%(paid)s paid, %(failed)s failed (format “%(format)s”).")
        % {"paid": report.paid, "failed": report.failed, "format": fmt.name},
    )
    settle_batch(batch=batch, by=by, paid_on=paid_on)
    return report


# --- Result formats (the county's banks) ---------------------------------------------------------------

FORMAT_FIELDS = (
    "name",
    "reference_column",
    "status_column",
    "reason_column",
    "amount_column",
    "success_values",
    "failure_values",
    "is_default",
    "note",
)


def _save_format(fmt: BankResultFormat) -> BankResultFormat:
    fmt.full_clean()
    if fmt.is_default:
        # One default: the new one replaces the old.
        BankResultFormat.objects.filter(is_default=True).exclude(pk=fmt.pk).update(is_default=False)
    fmt.save()
    return fmt


@bureau_service
def result_format_create(*, by, **fields) -> BankResultFormat:
    """A bank's result format: its column titles and the exact values (or codes) for paid and failed."""
    return _save_format(BankResultFormat(**{k: v for k, v in fields.items() if k in FORMAT_FIELDS}))


@bureau_service
def result_format_update(*, result_format: BankResultFormat, by, **fields) -> BankResultFormat:
    fmt = BankResultFormat.objects.select_for_update().get(pk=result_format.pk)
    for key, value in fields.items():
        if key in FORMAT_FIELDS:
            setattr(fmt, key, value)
    return _save_format(fmt)
