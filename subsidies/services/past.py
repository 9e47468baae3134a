"""Writes of past payments: a file of the national aid system recorded whole, or not at all.

The payments go in imported batches (`DisbursementBatch.Kind.IMPORTED`), one per aid and term, paid: the
reports count them as aid received, and no step of a drawn batch (review, approval, bank file, result, re-pay,
withdrawal, marking paid) applies to them. The file is kept as it came (`PastPaymentImport.file`).
"""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import date
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from portal.services import bureau_service
from subsidies import past_payments
from subsidies.models import BatchEvent, DisbursementBatch, PastPaymentImport, Payment, term_start
from subsidies.services.batches import record_event

Status = DisbursementBatch.Status


@bureau_service
def past_payments_import(
    *, upload: IO[bytes], filename: str, by, today: date | None = None
) -> PastPaymentImport:
    """Record every payment of the file, each in its term's imported batch; if any row is refused, refuse the
    file with every refused row (nothing is written)."""
    data = upload.read(settings.IMPORT_MAX_BYTES + 1)
    check = past_payments.check(io.BytesIO(data), today=today)
    if check.refused:
        raise ValidationError([str(refusal) for refusal in check.refused])
    record = PastPaymentImport(
        filename=(filename or "")[:200],
        sha256=hashlib.sha256(data).hexdigest(),
        rows=len(check.accepted),
        amount=check.amount,
        imported_by=by,
    )
    record.save()
    batches = {}
    for term in check.terms():
        batch = _imported_batch(term["aid_type"], term["school_year"], term["term"], by=by)
        batches[(term["aid_type"], term["school_year"], term["term"])] = batch
    payments = [
        Payment(
            batch=batches[(p.aid_type, p.school_year, p.term)],
            student=p.student,
            aid_type=p.aid_type,
            school_year=p.school_year,
            term=p.term,
            school_id=p.school_id,
            stage=p.stage,
            policy=None,
            amount=p.amount,
            payee=p.payee,
            status=Payment.Status.PAID,
            paid_on=p.paid_on,
            reason=_("Imported from the national aid system (%(file)s, row %(row)s).")
            % {"file": record.filename, "row": p.row},
            imported_from=record,
        )
        for p in check.accepted
    ]
    try:
        with transaction.atomic():
            Payment.objects.bulk_create(payments, batch_size=2000)
    except IntegrityError as exc:
        # The rows were checked a moment ago: another clerk recorded one of these payments meanwhile.
        raise ValidationError(
            _(
                "A payment of this file was recorded meanwhile (one payment per aid and term): check the file again."
            )
        ) from exc
    for term in check.terms():
        batch = batches[(term["aid_type"], term["school_year"], term["term"])]
        last_paid = max(p.paid_on for p in payments if p.batch_id == batch.pk)
        if batch.paid_on is None or batch.paid_on < last_paid:
            batch.paid_on = last_paid
            batch.save(update_fields=["paid_on"])
        record_event(
            batch,
            BatchEvent.Action.IMPORTED,
            by=by,
            to_status=Status.PAID,
            note=_("%(n)s payments, %(amount)s yuan, from %(file)s.")
            % {"n": term["payments"], "amount": term["amount"], "file": record.filename},
        )
    # Stored last, once everything else is written, so that a refusal leaves no file behind.
    record.file.save(f"{uuid.uuid4().hex}.xlsx", ContentFile(data), save=True)
    return record


def _imported_batch(aid_type: str, school_year: int, term: str, *, by) -> DisbursementBatch:
    """The term's imported batch of the aid, made on its first import; locked while the file is recorded."""
    batch = (
        DisbursementBatch.objects.select_for_update()
        .filter(aid_type=aid_type, school_year=school_year, term=term)
        .first()
    )
    if batch is None:
        try:
            with transaction.atomic():
                batch = DisbursementBatch.objects.create(
                    aid_type=aid_type,
                    school_year=school_year,
                    term=term,
                    kind=DisbursementBatch.Kind.IMPORTED,
                    status=Status.PAID,
                    eligibility_date=term_start(school_year, term),
                    created_by=by,
                )
        except IntegrityError as exc:
            raise ValidationError(
                _("A batch for this aid and term was made meanwhile: check the file again.")
            ) from exc
    if not batch.is_imported:
        # Checked row by row already; a batch drawn since is refused here.
        raise ValidationError(
            _("The %(batch)s was drawn in the portal: its payments are recorded in that batch.")
            % {"batch": batch}
        )
    return batch
