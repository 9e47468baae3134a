"""The eligibility rule: which aid a student qualifies for on a date, how much per term, and why (or why not).

The rules are data (AidPolicy rows); this module only reads them. It uses the student's categories valid on
the date and the policy rows valid on the date, so the same question asked about last year gets last year's
answer. Callers that decide for many students at once pass the policies, categories and terms already
received, so that one batch costs a handful of queries.

A decision carries a code and the facts behind it; its sentence (`reason`) is written only when someone
reads it, in the reader's language — a batch of a hundred thousand students does not pay for sentences
nobody reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from students.models import Student, StudentCategory
from subsidies.models import AidPolicy, PayeeKind


class Code:
    MATCHED = "matched"
    NOT_ENROLLED = "not_enrolled"
    GRADE = "grade"
    NOT_RURAL = "not_rural"
    BOARDING = "boarding"
    EXCLUDED = "excluded"
    NO_CATEGORY = "no_category"
    DURATION = "duration"
    LOWER_TIER = "lower_tier"
    SUPERSEDED = "superseded"


def _category_label(value: str) -> str:
    return str(StudentCategory.Category(value).label)


def _categories_label(values: Iterable[str]) -> str:
    return "、".join(_category_label(c) for c in values)


@dataclass
class Decision:
    policy: AidPolicy
    eligible: bool
    code: str
    category: str = ""
    amount_per_term: Decimal = field(default_factory=lambda: Decimal("0.00"))
    payee: str = ""
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def aid_type(self) -> str:
        return self.policy.aid_type

    @property
    def reason(self) -> str:
        """Why (or why not), naming the category and the rule, in the active language."""
        f = self.facts
        p = {"rule": str(self.policy)}
        code = self.code
        if code == Code.MATCHED:
            p |= {"amount": self.amount_per_term, "payee": PayeeKind(self.payee).label}
            if self.category:
                p["category"] = _category_label(self.category)
                return (
                    _(
                        "Qualifies as %(category)s under “%(rule)s”: %(amount)s yuan this term, paid to %(payee)s."
                    )
                    % p
                )
            return (
                _("Every student qualifies under “%(rule)s”: %(amount)s yuan this term, paid to %(payee)s.")
                % p
            )
        if code == Code.NOT_ENROLLED:
            p["status"] = Student.Status(f["status"]).label
            return _("Not enrolled (%(status)s): “%(rule)s” is for enrolled students.") % p
        if code == Code.GRADE:
            p |= {"grade": f["grade"], "min": self.policy.grade_min or 1, "max": self.policy.grade_max or "—"}
            return _("Grade %(grade)s: “%(rule)s” covers grades %(min)s to %(max)s.") % p
        if code == Code.NOT_RURAL:
            return _("“%(rule)s” runs in rural schools only.") % p
        if code == Code.BOARDING:
            if self.policy.boarding == AidPolicy.Boarding.BOARDER:
                return _("“%(rule)s” is for boarders; the student does not board.") % p
            return _("“%(rule)s” is for non-boarders; the student boards.") % p
        if code == Code.EXCLUDED:
            p["category"] = _category_label(f["category"])
            return _("Excluded from “%(rule)s” as %(category)s.") % p
        if code == Code.NO_CATEGORY:
            p["categories"] = _categories_label(self.policy.categories)
            return _("None of the categories of “%(rule)s” applies on this date (%(categories)s).") % p
        if code == Code.DURATION:
            p |= {"received": f["received"], "max": self.policy.max_terms}
            return _("Already aided for %(received)s terms; “%(rule)s” allows at most %(max)s.") % p
        if code == Code.LOWER_TIER:
            return _("Qualifies, but the higher standard “%(rule)s” applies instead.") % {
                "rule": str(f["instead"])
            }
        return _("Replaced by “%(rule)s”, which applies instead (the higher standard).") % {
            "rule": str(f["instead"])
        }


def _payee(policy: AidPolicy, student: Student) -> str:
    if policy.payee == AidPolicy.Payee.SCHOOL_IF_MEALS:
        return PayeeKind.SCHOOL if student.school.has_canteen else PayeeKind.PERSON
    return policy.payee


def _check_row(
    policy: AidPolicy, student: Student, categories: set[str], terms_received: dict[str, int]
) -> Decision:
    def refused(code: str, **facts) -> Decision:
        return Decision(policy=policy, eligible=False, code=code, facts=facts)

    if student.status != Student.Status.ENROLLED:
        return refused(Code.NOT_ENROLLED, status=student.status)
    if (policy.grade_min and student.grade < policy.grade_min) or (
        policy.grade_max and student.grade > policy.grade_max
    ):
        return refused(Code.GRADE, grade=student.grade)
    if policy.rural_only and not student.school.is_rural:
        return refused(Code.NOT_RURAL)
    if policy.boarding == AidPolicy.Boarding.BOARDER and not student.is_boarding:
        return refused(Code.BOARDING)
    if policy.boarding == AidPolicy.Boarding.NON_BOARDER and student.is_boarding:
        return refused(Code.BOARDING)
    excluded = next((c for c in policy.excluded_categories if c in categories), None)
    if excluded:
        return refused(Code.EXCLUDED, category=excluded)
    matched = ""
    if policy.categories:
        matched = next((c for c in policy.categories if c in categories), "")
        if not matched:
            return refused(Code.NO_CATEGORY)
    received = terms_received.get(policy.aid_type, 0)
    if policy.max_terms is not None and received >= policy.max_terms:
        return refused(Code.DURATION, received=received)
    return Decision(
        policy=policy,
        eligible=True,
        code=Code.MATCHED,
        category=matched,
        amount_per_term=policy.amount_per_term,
        payee=_payee(policy, student),
    )


def policies_on(on: date) -> list[AidPolicy]:
    return list(AidPolicy.objects.valid_on(on))


def evaluate(
    student: Student,
    on: date,
    *,
    policies: Iterable[AidPolicy] | None = None,
    categories: set[str] | None = None,
    terms_received: dict[str, int] | None = None,
) -> list[Decision]:
    """Every policy row valid on `on` for the student's stage, each decided with its reason.

    `terms_received`: aid type -> terms already aided before this one (for duration limits).
    Among rows of one aid type (tiers) only the highest qualifying amount is granted; an aid that replaces
    another (preschool nutrition 800 over living 660, free lunch over the nutrition plan) takes its place.
    """
    if policies is None:
        policies = policies_on(on)
    if categories is None:
        categories = set(
            StudentCategory.objects.filter(student=student).on(on).values_list("category", flat=True)
        )
    terms_received = terms_received or {}
    rows = [
        p
        for p in policies
        if p.stage == student.stage and p.valid_from <= on and (p.valid_to is None or p.valid_to >= on)
    ]
    decisions = [_check_row(p, student, categories, terms_received) for p in rows]

    best: dict[str, Decision] = {}
    for d in decisions:
        if d.eligible and (d.aid_type not in best or d.amount_per_term > best[d.aid_type].amount_per_term):
            best[d.aid_type] = d
    for d in decisions:
        if d.eligible and best[d.aid_type] is not d:
            d.eligible, d.code, d.facts = False, Code.LOWER_TIER, {"instead": best[d.aid_type].policy}
    replaced: dict[str, Decision] = {}
    for d in best.values():
        for aid_type in d.policy.supersedes:
            replaced[aid_type] = d
    for d in decisions:
        if d.eligible and d.aid_type in replaced:
            d.eligible, d.code, d.facts = False, Code.SUPERSEDED, {"instead": replaced[d.aid_type].policy}
    return sorted(decisions, key=lambda d: (d.aid_type, d.policy.tier))


def eligible_aids(student: Student, on: date, **kwargs) -> list[Decision]:
    """The aid a student receives on a date: at most one decision per aid type."""
    return [d for d in evaluate(student, on, **kwargs) if d.eligible]


def decide(student: Student, aid_type: str, on: date, **kwargs) -> Decision | None:
    """The granted decision for one aid type, or None; use `why_not` to learn why."""
    return next((d for d in eligible_aids(student, on, **kwargs) if d.aid_type == aid_type), None)


def why_not(student: Student, aid_type: str, on: date, **kwargs) -> list[Decision]:
    return [d for d in evaluate(student, on, **kwargs) if d.aid_type == aid_type and not d.eligible]
