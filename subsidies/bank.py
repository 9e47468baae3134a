"""The bank's payroll-agent (代发) file out, and the bank's result file (回盘) back in.

Out: `payroll_workbook` puts the batch's family payments that are due (not yet sent, with an account in use)
in a numbered `BankFile`, one `BankFileLine` each, and marks them sent. A family payment without an account
is never sent: it stays 待补录账户 and is listed on the file's "无账户" sheet. A failed payment is sent again
only once re-paid (`services.payment_repay`). The export is the one place where a whole account number leaves
the portal.

Each line's reference names the line, not only the payment: P00000123-2 is payment 123 in the batch's bank
file 2. A payment re-paid after a failure goes in a later file under a new reference, so an old file's result
can never be read as the answer for the transfer now at the bank.

Back: `result_import` reads the bank's result file by a `BankResultFormat` (the default one unless told): the
reference column names the bank-file line, the status column must hold exactly one of the format's values for
paid or for failed (spaces around it aside), and the amount column must hold exactly the amount sent. A
reference that names no line, a line that already has a result (an older file's, or a row imported before),
an unknown status, a blank or different amount, a reference twice: each refuses its row, with its Excel row
number, and one refused row refuses the whole file (every refused row is listed). A column missing or given
twice in the header refuses the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook

from portal.excel import MONEY_FORMAT, ExcelError, cell_text, read_numbered_rows, write_sheet
from portal.services import bureau_service
from subsidies.models import (
    BankAccount,
    BankFile,
    BankFileLine,
    BankPayrollLayout,
    BankResultFormat,
    BatchEvent,
    DisbursementBatch,
    PayeeKind,
    Payment,
    mask_account,
)
from subsidies.models.bank import STANDARD_LAYOUT
from subsidies.services.batches import (
    check_paid_on,
    clean_reason,
    record_event,
    refuse_imported,
    settle_batch,
)


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
def payroll_workbook(*, batch: DisbursementBatch, by, layout: BankPayrollLayout | None = None) -> Workbook:
    """A new bank file of the batch's due family payments with an account; they are marked sent. In the
    bank's layout (`layout`; the county's default one unless told)."""
    batch = DisbursementBatch.objects.select_for_update().get(pk=batch.pk)
    if layout is None:
        layout = BankPayrollLayout.objects.default()
    # A layout kept before its sheet title and card were checked is refused here, not by openpyxl (a 500).
    layout.clean()
    refuse_imported(batch)
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
    bank_file = BankFile.objects.create(
        batch=batch,
        number=number,
        made_by=by,
        layout=layout if layout.pk else None,
        layout_used=layout_snapshot(layout),
    )
    made = BankFileLine.objects.bulk_create(
        BankFileLine(
            bank_file=bank_file,
            payment=p,
            account=accounts[p.student_id],
            amount=p.amount,
            account_masked=mask_account(accounts[p.student_id].account_number),
            **as_sent(p, accounts[p.student_id], p.school.name),
        )
        for p in sending
    )
    Payment.objects.filter(pk__in=[p.pk for p in sending]).update(status=Payment.Status.SENT)
    wb = _payroll(batch, made, layout)
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


# Columns whose digits must stay text: a spreadsheet would round 18 or 19 digits to a float.
_TEXT_COLUMNS = {"account_number", "holder_id_number", "student_id_number", "reference"}
_WIDTHS = {"seq": 6, "account_number": 26, "holder_id_number": 22, "student_id_number": 22, "remark": 36}


def holder_id_number(account: BankAccount, student) -> str | None:
    """The account holder's ID number for the bank: the one recorded, or the child's when the child holds
    the account (relation 本人, or the child's own name); None (an empty cell) when unknown."""
    if account.holder_id_number:
        return account.holder_id_number
    if (
        account.relation.strip() in ("本人", "学生本人", "self")
        or account.holder_name.strip() == student.name
    ):
        return student.id_number
    return None


def as_sent(payment: Payment, account: BankAccount, school_name: str) -> dict:
    """The cells of a payment's line as the bank gets them, kept on the line (`BankFileLine`) when the file is
    made: a download again writes these, not the records as they are by then."""
    student = payment.student
    return {
        "holder_name": account.holder_name,
        "holder_id_number": holder_id_number(account, student) or "",
        "bank_name": account.bank_name,
        "student_name": student.name,
        "student_id_number": student.id_number,
        "school_name": school_name,
    }


def _payroll(batch: DisbursementBatch, lines: list[BankFileLine], layout: BankPayrollLayout) -> Workbook:
    """The payroll sheet the bank reads, in the bank's layout: one row per line (payment, account), its
    reference naming the line (P00000123-2: payment and file number), so that the bank's answer is tied to
    this file."""
    one_card = layout.card_format == BankPayrollLayout.CardFormat.ONE_CARD
    # The bank reads Chinese whatever the clerk's language: a file made, or made again, by a clerk working in
    # English is the same file.
    with translation.override("zh-hans"):
        aid, term = str(batch.get_aid_type_display()), str(batch.term_label)

    def value(key: str, n: int, line: BankFileLine):
        # The line's own cells as sent; the account number is the kept account's (a change of account is a new
        # account, never an edit of this one).
        return {
            "seq": lambda: n,
            "holder_name": lambda: line.holder_name,
            "holder_id_number": lambda: line.holder_id_number or None,
            "account_number": lambda: line.account.account_number,
            "bank_name": lambda: line.bank_name,
            "amount": lambda: line.amount,
            "reference": lambda: line.reference,
            "remark": lambda: f"{line.student_name} {aid} {term}",
            "student_name": lambda: line.student_name,
            "student_id_number": lambda: line.student_id_number,
            "school": lambda: line.school_name,
            "card_type": lambda: "一卡通" if one_card else "银行卡",
            "subsidy_item": lambda: f"惠民惠农财政补贴：{aid}" if one_card else aid,
        }[key]()

    keys = [key for key, _title in layout.columns]
    wb = Workbook()
    ws = wb.active
    ws.title = layout.sheet_title or "代发"
    write_sheet(
        ws,
        [title for _key, title in layout.columns],
        [[value(key, n, line) for key in keys] for n, line in enumerate(lines, start=1)],
        widths=[_WIDTHS.get(key, 14) for key in keys],
        formats={i: MONEY_FORMAT for i, key in enumerate(keys) if key == "amount"},
    )
    for i, key in enumerate(keys, start=1):
        if key in _TEXT_COLUMNS:
            for row in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                for cell in row:
                    cell.number_format = "@"
    return wb


def bank_file_workbook(*, batch: DisbursementBatch, number: int) -> Workbook:
    """Bank file `number` of the batch again, as it was made (same payments, same accounts), for a download that
    did not arrive; nothing changes. Only while the bank has answered none of its lines: a file whose results
    are in would make the bank pay again what it has paid (and the portal could not record it)."""
    bank_file = batch.bank_files.filter(number=number).first()
    if bank_file is None:
        raise ValidationError(_("This batch has no bank file %(number)s.") % {"number": number})
    lines = list(bank_file.lines.select_related("bank_file", "account").order_by("pk"))
    if any(line.outcome != BankFileLine.Outcome.SENT for line in lines):
        raise ValidationError(
            _(
                "The bank has already answered bank file %(number)s: it cannot be downloaded again. Re-pay the "
                "failed payments: they go in the next bank file."
            )
            % {"number": number}
        )
    return _payroll(batch, lines, layout_of(bank_file))


# What of a layout makes the file: kept with each bank file, so that a download again is the file sent.
LAYOUT_MADE_BY = ("bank", "columns", "card_format", "sheet_title")


def layout_snapshot(layout: BankPayrollLayout) -> dict:
    return {key: getattr(layout, key) for key in LAYOUT_MADE_BY}


def layout_of(bank_file: BankFile) -> BankPayrollLayout:
    """The layout bank file `bank_file` was made in, as it was then (unsaved); a file made before layouts were
    kept with the file is in its layout as it is now (the standard one if none)."""
    if bank_file.layout_used:
        return BankPayrollLayout(**{k: v for k, v in bank_file.layout_used.items() if k in LAYOUT_MADE_BY})
    return bank_file.layout or BankPayrollLayout(**STANDARD_LAYOUT)


@dataclass
class ResultReport:
    paid: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _columns(header: list[str], fmt: BankResultFormat) -> dict[str, int]:
    """The format's columns in the header row: each title must be there exactly once (spaces around it
    aside); a missing or doubled title refuses the file."""
    wanted = {
        "reference": fmt.reference_column,
        "status": fmt.status_column,
        "amount": fmt.amount_column,
        "reason": fmt.reason_column,
    }
    found, errors = {}, []
    for key, title in wanted.items():
        title = (title or "").strip()
        if not title:
            if key == "amount":
                errors.append(
                    _("Format “%(format)s” names no amount column; the amount the bank paid is required.")
                    % {"format": fmt.name}
                )
            continue
        hits = [index for index, text in enumerate(header) if text.strip() == title]
        if len(hits) > 1:
            errors.append(
                _("The result file has the column “%(column)s” %(n)s times; it must appear once.")
                % {"column": title, "n": len(hits)}
            )
        elif hits:
            found[key] = hits[0]
        elif key != "reason":
            errors.append(
                _("The result file has no column “%(column)s” (format “%(format)s”).")
                % {"column": title, "format": fmt.name}
            )
    if errors:
        raise ValidationError(errors)
    return found


THOUSANDS = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")


def _amount(text: str) -> Decimal | None:
    """The amount exactly as the cell says (thousands separators aside), never rounded; None if not one."""
    text = text.strip()
    if "," in text and not THOUSANDS.fullmatch(text):
        return None  # "15,00" or "1,5,0,0" is no amount
    try:
        amount = Decimal(text.replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _line_for(reference: str, lines_by_ref: dict, lines_by_payment: dict):
    """The bank-file line a result row names: its reference as written in the file (P00000123-2, payment
    and file number). A bare payment reference (P00000123, from a file made before lines were numbered) names
    a line only while the payment has been in one file alone."""
    line = lines_by_ref.get(reference)
    if line is None and "-" not in reference:
        candidates = lines_by_payment.get(reference, [])
        if len(candidates) == 1:
            line = candidates[0]
    return line


@bureau_service
def result_import(
    *,
    batch: DisbursementBatch,
    upload: IO[bytes],
    paid_on: date,
    by,
    result_format: BankResultFormat | None = None,
) -> ResultReport:
    """Record the bank's answer for each bank-file line named in its result file, by the format's exact
    values; all or nothing."""
    batch = DisbursementBatch.objects.select_for_update().get(pk=batch.pk)
    refuse_imported(batch)
    if batch.status == DisbursementBatch.Status.DRAFT:
        raise ValidationError(_("The batch must be approved before bank results are imported."))
    check_paid_on(batch, paid_on)
    fmt = result_format or BankResultFormat.objects.default()
    try:
        rows = read_numbered_rows(upload)
    except ExcelError as exc:
        raise ValidationError(str(exc)) from exc
    if not rows:
        raise ValidationError(_("The file is empty."))
    header = [cell_text(c) for c in rows[0][1]]
    cols = _columns(header, fmt)
    lines_by_ref, lines_by_payment = {}, {}
    for line in BankFileLine.objects.filter(bank_file__batch=batch).select_related("bank_file", "payment"):
        lines_by_ref[line.reference] = line
        lines_by_payment.setdefault(line.payment.reference, []).append(line)
    report = ResultReport()
    seen: set[int] = set()
    updates, lines = [], []
    for number, row in rows[1:]:
        cells = [cell_text(c) for c in row] + [""] * len(header)
        reference, value = cells[cols["reference"]].strip(), cells[cols["status"]]
        if not reference and not value.strip():
            continue
        line = _line_for(reference, lines_by_ref, lines_by_payment)
        if line is None:
            report.errors.append(
                _("Row %(row)s: reference %(ref)s names no line of this batch's bank files.")
                % {"row": number, "ref": reference or "—"}
            )
            continue
        payment = line.payment
        if line.pk in seen:
            report.errors.append(
                _("Row %(row)s: payment %(ref)s is named twice in the file.")
                % {"row": number, "ref": reference}
            )
            continue
        seen.add(line.pk)
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
        if line.outcome != BankFileLine.Outcome.SENT or payment.status != Payment.Status.SENT:
            report.errors.append(
                _(
                    "Row %(row)s: bank file %(file)s's line for payment %(ref)s already has a result "
                    "(“%(outcome)s”); the payment is now “%(status)s”."
                )
                % {
                    "row": number,
                    "file": line.bank_file.number,
                    "ref": payment.reference,
                    "outcome": line.get_outcome_display(),
                    "status": payment.get_status_display(),
                }
            )
            continue
        amount_text = cells[cols["amount"]].strip()
        amount = _amount(amount_text) if amount_text else None
        if amount is None or amount != line.amount:
            report.errors.append(
                _("Row %(row)s: the bank reports %(got)s, but %(sent)s was sent for payment %(ref)s.")
                % {"row": number, "got": amount_text or "—", "sent": line.amount, "ref": reference}
            )
            continue
        if outcome == Payment.Status.PAID:
            payment.status, payment.paid_on, payment.failure_reason = Payment.Status.PAID, paid_on, ""
            payment.bank_reference = payment.bank_reference or batch.bank_reference or line.reference
            line.outcome, line.failure_reason = BankFileLine.Outcome.PAID, ""
            report.paid += 1
        else:
            reason_col = cols.get("reason")
            # The bank's words, without invisible characters (a reason of zero-width spaces reads as none).
            reason = (clean_reason(cells[reason_col]) if reason_col is not None else "")[:200] or _("Failed")
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


LAYOUT_FIELDS = ("bank", "columns", "card_format", "sheet_title", "is_default", "note")


def _save_layout(layout: BankPayrollLayout) -> BankPayrollLayout:
    layout.full_clean()
    if layout.is_default:
        # One default: the new one replaces the old.
        BankPayrollLayout.objects.filter(is_default=True).exclude(pk=layout.pk).update(is_default=False)
    layout.save()
    return layout


@bureau_service
def payroll_layout_create(*, by, **fields) -> BankPayrollLayout:
    """A bank's payroll layout: its columns in order with their titles, and its card format."""
    return _save_layout(BankPayrollLayout(**{k: v for k, v in fields.items() if k in LAYOUT_FIELDS}))


@bureau_service
def payroll_layout_update(*, layout: BankPayrollLayout, by, **fields) -> BankPayrollLayout:
    layout = BankPayrollLayout.objects.select_for_update().get(pk=layout.pk)
    for key, value in fields.items():
        if key in LAYOUT_FIELDS:
            setattr(layout, key, value)
    return _save_layout(layout)
