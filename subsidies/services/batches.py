"""Writes of term batches: create, draw, review, approve, pay, release and re-pay; bank accounts.

Batches move forward only (draft -> approved -> paid); every step is a BatchEvent with who and when, and
pghistory keeps the row changes. The database forbids paying one aid twice to a student in a term.

A family's payment is paid only by the bank: it goes in a bank file (`subsidies.bank.payroll_workbook`,
status "sent") and the bank's result file says 成功 (`subsidies.bank.result_import`); or, one payment at a
time, by hand with a reason, once the bank has answered that it failed (`payment_mark_paid`). A failed payment stays failed until re-paid
(`payment_repay`: back in the next bank file). Payments to schools and canteens are paid by recording the
transfer (`batch_mark_paid`). A batch is paid when every payment that counts in it is.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.access import can_write_in_scope
from portal.services import bureau_service, service
from portal.text import required_text
from students import id_numbers
from students.models import Student
from subsidies import eligibility
from subsidies.facts import facts_on
from subsidies.models import (
    LOAN_AID_TYPES,
    AidType,
    BankAccount,
    BatchEvent,
    DisbursementBatch,
    PayeeKind,
    Payment,
    term_end,
    term_label,
    term_of,
    term_start,
)
from subsidies.selectors import (
    approval_figures,
    approval_fingerprint,
    draw,
    draw_candidates,
    group_taken,
    quota_status,
    terms_received,
    unset_amounts,
)

Status = DisbursementBatch.Status
# Above this many candidate students a batch is drawn by a Celery task rather than in the request.
ASYNC_DRAW_ABOVE = 20_000


# --- Checks of what a clerk types ---------------------------------------------------------------------

# A reason of spaces or zero-width characters is no reason (portal.text, shared with every app).
clean_reason = required_text


def check_paid_on(batch: DisbursementBatch, paid_on: date | None) -> None:
    """A payment date is a day of the batch's term or after it, and not in the future."""
    if paid_on is None:
        return
    today = timezone.localdate()
    if paid_on > today:
        raise ValidationError(
            {"paid_on": _("The payment date %(day)s is in the future.") % {"day": paid_on.isoformat()}}
        )
    start = term_start(batch.school_year, batch.term)
    if paid_on < start:
        raise ValidationError(
            {
                "paid_on": _("The payment date %(day)s is before the batch's term starts (%(start)s).")
                % {"day": paid_on.isoformat(), "start": start.isoformat()}
            }
        )


# --- Batches ------------------------------------------------------------------------------------------


def record_event(
    batch, action, *, by, note: str = "", student=None, from_status: str = "", to_status: str = ""
):
    return BatchEvent.objects.create(
        batch=batch,
        action=action,
        by=by if getattr(by, "pk", None) else None,
        note=note[:300],
        student=student,
        from_status=from_status,
        to_status=to_status,
    )


def payment_for(batch: DisbursementBatch, student: Student, decision) -> Payment:
    # The school and stage the student had on the date decided (a later transfer does not move the money).
    state = decision.state
    return Payment(
        batch=batch,
        student=student,
        aid_type=batch.aid_type,
        school_year=batch.school_year,
        term=batch.term,
        school=state.school if state else student.school,
        stage=state.stage if state else student.stage,
        policy=decision.policy,
        category=decision.category,
        amount=decision.amount_per_term,
        payee=decision.payee,
        reason=decision.reason[:300],
    )


def _check_drawable(aid_type: str, on: date) -> None:
    """A loan cap is never paid in a batch; an aid whose amount the county has not entered is not drawn."""
    if aid_type in LOAN_AID_TYPES:
        raise ValidationError(_("Loan caps are read by the loan register; they are not paid in batches."))
    unset = unset_amounts(aid_type, on)
    if unset:
        raise ValidationError(
            _(
                "The amount of %(rules)s is not set: the county enters its standard in the policy table "
                "before a batch can draw this aid."
            )
            % {"rules": "、".join(f"“{p}”" for p in unset)}
        )


@bureau_service
def batch_create(
    *, aid_type: str, school_year: int, term: str, by, on: date | None = None
) -> DisbursementBatch:
    """An empty draft batch for a term, drawn on `on` (default: the first day of the term)."""
    on = on or term_start(school_year, term)
    # Within the term's own days (the holiday after it is not the term: a child first registered in the
    # holiday was on no roll of it; `subsidies.facts`).
    if term_of(on) != (school_year, term) or on > term_end(school_year, term):
        raise ValidationError(
            {
                "on": [
                    _(
                        "A batch of %(term)s is drawn on a day of that term (%(first)s to %(last)s), not on "
                        "%(day)s: another day would pay on facts and levels of another term or holiday."
                    )
                    % {
                        "term": term_label(school_year, term),
                        "first": term_start(school_year, term).isoformat(),
                        "last": term_end(school_year, term).isoformat(),
                        "day": on.isoformat(),
                    }
                ]
            }
        )
    _check_drawable(aid_type, on)
    batch = DisbursementBatch(
        aid_type=aid_type, school_year=school_year, term=term, eligibility_date=on, created_by=by
    )
    try:
        batch.full_clean()
    except ValidationError as exc:
        if DisbursementBatch.objects.filter(aid_type=aid_type, school_year=school_year, term=term).exists():
            raise ValidationError(_("A batch for this aid and term already exists.")) from exc
        raise
    try:
        with transaction.atomic():
            batch.save()
    except IntegrityError as exc:
        # Two clerks pressing "generate" at once: the second meets the unique constraint.
        raise ValidationError(_("A batch for this aid and term already exists.")) from exc
    return batch


@bureau_service
def batch_draw(*, batch: DisbursementBatch, by) -> int:
    """Fill a draft batch from eligibility on its date. Drawing twice adds nobody twice (the students
    already paid this aid for the term are skipped), so a retried task is harmless."""
    batch = _lock(batch)
    if batch.status != Status.DRAFT:
        raise ValidationError(_("Students can only be added while the batch is a draft."))
    _check_drawable(batch.aid_type, batch.eligibility_date)
    already = set(
        Payment.objects.filter(
            aid_type=batch.aid_type, school_year=batch.school_year, term=batch.term
        ).values_list("student_id", flat=True)
    )
    left_out: dict[str, int] = {}
    payments = [
        payment_for(batch, student, decision)
        for student, decision in draw(
            aid_type=batch.aid_type,
            school_year=batch.school_year,
            term=batch.term,
            on=batch.eligibility_date,
            left_out=left_out,
        )
        if student.pk not in already
    ]
    Payment.objects.bulk_create(payments, batch_size=2000)
    note = _("%(n)s students drawn by eligibility on %(date)s.") % {
        "n": len(payments),
        "date": batch.eligibility_date,
    }
    if left_out["taken"]:
        note += " " + _(
            "%(n)s students left out: they already receive an aid of the same exclusion group this term."
        ) % {"n": left_out["taken"]}
    if left_out["unknown"]:
        note += " " + _(
            "%(n)s students qualify but are left out: their school's preschool fee is not recorded."
        ) % {"n": left_out["unknown"]}
    record_event(batch, BatchEvent.Action.GENERATED, by=by, to_status=Status.DRAFT, note=note)
    return len(payments)


@bureau_service
def batch_generate(
    *, aid_type: str, school_year: int, term: str, by, on: date | None = None
) -> DisbursementBatch:
    """Create a term's batch and draw it: at once, or, above `ASYNC_DRAW_ABOVE` candidate students (a county
    of Ningdu's size), in a Celery task once this transaction commits; `batch.is_drawn` tells which."""
    batch = batch_create(aid_type=aid_type, school_year=school_year, term=term, by=by, on=on)
    if draw_candidates(aid_type=aid_type, on=batch.eligibility_date) > ASYNC_DRAW_ABOVE:
        from subsidies.tasks import draw_batch  # tasks call services; this import goes the other way

        batch_pk, user_pk = batch.pk, by.pk
        transaction.on_commit(lambda: draw_batch.delay(batch_pk, user_pk))
    else:
        batch_draw(batch=batch, by=by)
    return batch


def refuse_imported(batch: DisbursementBatch) -> None:
    """The steps of a drawn batch (draw, review, approval, bank file and result, re-pay, withdrawal, marking
    paid) never apply to past payments imported from the national aid system: they were paid there."""
    if batch.is_imported:
        raise ValidationError(
            _(
                "%(batch)s holds past payments imported from the national aid system: they were paid there, "
                "so nothing in it is drawn, approved, sent to the bank, re-paid or withdrawn here."
            )
            % {"batch": batch}
        )


def _lock(batch: DisbursementBatch) -> DisbursementBatch:
    """The batch, locked for a step of a drawn batch (refused on an imported one)."""
    batch = DisbursementBatch.objects.select_for_update().get(pk=batch.pk)
    refuse_imported(batch)
    return batch


def _refuse_taken_group(student: Student, aid_type: str, school_year: int, term: str) -> None:
    """The database's exclusion-group rule, said first in words."""
    taken = group_taken([student.pk], aid_type, school_year, term).get(student.pk)
    if taken is not None:
        raise ValidationError(
            _(
                "%(name)s already receives %(other)s this term, which excludes %(aid)s (%(group)s): "
                "a student receives only one of them."
            )
            % {
                "name": student.name,
                "other": taken.aid_label,
                "aid": AidType(aid_type).label,
                "group": taken.group.name,
            }
        )


def _check_student_scope(student: Student, by) -> None:
    if not Student.objects.editable_by(by).filter(pk=student.pk).exists():
        raise PermissionDenied(_("You may not change this student's aid."))


@service(allowed=can_write_in_scope, refusal=gettext_lazy("You may not change this student's aid."))
def batch_add_student(*, batch: DisbursementBatch, student: Student, reason: str, by) -> Payment:
    """Review: add a student the draw missed (a category recorded late, a transfer). Still by the rules."""
    _check_student_scope(student, by)
    batch = _lock(batch)
    if batch.status != Status.DRAFT:
        raise ValidationError(_("Students can only be added while the batch is a draft."))
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for adding the student.")})
    on = max(batch.eligibility_date, min(timezone.localdate(), term_end(batch.school_year, batch.term)))
    received = terms_received([student.pk], batch.aid_type, batch.school_year, batch.term)
    kwargs = {"terms_received": {batch.aid_type: received.get(student.pk, 0)}}
    decision = eligibility.decide(
        student, batch.aid_type, batch.eligibility_date, **kwargs
    ) or eligibility.decide(student, batch.aid_type, on, **kwargs)
    if decision is None:
        why = "; ".join(d.reason for d in eligibility.why_not(student, batch.aid_type, on, **kwargs))
        raise ValidationError(
            _("%(name)s does not qualify for this aid: %(why)s")
            % {"name": student.name, "why": why or _("no rule for this stage.")}
        )
    if Payment.objects.filter(
        student=student, aid_type=batch.aid_type, school_year=batch.school_year, term=batch.term
    ).exists():
        raise ValidationError(_("This student is already paid this aid for this term."))
    if not decision.payable:
        raise ValidationError(
            _("%(name)s qualifies, but the amount is not known: %(why)s.")
            % {"name": student.name, "why": decision.unknown_amount_reason}
        )
    _refuse_taken_group(student, batch.aid_type, batch.school_year, batch.term)
    payment = payment_for(batch, student, decision)
    payment.full_clean()
    payment.save()
    record_event(batch, BatchEvent.Action.ADDED, by=by, student=student, note=reason)
    return payment


@service(allowed=can_write_in_scope, refusal=gettext_lazy("You may not change this student's aid."))
def batch_remove_student(*, batch: DisbursementBatch, student: Student, reason: str, by) -> None:
    """Review: take a student out, with the reason. Held payments may be removed after approval too."""
    _check_student_scope(student, by)
    batch = _lock(batch)
    payment = Payment.objects.filter(batch=batch, student=student).first()
    if payment is None:
        raise ValidationError(_("%(name)s is not in this batch.") % {"name": student.name})
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for removing the student.")})
    if batch.status != Status.DRAFT and payment.status != Payment.Status.HELD:
        raise ValidationError(_("After approval only held payments can be removed."))
    if payment.bank_lines.exists():
        # A payment that went to the bank stays, with its bank lines, as the record of what was sent (withdrawn,
        # it is held and counts nowhere).
        raise ValidationError(
            _("%(name)s's payment was in a bank file: it stays on record, withdrawn, and cannot be removed.")
            % {"name": student.name}
        )
    payment.delete()
    record_event(batch, BatchEvent.Action.REMOVED, by=by, student=student, note=reason)


@bureau_service
def batch_approve(
    *,
    batch: DisbursementBatch,
    by,
    on: date | None = None,
    allow_over_quota: bool = False,
    expected_count: int | None = None,
    expected_amount: Decimal | None = None,
    expected_fingerprint: str | None = None,
) -> DisbursementBatch:
    """Approve a draft. Approving twice is harmless. Eligibility is checked again: a student whose category
    lapsed since the draw is held (not paid), with the reason.

    `expected_count` and `expected_amount`: the figures the clerk was shown and confirmed (the page's
    confirmation, the API's request); if the batch no longer has them (a student added or removed since),
    nothing is approved, so that nobody approves a batch that changed under them. `expected_fingerprint`
    (selectors.approval_fingerprint, as the clerk was shown it) also catches a child swapped for another with
    the same figures."""
    batch = _lock(batch)
    if batch.status == Status.APPROVED:
        return batch
    if batch.status == Status.PAID:
        raise ValidationError(_("This batch is already paid; it cannot be approved again."))
    if expected_count is not None or expected_amount is not None:
        count, amount = approval_figures(batch)
        if (expected_count, expected_amount) != (count, amount):
            raise ValidationError(
                _(
                    "The batch changed since you checked it: it now holds %(count)s students, ¥%(amount)s in "
                    "all. Nothing was approved; check the batch again and confirm these figures."
                )
                % {"count": count, "amount": f"{amount:,.2f}"}
            )
    if expected_fingerprint is not None and expected_fingerprint != approval_fingerprint(batch):
        raise ValidationError(
            _(
                "The batch's students changed since you checked it (a student was added, removed or "
                "replaced). Nothing was approved; check the batch again before approving."
            )
        )
    payments = list(batch.payments.select_related("student__school"))
    if not payments:
        raise ValidationError(_("The batch has no students; there is nothing to approve."))
    on = on or max(batch.eligibility_date, min(timezone.localdate(), term_end(batch.school_year, batch.term)))
    ids = [p.student_id for p in payments]
    policies = eligibility.policies_on(on)
    state = facts_on(ids, on)
    received = terms_received(ids, batch.aid_type, batch.school_year, batch.term)
    held = []
    for payment in payments:
        kwargs = {
            "policies": policies,
            "facts": state[payment.student_id],
            "terms_received": {batch.aid_type: received.get(payment.student_id, 0)},
        }
        if eligibility.decide(payment.student, batch.aid_type, on, **kwargs) is None:
            why = "; ".join(
                d.reason for d in eligibility.why_not(payment.student, batch.aid_type, on, **kwargs)
            )
            payment.status = Payment.Status.HELD
            payment.flag_reason = (_("No longer eligible on %(date)s: %(why)s") % {"date": on, "why": why})[
                :300
            ]
            held.append(payment)
    Payment.objects.bulk_update(held, ["status", "flag_reason"])
    status = quota_status(aid_type=batch.aid_type, school_year=batch.school_year, term=batch.term)
    if status.exceeded and not allow_over_quota:
        raise ValidationError(
            _(
                "The batch exceeds the quota: allocated %(allocated)s, drawn %(drawn)s. "
                "Remove students or confirm approval above the quota."
            )
            % {"allocated": status.allocated, "drawn": status.drawn}
        )
    for payment in held:
        record_event(
            batch, BatchEvent.Action.FLAGGED, by=by, student=payment.student, note=payment.flag_reason
        )
    batch.status = Status.APPROVED
    batch.save(update_fields=["status"])
    record_event(
        batch,
        BatchEvent.Action.APPROVED,
        by=by,
        from_status=Status.DRAFT,
        to_status=Status.APPROVED,
        note=_("%(n)s payments held for a lapsed category.") % {"n": len(held)} if held else "",
    )
    return batch


@bureau_service
def payment_release(*, payment: Payment, reason: str, by) -> Payment:
    """A held payment checked by hand and found right after all (e.g. a category renewed late)."""
    payment = Payment.objects.select_for_update().select_related("batch").get(pk=payment.pk)
    refuse_imported(payment.batch)
    if payment.status != Payment.Status.HELD or payment.batch.status != Status.APPROVED:
        raise ValidationError(_("Only a held payment of an approved batch can be released."))
    reason = clean_reason(reason)
    if not reason:
        raise ValidationError({"reason": _("Give the reason for releasing the payment.")})
    _refuse_taken_group(payment.student, payment.aid_type, payment.school_year, payment.term)
    payment.status = Payment.Status.PENDING
    payment.save(update_fields=["status"])
    record_event(payment.batch, BatchEvent.Action.RELEASED, by=by, student=payment.student, note=reason)
    return payment


@bureau_service
def settle_batch(*, batch: DisbursementBatch, by, paid_on: date | None, bank_reference: str = "") -> None:
    """An approved batch is paid once every payment that counts in it is paid (held ones aside); until then
    it stays approved, with its failed, sent and unsent payments shown apart. `batch` is locked by the caller."""
    if (
        batch.status != Status.APPROVED
        or batch.payments.payable().exclude(status=Payment.Status.PAID).exists()
    ):
        return
    batch.status = Status.PAID
    batch.paid_on = paid_on or batch.payments.paid().aggregate(last=Max("paid_on"))["last"]
    batch.bank_reference = batch.bank_reference or bank_reference
    batch.save(update_fields=["status", "paid_on", "bank_reference"])
    record_event(
        batch,
        BatchEvent.Action.PAID,
        by=by,
        from_status=Status.APPROVED,
        to_status=Status.PAID,
        note=_("Every payment of the batch is paid: %(n)s payments.") % {"n": batch.payments.paid().count()},
    )


@bureau_service
def batch_mark_paid(
    *,
    batch: DisbursementBatch,
    bank_reference: str,
    paid_on: date,
    by,
    student_ids: list[int] | None = None,
) -> DisbursementBatch:
    """Record the transfer to schools and canteens: the batch's unpaid payments to a school or a canteen (or
    the listed students') are paid. Payments to families are paid only by the bank's result file, or one by
    one with a reason (`payment_mark_paid`)."""
    batch = _lock(batch)
    if batch.status == Status.DRAFT:
        raise ValidationError(_("The batch must be approved before it is paid."))
    if not clean_reason(bank_reference):
        raise ValidationError({"bank_reference": _("Give the bank's reference for the transfer.")})
    check_paid_on(batch, paid_on)
    payments = batch.payments.filter(status=Payment.Status.PENDING).exclude(payee=PayeeKind.PERSON)
    if student_ids is not None:
        in_batch = set(batch.payments.filter(student_id__in=student_ids).values_list("student_id", flat=True))
        missing = sorted(set(student_ids) - in_batch)
        if missing:
            names = Student.objects.filter(pk__in=missing).values_list("name", flat=True)
            raise ValidationError(
                _("Not in this batch, so they cannot be paid from it: %(names)s")
                % {"names": "、".join(names) or ", ".join(map(str, missing))}
            )
        families = batch.payments.filter(student_id__in=student_ids, payee=PayeeKind.PERSON)
        if families.exists():
            raise ValidationError(
                _(
                    "Paid to the family, so paid only by the bank's result file or one by one with a reason: "
                    "%(names)s"
                )
                % {"names": "、".join(families.values_list("student__name", flat=True))}
            )
        payments = payments.filter(student_id__in=student_ids)
    if not payments.exists():
        raise ValidationError(
            _(
                "No payment to a school or canteen is waiting. Payments to families are paid by the bank's "
                "result file, or one by one with a reason."
            )
        )
    count = payments.update(status=Payment.Status.PAID, bank_reference=bank_reference, paid_on=paid_on)
    record_event(
        batch,
        BatchEvent.Action.TRANSFERRED,
        by=by,
        note=_("%(n)s payments to schools and canteens paid, reference %(ref)s.")
        % {"n": count, "ref": bank_reference},
    )
    settle_batch(batch=batch, by=by, paid_on=paid_on, bank_reference=bank_reference)
    return batch


@bureau_service
def payment_repay(*, payment: Payment, by, reason: str) -> Payment:
    """A failed payment is sent again, with the reason (the account put right): it goes in the batch's next
    bank file. It stays unpaid until that file's result comes back successful."""
    payment = Payment.objects.select_for_update().select_related("batch", "student").get(pk=payment.pk)
    refuse_imported(payment.batch)
    if payment.status != Payment.Status.FAILED:
        raise ValidationError(_("Only a failed payment can be paid again."))
    reason = clean_reason(reason)
    if not reason:
        raise ValidationError({"reason": _("Give the reason for paying the payment again.")})
    payment.status = Payment.Status.PENDING
    payment.save(update_fields=["status"])
    record_event(
        payment.batch,
        BatchEvent.Action.REPAID,
        by=by,
        student=payment.student,
        note=reason,
    )
    return payment


@bureau_service
def payment_withdraw(*, payment: Payment, reason: str, by) -> Payment:
    """A failed or unsent payment the family will not receive this term (the account closed and no new one,
    the child left): taken out of the batch's money, with the reason. It is held, no longer drawn, and can be
    released again (`payment_release`) if the family turns up."""
    payment = Payment.objects.select_for_update().select_related("batch", "student").get(pk=payment.pk)
    refuse_imported(payment.batch)
    if payment.status not in (Payment.Status.FAILED, Payment.Status.PENDING):
        raise ValidationError(
            _("Only a failed payment, or one not yet sent, can be withdrawn; this one is “%(status)s”.")
            % {"status": payment.get_status_display()}
        )
    reason = clean_reason(reason)
    if not reason:
        raise ValidationError({"reason": _("Give the reason for withdrawing the payment.")})
    batch = _lock(payment.batch)
    payment.status = Payment.Status.HELD
    payment.flag_reason = (_("Withdrawn, not paid: %(reason)s") % {"reason": reason})[:300]
    payment.save(update_fields=["status", "flag_reason"])
    record_event(batch, BatchEvent.Action.WITHDRAWN, by=by, student=payment.student, note=reason)
    settle_batch(batch=batch, by=by, paid_on=None)
    return payment


@bureau_service
def payment_mark_paid(*, payment: Payment, reason: str, bank_reference: str, paid_on: date, by) -> Payment:
    """One failed payment recorded paid by hand (the bank answered "failed" and the money was then paid at
    the counter, or the bank's paper receipt says otherwise): with the reason, the bank's reference and the
    date; logged. A payment still at the bank (sent) waits for the bank's result: marking it paid by hand
    would leave no way to record the bank's failure."""
    payment = Payment.objects.select_for_update().select_related("batch", "student").get(pk=payment.pk)
    refuse_imported(payment.batch)
    if payment.status != Payment.Status.FAILED:
        raise ValidationError(
            _(
                "Only a failed payment (the bank has answered) can be marked paid by hand; this one is "
                "“%(status)s”. A payment sent to the bank waits for the bank's result."
            )
            % {"status": payment.get_status_display()}
        )
    reason = clean_reason(reason)
    errors = {}
    if not reason:
        errors["reason"] = [_("Give the reason for marking the payment paid by hand.")]
    if not clean_reason(bank_reference):
        errors["bank_reference"] = [_("Give the bank's reference for the transfer.")]
    if errors:
        raise ValidationError(errors)
    check_paid_on(payment.batch, paid_on)
    batch = _lock(payment.batch)
    payment.status = Payment.Status.PAID
    payment.bank_reference = bank_reference.strip()
    payment.paid_on = paid_on
    payment.failure_reason = ""
    payment.save(update_fields=["status", "bank_reference", "paid_on", "failure_reason"])
    record_event(batch, BatchEvent.Action.PAID_BY_HAND, by=by, student=payment.student, note=reason)
    settle_batch(batch=batch, by=by, paid_on=paid_on)
    return payment


# --- Bank accounts ------------------------------------------------------------------------------------


@service(allowed=can_write_in_scope, refusal=gettext_lazy("You may not change this student's aid."))
def bank_account_set(
    *,
    student: Student,
    holder_name: str,
    bank_name: str,
    account_number: str,
    by,
    relation: str = "",
    holder_id_number: str = "",
) -> BankAccount:
    """The student's account from now on; the previous one is kept, no longer in use."""
    _check_student_scope(student, by)
    account = BankAccount(
        student=student,
        holder_name=holder_name.strip(),
        bank_name=bank_name.strip(),
        account_number=account_number.replace(" ", ""),
        relation=relation.strip(),
        holder_id_number=id_numbers.normalize(holder_id_number),
    )
    account.full_clean(exclude=["student"])
    BankAccount.objects.filter(student=student, is_active=True).update(is_active=False)
    account.save()
    return account
