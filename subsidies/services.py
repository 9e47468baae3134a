"""Writes of the aid area. Each checks the acting user's role and scope, then writes atomically.

Batches move forward only (draft -> approved -> paid); every step is a BatchEvent with who and when, and
pghistory keeps the row changes. The database forbids paying one aid twice to a student in a term.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.access import can_keep_out_of_county_ledger, scope_of
from students.models import Student, StudentCategory
from subsidies import eligibility
from subsidies.models import (
    AidPolicy,
    AidQuota,
    BankAccount,
    BatchEvent,
    CreditLoan,
    DisbursementBatch,
    OutOfCountyStudent,
    Payment,
    Term,
    term_start,
)

Status = DisbursementBatch.Status


def require_bureau(by) -> None:
    if by is None or not getattr(by, "is_bureau", False):
        raise PermissionDenied(_("Only bureau staff may do this."))


def term_end(school_year: int, term: str) -> date:
    return date(school_year + 1, 1, 31) if term == Term.AUTUMN else date(school_year + 1, 7, 31)


# --- Policy table -------------------------------------------------------------------------------------

POLICY_FIELDS = (
    "aid_type",
    "stage",
    "tier",
    "categories",
    "excluded_categories",
    "boarding",
    "rural_only",
    "grade_min",
    "grade_max",
    "unit",
    "amount",
    "days_per_year",
    "payee",
    "max_terms",
    "supersedes",
    "valid_from",
    "valid_to",
    "note",
    "source",
)
# What may still change on a row that money was paid from: closing it, and its notes.
PAID_ROW_MUTABLE = ("valid_to", "note", "source")


def _clean_policy(policy: AidPolicy) -> None:
    errors: dict[str, list[str]] = {}
    if policy.amount is not None and policy.amount < 0:
        errors["amount"] = [_("The amount may not be negative.")]
    if policy.valid_from and policy.valid_to and policy.valid_to < policy.valid_from:
        errors["valid_to"] = [_("The end date is before the start date.")]
    if policy.grade_min and policy.grade_max and policy.grade_max < policy.grade_min:
        errors["grade_max"] = [_("The last grade is before the first grade.")]
    if errors:
        raise ValidationError(errors)
    overlapping = AidPolicy.objects.filter(
        aid_type=policy.aid_type, stage=policy.stage, tier=policy.tier
    ).exclude(pk=policy.pk)
    overlapping = overlapping.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=policy.valid_from))
    if policy.valid_to:
        overlapping = overlapping.filter(valid_from__lte=policy.valid_to)
    if overlapping.exists():
        raise ValidationError(
            {
                "valid_from": _(
                    "Another standard for the same aid, stage and tier applies on some of these dates: "
                    "close it (end date) before adding the new one."
                )
            }
        )
    policy.full_clean()


@transaction.atomic
def policy_create(*, by, **fields: Any) -> AidPolicy:
    require_bureau(by)
    policy = AidPolicy(**{k: v for k, v in fields.items() if k in POLICY_FIELDS})
    _clean_policy(policy)
    policy.save()
    return policy


@transaction.atomic
def policy_update(*, policy: AidPolicy, by, **fields: Any) -> AidPolicy:
    """Edit a row. A row that money was paid from keeps its standard: close it and add a new row, so that
    changing next year's standard never changes what was paid last year."""
    require_bureau(by)
    policy = AidPolicy.objects.select_for_update().get(pk=policy.pk)
    changed = {k: v for k, v in fields.items() if k in POLICY_FIELDS and getattr(policy, k) != v}
    if policy.payments.exists():
        frozen = sorted(set(changed) - set(PAID_ROW_MUTABLE))
        if frozen:
            raise ValidationError(
                _(
                    "Aid has been paid under this standard, so it cannot be changed (%(fields)s). "
                    "Give it an end date and add a new row for the new standard."
                )
                % {"fields": ", ".join(str(AidPolicy._meta.get_field(f).verbose_name) for f in frozen)}
            )
        last_paid = policy.payments.order_by("-school_year", "-term").values("school_year", "term").first()
        new_end = changed.get("valid_to")
        if last_paid and new_end and new_end < term_start(last_paid["school_year"], last_paid["term"]):
            raise ValidationError(
                {"valid_to": _("Aid was paid under this standard after that date; choose a later end date.")}
            )
    for key, value in changed.items():
        setattr(policy, key, value)
    _clean_policy(policy)
    policy.save()
    return policy


# --- Quotas -------------------------------------------------------------------------------------------


@dataclass
class QuotaStatus:
    allocated: Decimal | None
    drawn: Decimal
    remaining: Decimal | None

    @property
    def exceeded(self) -> bool:
        return self.remaining is not None and self.remaining < 0


def quota_status(*, aid_type: str, school_year: int, term: str, extra: Decimal = Decimal("0")) -> QuotaStatus:
    quota = AidQuota.objects.filter(aid_type=aid_type, school_year=school_year, term=term).first()
    drawn = (
        Payment.objects.filter(aid_type=aid_type, school_year=school_year, term=term).payable().total()
        + extra
    )
    if quota is None:
        return QuotaStatus(allocated=None, drawn=drawn, remaining=None)
    return QuotaStatus(allocated=quota.amount, drawn=drawn, remaining=quota.amount - drawn)


def quota_status_of(quota: AidQuota) -> QuotaStatus:
    """The status of a quota read from `AidQuota.objects.with_drawn()` (no query), else asked for."""
    if not hasattr(quota, "drawn"):
        return quota_status(aid_type=quota.aid_type, school_year=quota.school_year, term=quota.term)
    return QuotaStatus(allocated=quota.amount, drawn=quota.drawn, remaining=quota.amount - quota.drawn)


@transaction.atomic
def quota_set(*, aid_type: str, school_year: int, term: str, amount: Decimal, by, note: str = "") -> AidQuota:
    require_bureau(by)
    quota = AidQuota.objects.filter(
        aid_type=aid_type, school_year=school_year, term=term
    ).first() or AidQuota(aid_type=aid_type, school_year=school_year, term=term)
    quota.amount = amount
    quota.note = note
    quota.full_clean()
    quota.save()
    return quota


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


def _terms_received(student_ids, aid_type: str, school_year: int, term: str) -> dict[int, int]:
    rows = (
        Payment.objects.filter(student_id__in=student_ids, aid_type=aid_type)
        .exclude(school_year=school_year, term=term)
        .exclude(status=Payment.Status.HELD)
        .values("student_id")
        .annotate(n=Count("pk"))
    )
    return {r["student_id"]: r["n"] for r in rows}


def _categories_on(student_ids, on: date) -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for student_id, category in (
        StudentCategory.objects.filter(student_id__in=student_ids)
        .on(on)
        .values_list("student_id", "category")
    ):
        found[student_id].add(category)
    return found


def draw(*, aid_type: str, school_year: int, term: str, on: date, students=None) -> list[tuple[Student, Any]]:
    """(student, decision) for every enrolled student granted `aid_type` on `on` (no writes)."""
    policies = eligibility.policies_on(on)
    stages = {p.stage for p in policies if p.aid_type == aid_type}
    if not stages:
        return []
    qs = students if students is not None else Student.objects.all()
    candidates = list(qs.enrolled().filter(stage__in=stages).select_related("school").order_by("pk"))
    ids = [s.pk for s in candidates]
    categories = _categories_on(ids, on)
    received = _terms_received(ids, aid_type, school_year, term)
    granted = []
    for student in candidates:
        decision = next(
            (
                d
                for d in eligibility.eligible_aids(
                    student,
                    on,
                    policies=policies,
                    categories=categories.get(student.pk, set()),
                    terms_received={aid_type: received.get(student.pk, 0)},
                )
                if d.aid_type == aid_type
            ),
            None,
        )
        if decision is not None:
            granted.append((student, decision))
    return granted


def _payment(batch: DisbursementBatch, student: Student, decision) -> Payment:
    return Payment(
        batch=batch,
        student=student,
        aid_type=batch.aid_type,
        school_year=batch.school_year,
        term=batch.term,
        school=student.school,
        stage=student.stage,
        policy=decision.policy,
        category=decision.category,
        amount=decision.amount_per_term,
        payee=decision.payee,
        reason=decision.reason[:300],
    )


@transaction.atomic
def batch_create(
    *, aid_type: str, school_year: int, term: str, by, on: date | None = None
) -> DisbursementBatch:
    """An empty draft batch for a term, drawn on `on` (default: the first day of the term)."""
    require_bureau(by)
    on = on or term_start(school_year, term)
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


@transaction.atomic
def batch_draw(*, batch: DisbursementBatch, by) -> int:
    """Fill a draft batch from eligibility on its date. Drawing twice adds nobody twice (the students
    already paid this aid for the term are skipped), so a retried task is harmless."""
    require_bureau(by)
    batch = _lock(batch)
    if batch.status != Status.DRAFT:
        raise ValidationError(_("Students can only be added while the batch is a draft."))
    already = set(
        Payment.objects.filter(
            aid_type=batch.aid_type, school_year=batch.school_year, term=batch.term
        ).values_list("student_id", flat=True)
    )
    payments = [
        _payment(batch, student, decision)
        for student, decision in draw(
            aid_type=batch.aid_type, school_year=batch.school_year, term=batch.term, on=batch.eligibility_date
        )
        if student.pk not in already
    ]
    Payment.objects.bulk_create(payments, batch_size=2000)
    record_event(
        batch,
        BatchEvent.Action.GENERATED,
        by=by,
        to_status=Status.DRAFT,
        note=_("%(n)s students drawn by eligibility on %(date)s.")
        % {"n": len(payments), "date": batch.eligibility_date},
    )
    return len(payments)


@transaction.atomic
def batch_generate(
    *, aid_type: str, school_year: int, term: str, by, on: date | None = None
) -> DisbursementBatch:
    """Create a term's batch and draw it at once (a county of Ningdu's size draws in a Celery task)."""
    batch = batch_create(aid_type=aid_type, school_year=school_year, term=term, by=by, on=on)
    batch_draw(batch=batch, by=by)
    return batch


def draw_candidates(*, aid_type: str, on: date) -> int:
    """How many students a draw would look at (decides whether the page draws now or in a task)."""
    stages = {p.stage for p in eligibility.policies_on(on) if p.aid_type == aid_type}
    return Student.objects.enrolled().filter(stage__in=stages).count()


def _lock(batch: DisbursementBatch) -> DisbursementBatch:
    return DisbursementBatch.objects.select_for_update().get(pk=batch.pk)


def _check_student_scope(student: Student, by) -> None:
    if not Student.objects.editable_by(by).filter(pk=student.pk).exists():
        raise PermissionDenied(_("You may not change this student's aid."))


@transaction.atomic
def batch_add_student(*, batch: DisbursementBatch, student: Student, reason: str, by) -> Payment:
    """Review: add a student the draw missed (a category recorded late, a transfer). Still by the rules."""
    _check_student_scope(student, by)
    batch = _lock(batch)
    if batch.status != Status.DRAFT:
        raise ValidationError(_("Students can only be added while the batch is a draft."))
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for adding the student.")})
    on = max(batch.eligibility_date, min(timezone.localdate(), term_end(batch.school_year, batch.term)))
    received = _terms_received([student.pk], batch.aid_type, batch.school_year, batch.term)
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
    payment = _payment(batch, student, decision)
    payment.full_clean()
    payment.save()
    record_event(batch, BatchEvent.Action.ADDED, by=by, student=student, note=reason)
    return payment


@transaction.atomic
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
    payment.delete()
    record_event(batch, BatchEvent.Action.REMOVED, by=by, student=student, note=reason)


@transaction.atomic
def batch_approve(
    *, batch: DisbursementBatch, by, on: date | None = None, allow_over_quota: bool = False
) -> DisbursementBatch:
    """Approve a draft. Approving twice is harmless. Eligibility is checked again: a student whose category
    lapsed since the draw is held (not paid), with the reason."""
    require_bureau(by)
    batch = _lock(batch)
    if batch.status == Status.APPROVED:
        return batch
    if batch.status == Status.PAID:
        raise ValidationError(_("This batch is already paid; it cannot be approved again."))
    payments = list(batch.payments.select_related("student__school"))
    if not payments:
        raise ValidationError(_("The batch has no students; there is nothing to approve."))
    on = on or max(batch.eligibility_date, min(timezone.localdate(), term_end(batch.school_year, batch.term)))
    ids = [p.student_id for p in payments]
    policies = eligibility.policies_on(on)
    categories = _categories_on(ids, on)
    received = _terms_received(ids, batch.aid_type, batch.school_year, batch.term)
    held = []
    for payment in payments:
        kwargs = {
            "policies": policies,
            "categories": categories.get(payment.student_id, set()),
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


@transaction.atomic
def payment_release(*, payment: Payment, reason: str, by) -> Payment:
    """A held payment checked by hand and found right after all (e.g. a category renewed late)."""
    require_bureau(by)
    payment = Payment.objects.select_for_update().select_related("batch").get(pk=payment.pk)
    if payment.status != Payment.Status.HELD or payment.batch.status != Status.APPROVED:
        raise ValidationError(_("Only a held payment of an approved batch can be released."))
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for releasing the payment.")})
    payment.status = Payment.Status.PENDING
    payment.save(update_fields=["status"])
    record_event(payment.batch, BatchEvent.Action.RELEASED, by=by, student=payment.student, note=reason)
    return payment


@transaction.atomic
def batch_mark_paid(
    *,
    batch: DisbursementBatch,
    bank_reference: str,
    paid_on: date,
    by,
    student_ids: list[int] | None = None,
) -> DisbursementBatch:
    """Record the payment of an approved batch: its pending payments (or the listed students') are paid."""
    require_bureau(by)
    batch = _lock(batch)
    if batch.status == Status.DRAFT:
        raise ValidationError(_("The batch must be approved before it is paid."))
    if not bank_reference.strip():
        raise ValidationError({"bank_reference": _("Give the bank's reference for the transfer.")})
    payments = batch.payments.filter(status=Payment.Status.PENDING)
    if student_ids is not None:
        in_batch = set(batch.payments.filter(student_id__in=student_ids).values_list("student_id", flat=True))
        missing = sorted(set(student_ids) - in_batch)
        if missing:
            names = Student.objects.filter(pk__in=missing).values_list("name", flat=True)
            raise ValidationError(
                _("Not in this batch, so they cannot be paid from it: %(names)s")
                % {"names": "、".join(names) or ", ".join(map(str, missing))}
            )
        payments = payments.filter(student_id__in=student_ids)
    count = payments.update(status=Payment.Status.PAID, bank_reference=bank_reference, paid_on=paid_on)
    previous = batch.status
    if batch.status == Status.APPROVED:
        batch.status = Status.PAID
        batch.bank_reference = bank_reference
        batch.paid_on = paid_on
        batch.save(update_fields=["status", "bank_reference", "paid_on"])
    record_event(
        batch,
        BatchEvent.Action.PAID,
        by=by,
        from_status=previous,
        to_status=batch.status,
        note=_("%(n)s payments paid, reference %(ref)s.") % {"n": count, "ref": bank_reference},
    )
    return batch


@transaction.atomic
def payment_repay(*, payment: Payment, bank_reference: str, paid_on: date, by) -> Payment:
    require_bureau(by)
    payment = Payment.objects.select_for_update().select_related("batch", "student").get(pk=payment.pk)
    if payment.status != Payment.Status.FAILED:
        raise ValidationError(_("Only a failed payment can be paid again."))
    if not bank_reference.strip():
        raise ValidationError({"bank_reference": _("Give the bank's reference for the transfer.")})
    payment.status = Payment.Status.PAID
    payment.bank_reference = bank_reference
    payment.paid_on = paid_on
    payment.failure_reason = ""
    payment.save(update_fields=["status", "bank_reference", "paid_on", "failure_reason"])
    record_event(payment.batch, BatchEvent.Action.REPAID, by=by, student=payment.student, note=bank_reference)
    return payment


# --- Totals -------------------------------------------------------------------------------------------

TOTAL_KEYS = {
    "township": ("school__township_id", "school__township__name"),
    "school": ("school_id", "school__name"),
    "stage": ("stage", None),
    "aid_type": ("aid_type", None),
}


@dataclass
class Totals:
    count: int = 0
    amount: Decimal = Decimal("0.00")
    by: dict[str, list[dict]] = field(default_factory=dict)


def payment_totals(payments) -> Totals:
    """Person-times and amount, overall and by township, school, stage and aid type (the database adds up)."""
    payments = payments.payable()
    overall = payments.aggregate(n=Count("pk"), amount=Sum("amount"))
    totals = Totals(count=overall["n"] or 0, amount=overall["amount"] or Decimal("0.00"))
    for name, (key, label) in TOTAL_KEYS.items():
        fields = [key] + ([label] if label else [])
        rows = payments.values(*fields).annotate(n=Count("pk"), amount=Sum("amount")).order_by(key)
        totals.by[name] = [
            {"key": r[key], "label": r[label] if label else r[key], "count": r["n"], "amount": r["amount"]}
            for r in rows
        ]
    return totals


# --- Bank accounts ------------------------------------------------------------------------------------


@transaction.atomic
def bank_account_set(
    *, student: Student, holder_name: str, bank_name: str, account_number: str, by, relation: str = ""
) -> BankAccount:
    """The student's account from now on; the previous one is kept, no longer in use."""
    _check_student_scope(student, by)
    account = BankAccount(
        student=student,
        holder_name=holder_name.strip(),
        bank_name=bank_name.strip(),
        account_number=account_number.replace(" ", ""),
        relation=relation.strip(),
    )
    account.full_clean(exclude=["student"])
    BankAccount.objects.filter(student=student, is_active=True).update(is_active=False)
    account.save()
    return account


# --- Credit loans -------------------------------------------------------------------------------------


@transaction.atomic
def loan_create(*, by, **fields: Any) -> CreditLoan:
    require_bureau(by)
    loan = CreditLoan(**fields)
    errors: dict[str, list[str]] = {}
    if loan.amount is not None and loan.amount > Decimal("12000"):
        errors["amount"] = [_("The national loan is at most 12,000 yuan a year.")]
    if loan.top_up and loan.top_up > Decimal("8000"):
        errors["top_up"] = [_("The municipal top-up is at most 8,000 yuan a year.")]
    if loan.top_up and not loan.poverty_alleviated:
        errors.setdefault("top_up", []).append(
            _("Only students of poverty-alleviated households may have the municipal top-up.")
        )
    if errors:
        raise ValidationError(errors)
    loan.full_clean()
    try:
        with transaction.atomic():
            loan.save()
    except IntegrityError as exc:
        raise ValidationError(_("This student already has a loan contract for this school year.")) from exc
    return loan


def loan_totals(loans) -> list[dict]:
    return list(
        loans.values("school_year")
        .annotate(n=Count("pk"), amount=Sum("amount"), top_up=Sum("top_up"))
        .order_by("-school_year")
    )


# --- Out-of-county ledger -----------------------------------------------------------------------------


@transaction.atomic
def out_of_county_add(*, by, **fields: Any) -> OutOfCountyStudent:
    if not can_keep_out_of_county_ledger(by):
        raise PermissionDenied(_("Only bureau staff and township officers keep this ledger."))
    line = OutOfCountyStudent(**fields)
    line.full_clean()
    township_id = scope_of(by).township_id
    if township_id is not None and line.home_township_id != township_id:
        raise PermissionDenied(_("You may only record children of your own township."))
    line.save()
    return line


@transaction.atomic
def out_of_county_letters_sent(*, destination_county_code: str, school_year: int, on: date, by) -> int:
    """The letter to a county went out: its pending lines are marked sent."""
    require_bureau(by)
    return OutOfCountyStudent.objects.filter(
        destination_county_code=destination_county_code,
        school_year=school_year,
        follow_up=OutOfCountyStudent.FollowUp.PENDING,
    ).update(follow_up=OutOfCountyStudent.FollowUp.SENT, letter_sent_on=on)


@transaction.atomic
def out_of_county_follow_up(
    *, line: OutOfCountyStudent, follow_up: str, by, note: str = ""
) -> OutOfCountyStudent:
    if not OutOfCountyStudent.objects.editable_by(by).filter(pk=line.pk).exists():
        raise PermissionDenied(_("You may not change this line."))
    order = list(OutOfCountyStudent.FollowUp.values)
    if order.index(follow_up) < order.index(line.follow_up):
        raise ValidationError(_("The follow-up status only moves forward."))
    line.follow_up = follow_up
    if note:
        line.note = note
    line.full_clean()
    line.save()
    return line
