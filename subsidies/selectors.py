"""Reads of the aid area: quota status, who a draw would take, payment and loan totals (no writes)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum

from students.models import Student, StudentCategory
from subsidies import eligibility
from subsidies.models import (
    AidQuota,
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
    categories = categories_on(ids, on)
    received = terms_received(ids, aid_type, school_year, term)
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
