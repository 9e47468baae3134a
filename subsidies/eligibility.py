"""The eligibility rule: which aid a student qualifies for on a date, how much per term, and why (or why not).

The rules are data (AidPolicy rows); this module only reads them. It uses the student's facts on the date
(school, stage, grade, boarding, status, major, categories and the confirmed level of needy-student
identification: subsidies.facts) and the policy rows valid on
the date, so the same question asked about last year gets last year's answer. Callers that decide for many
students at once pass the policies, facts and terms already received, so that one batch costs a handful of
queries.

A student may qualify for an aid whose amount is not known yet: a row the paper gives no figure for (the
county enters it), or a fee waiver capped at the school's actual fee that is not recorded. Such a decision is
eligible but not payable (`amount_per_term` is None): no batch pays it, and data matching reports it.

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
from subsidies.facts import StudentFacts, facts_on
from subsidies.models import AidPolicy, IdentificationLevel, PayeeKind, term_of, term_share


class Code:
    MATCHED = "matched"
    NOT_ENROLLED = "not_enrolled"
    GRADE = "grade"
    NOT_RURAL = "not_rural"
    NOT_INCLUSIVE = "not_inclusive"
    NOT_AGRICULTURAL = "not_agricultural"
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


def _levels_label(values: Iterable[str]) -> str:
    return "、".join(str(IdentificationLevel(v).label) for v in values)


@dataclass
class Decision:
    policy: AidPolicy
    eligible: bool
    code: str
    category: str = ""
    # The confirmed identification level the student qualified by (when no category of the row applied).
    level: str = ""
    # None: qualifies, but the amount is not known yet (see `unknown` in facts); never paid as a guess.
    amount_per_term: Decimal | None = field(default_factory=lambda: Decimal("0.00"))
    payee: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    # The student as they were on the date decided (school, stage, ...): a payment records these.
    state: StudentFacts | None = None

    @property
    def aid_type(self) -> str:
        return self.policy.aid_type

    @property
    def payable(self) -> bool:
        return self.eligible and self.amount_per_term is not None

    @property
    def unknown_amount_reason(self) -> str:
        """Why the amount is not known, or ""."""
        if self.facts.get("unknown") == "fee":
            return _("the school's preschool fee (保教费) is not recorded")
        if self.facts.get("unknown") == "amount":
            return _("its amount is not set: the county enters it in the policy table")
        return ""

    @property
    def reason(self) -> str:
        """Why (or why not), naming the category and the rule, in the active language."""
        f = self.facts
        p = {"rule": str(self.policy)}
        code = self.code
        if code == Code.MATCHED and self.amount_per_term is None:
            p |= {"why": self.unknown_amount_reason}
            if self.category:
                p["category"] = _category_label(self.category)
                return (
                    _("Qualifies as %(category)s under “%(rule)s”, but it cannot be paid yet: %(why)s.") % p
                )
            return _("Qualifies under “%(rule)s”, but it cannot be paid yet: %(why)s.") % p
        if code == Code.MATCHED:
            p |= {"amount": self.amount_per_term, "payee": PayeeKind(self.payee).label}
            if self.level:
                p["level"] = IdentificationLevel(self.level).label
                return (
                    _(
                        "Qualifies as identified “%(level)s” (confirmed by the county) under “%(rule)s”: "
                        "%(amount)s yuan this term, paid to %(payee)s."
                    )
                    % p
                )
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
        if code == Code.NOT_INCLUSIVE:
            return _("“%(rule)s” runs in inclusive (普惠) kindergartens only.") % p
        if code == Code.NOT_AGRICULTURAL:
            return _("“%(rule)s” is for agricultural majors.") % p
        if code == Code.BOARDING:
            if self.policy.boarding == AidPolicy.Boarding.BOARDER:
                return _("“%(rule)s” is for boarders; the student does not board.") % p
            return _("“%(rule)s” is for non-boarders; the student boards.") % p
        if code == Code.EXCLUDED:
            p["category"] = _category_label(f["category"])
            return _("Excluded from “%(rule)s” as %(category)s.") % p
        if code == Code.NO_CATEGORY:
            p["categories"] = _categories_label(self.policy.categories)
            if self.policy.levels:
                p["levels"] = _levels_label(self.policy.levels)
                if not self.policy.categories:
                    return (
                        _(
                            "“%(rule)s” is for students identified as %(levels)s; the student has no such "
                            "confirmed level on this date."
                        )
                        % p
                    )
                return (
                    _(
                        "None of the categories of “%(rule)s” applies on this date (%(categories)s), nor a "
                        "confirmed identification as %(levels)s."
                    )
                    % p
                )
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


def _payee(policy: AidPolicy, facts: StudentFacts) -> str:
    if policy.payee == AidPolicy.Payee.SCHOOL_IF_MEALS:
        return PayeeKind.SCHOOL if facts.school.has_canteen else PayeeKind.PERSON
    return policy.payee


def _amount_per_term(policy: AidPolicy, facts: StudentFacts, term: str) -> tuple[Decimal | None, str]:
    """The term's amount and, when it is not known, what is missing ("amount" or "fee"): the term's share of
    the year's (`term_share`: the two terms add up to the year's amount, a fee to the fen)."""
    if policy.amount is None:
        return None, "amount"
    per_year = policy.amount_per_year
    if policy.fee_capped:
        fee = facts.school.preschool_fee
        if fee is None:
            return None, "fee"
        per_year = min(per_year, fee)
    return term_share(per_year, term), ""


def _check_row(
    policy: AidPolicy, facts: StudentFacts, categories: set[str], terms_received: dict[str, int], term: str
) -> Decision:
    def refused(code: str, **found) -> Decision:
        return Decision(policy=policy, eligible=False, code=code, facts=found)

    if facts.status != Student.Status.ENROLLED:
        return refused(Code.NOT_ENROLLED, status=facts.status)
    if (policy.grade_min and facts.grade < policy.grade_min) or (
        policy.grade_max and facts.grade > policy.grade_max
    ):
        return refused(Code.GRADE, grade=facts.grade)
    if policy.rural_only and not facts.school.is_rural:
        return refused(Code.NOT_RURAL)
    if policy.inclusive_only and not facts.school.is_inclusive:
        return refused(Code.NOT_INCLUSIVE)
    if policy.agricultural_only and not facts.is_agricultural_major:
        return refused(Code.NOT_AGRICULTURAL)
    if policy.boarding == AidPolicy.Boarding.BOARDER and not facts.is_boarding:
        return refused(Code.BOARDING)
    if policy.boarding == AidPolicy.Boarding.NON_BOARDER and facts.is_boarding:
        return refused(Code.BOARDING)
    excluded = next((c for c in policy.excluded_categories if c in categories), None)
    if excluded:
        return refused(Code.EXCLUDED, category=excluded)
    matched = level = ""
    if policy.categories or policy.levels:
        matched = next((c for c in policy.categories if c in categories), "")
        # A category of another department's list comes first; else the school's identified level.
        if not matched and facts.level in policy.levels:
            level = facts.level
        if not matched and not level:
            return refused(Code.NO_CATEGORY)
    received = terms_received.get(policy.aid_type, 0)
    if policy.max_terms is not None and received >= policy.max_terms:
        return refused(Code.DURATION, received=received)
    amount, unknown = _amount_per_term(policy, facts, term)
    return Decision(
        policy=policy,
        eligible=True,
        code=Code.MATCHED,
        category=matched,
        level=level,
        amount_per_term=amount,
        payee=_payee(policy, facts),
        facts={"unknown": unknown} if unknown else {},
    )


def policies_on(on: date) -> list[AidPolicy]:
    return list(AidPolicy.objects.valid_on(on))


def _rank(decision: Decision) -> Decimal:
    return decision.amount_per_term if decision.amount_per_term is not None else Decimal("-1")


def evaluate(
    student: Student,
    on: date,
    *,
    policies: Iterable[AidPolicy] | None = None,
    facts: StudentFacts | None = None,
    categories: set[str] | None = None,
    terms_received: dict[str, int] | None = None,
) -> list[Decision]:
    """Every policy row valid on `on` for the student's stage on that date, each decided with its reason.

    `facts`: the student's facts on `on` (subsidies.facts.facts_on), read here when not given; `categories`
    replaces their categories (data matching adds the category a list confirms).
    `terms_received`: aid type -> terms already aided before this one (for duration limits).
    Among rows of one aid type (tiers) only the highest qualifying amount is granted; an aid that replaces
    another (preschool nutrition 800 over living 660, free lunch over the nutrition plan) takes its place.
    """
    if policies is None:
        policies = policies_on(on)
    if facts is None:
        facts = facts_on([student.pk], on, categories=categories is None)[student.pk]
    if categories is None:
        categories = facts.categories
    terms_received = terms_received or {}
    rows = [
        p
        for p in policies
        if p.stage == facts.stage and p.valid_from <= on and (p.valid_to is None or p.valid_to >= on)
    ]
    term = term_of(on)[1]
    decisions = [_check_row(p, facts, categories, terms_received, term) for p in rows]
    for d in decisions:
        d.state = facts

    best: dict[str, Decision] = {}
    for d in decisions:
        if d.eligible and (d.aid_type not in best or _rank(d) > _rank(best[d.aid_type])):
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
