"""Reads of the aid area: quota status, who a draw would take, payment and loan totals (no writes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from students.models import Student
from subsidies import eligibility, facts
from subsidies.models import (
    AidExclusionGroup,
    AidPolicy,
    AidQuota,
    AidType,
    DisbursementBatch,
    Payment,
)

Status = DisbursementBatch.Status


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


def terms_received(student_ids, aid_type: str, school_year: int, term: str) -> dict[int, int]:
    rows = (
        Payment.objects.filter(student_id__in=student_ids, aid_type=aid_type)
        .exclude(school_year=school_year, term=term)
        .exclude(status=Payment.Status.HELD)
        .values("student_id")
        .annotate(n=Count("pk"))
    )
    return {r["student_id"]: r["n"] for r in rows}


def categories_on(student_ids, on: date) -> dict[int, set[str]]:
    return facts.categories_on(student_ids, on)


def exclusive_with(aid_type: str) -> dict[str, AidExclusionGroup]:
    """The other aid types that exclude `aid_type` (same exclusion group), each with its group."""
    others: dict[str, AidExclusionGroup] = {}
    for group in AidExclusionGroup.objects.sharing_with(aid_type).order_by("code"):
        for other in group.aid_types:
            if other != aid_type:
                others.setdefault(other, group)
    return others


@dataclass
class Taken:
    """Another aid of the same exclusion group that a student has (paid, pending or failed) in a term."""

    aid_type: str
    group: AidExclusionGroup

    @property
    def aid_label(self) -> str:
        return str(AidType(self.aid_type).label)


def group_taken(student_ids, aid_type: str, school_year: int, term: str) -> dict[int, Taken]:
    """Student id -> the aid that excludes `aid_type` for them this term (what the database would refuse)."""
    others = exclusive_with(aid_type)
    if not others:
        return {}
    rows = (
        Payment.objects.filter(
            student_id__in=student_ids, school_year=school_year, term=term, aid_type__in=list(others)
        )
        .exclude(status=Payment.Status.HELD)
        .values_list("student_id", "aid_type")
    )
    return {student_id: Taken(other, others[other]) for student_id, other in rows}


def unset_amounts(aid_type: str, on: date) -> list[AidPolicy]:
    """The rows of `aid_type` valid on `on` whose amount the county has not entered (a batch refuses them)."""
    return list(AidPolicy.objects.valid_on(on).filter(aid_type=aid_type, amount__isnull=True))


def draw_candidate_ids(stages, on: date, students=None) -> list[int]:
    """Students who may have been in one of `stages` on `on`: in it now, or recorded in it by then."""
    qs = students if students is not None else Student.objects.all()
    then = Student.pgh_event_model.objects.filter(stage__in=stages, pgh_created_at__lt=facts.end_of(on))
    return list(
        qs.filter(Q(stage__in=stages) | Q(pk__in=then.values("pgh_obj_id")))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def draw(
    *, aid_type: str, school_year: int, term: str, on: date, students=None, left_out: dict | None = None
) -> list[tuple[Student, Any]]:
    """(student, decision) for every student enrolled on `on` who is granted `aid_type` on `on`, read on the
    student's facts of that date (no writes). Left out, and counted in `left_out` when given: students who
    already have another aid of the same exclusion group this term ("taken"), and students who qualify but
    whose amount is not known ("unknown": the school's fee is not recorded)."""
    left_out = left_out if left_out is not None else {}
    left_out.update(taken=0, unknown=0)
    policies = eligibility.policies_on(on)
    stages = {p.stage for p in policies if p.aid_type == aid_type}
    if not stages:
        return []
    ids = draw_candidate_ids(stages, on, students)
    state = {
        pk: f
        for pk, f in facts.facts_on(ids, on).items()
        if f.stage in stages and f.status == Student.Status.ENROLLED
    }
    candidates = Student.objects.filter(pk__in=list(state)).order_by("pk")
    received = terms_received(list(state), aid_type, school_year, term)
    taken = group_taken(list(state), aid_type, school_year, term)
    granted = []
    for student in candidates:
        decision = next(
            (
                d
                for d in eligibility.eligible_aids(
                    student,
                    on,
                    policies=policies,
                    facts=state[student.pk],
                    terms_received={aid_type: received.get(student.pk, 0)},
                )
                if d.aid_type == aid_type
            ),
            None,
        )
        if decision is None:
            continue
        if not decision.payable:
            left_out["unknown"] += 1
        elif student.pk in taken:
            left_out["taken"] += 1
        else:
            granted.append((student, decision))
    return granted


def draw_candidates(*, aid_type: str, on: date) -> int:
    """How many students a draw would look at (decides whether the page draws now or in a task)."""
    stages = {p.stage for p in eligibility.policies_on(on) if p.aid_type == aid_type}
    return Student.objects.enrolled().filter(stage__in=stages).count()


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


def loan_totals(loans) -> list[dict]:
    return list(
        loans.values("school_year")
        .annotate(n=Count("pk"), amount=Sum("amount"), top_up=Sum("top_up"))
        .order_by("-school_year")
    )
