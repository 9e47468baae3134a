"""Reads of the aid area: quota status, who a draw would take, payment and loan totals, a batch's
reconciliation with the bank, the parents' notices (告知书), the identified needy students of a school year
(no writes)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, DateField, Exists, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from students.models import Enrollment, Student, StudentCategory
from subsidies import eligibility, facts
from subsidies.models import (
    FEN,
    AidExclusionGroup,
    AidPolicy,
    AidQuota,
    AidType,
    BankAccount,
    DisbursementBatch,
    Identification,
    PayeeKind,
    Payment,
    school_year_bounds,
    term_end,
    term_label,
    term_start,
)

Status = DisbursementBatch.Status
ZERO = Decimal("0.00")


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
    """Students who may have been in one of `stages` on `on`: in it now, or on the register in it by then
    (`facts.facts_on` then reads which stage they were in on the day)."""
    qs = students if students is not None else Student.objects.all()
    then = Enrollment.objects.filter(stage__in=stages, valid_from__lte=on)
    return list(
        qs.filter(Q(stage__in=stages) | Q(pk__in=then.values("student_id")))
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


# --- Approved, not yet paid (the dashboards' red light and the batch list's filter) -----------------------


def awaiting_payment(payments):
    """Payments of approved batches whose money has not reached the family or school yet: not yet sent, or
    at the bank without its result (failed transfers have their own count)."""
    return payments.filter(
        batch__status=Status.APPROVED, status__in=[Payment.Status.PENDING, Payment.Status.SENT]
    )


def batches_awaiting_payment(batches, payments):
    """Approved batches holding a payment of `payments` not yet paid (the red light counts these)."""
    return batches.filter(pk__in=awaiting_payment(payments).values("batch_id"))


# --- Totals -------------------------------------------------------------------------------------------

TOTAL_KEYS = {
    "township": ("school__township_id", "school__township__name"),
    "school": ("school_id", "school__name"),
    "stage": ("stage", None),
    "aid_type": ("aid_type", None),
}
PAID = Q(status=Payment.Status.PAID)


@dataclass
class Totals:
    """`count`/`amount`: what the batch drew (held payments aside); `paid_count`/`paid_amount`: what the bank
    (or the transfer to schools) has paid of it. Money is reported as received only from the paid figures."""

    count: int = 0
    amount: Decimal = Decimal("0.00")
    paid_count: int = 0
    paid_amount: Decimal = Decimal("0.00")
    by: dict[str, list[dict]] = field(default_factory=dict)


def payment_totals(payments) -> Totals:
    """Person-times and amount drawn and paid, overall and by township, school, stage and aid type (the
    database adds up)."""
    payments = payments.payable()
    measures = {
        "n": Count("pk"),
        "drawn": Sum("amount", default=ZERO),
        "paid_n": Count("pk", filter=PAID),
        "paid": Sum("amount", filter=PAID, default=ZERO),
    }
    overall = payments.aggregate(**measures)
    totals = Totals(
        count=overall["n"], amount=overall["drawn"], paid_count=overall["paid_n"], paid_amount=overall["paid"]
    )
    for name, (key, label) in TOTAL_KEYS.items():
        fields = [key] + ([label] if label else [])
        rows = payments.values(*fields).annotate(**measures).order_by(key)
        # Stage and aid type are stored as codes: the label is the choice's, as the pages name it.
        choices = {} if label else dict(payments.model._meta.get_field(key).flatchoices)
        totals.by[name] = [
            {
                "key": r[key],
                "label": r[label] if label else str(choices.get(r[key], r[key])),
                "count": r["n"],
                "amount": r["drawn"],
                "paid_count": r["paid_n"],
                "paid_amount": r["paid"],
            }
            for r in rows
        ]
    return totals


# --- Reconciliation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    count: int = 0
    amount: Decimal = ZERO


@dataclass(frozen=True)
class Reconciliation:
    """A batch's money, to the fen: drawn = paid + failed + pending + unsent.

    drawn: every payment that counts (held ones aside); paid: paid by the bank's result, by hand with a reason,
    or by the transfer to schools; failed: returned by the bank, not yet re-paid; pending: in a bank file,
    the bank's result not yet back (status "sent"); unsent: not yet in a bank file or transfer (status
    "pending"), of which `no_account` are family payments without a bank account (待补录账户).
    """

    drawn: Line
    paid: Line
    failed: Line
    pending: Line
    unsent: Line
    no_account: Line

    @property
    def balanced(self) -> bool:
        parts = (self.paid, self.failed, self.pending, self.unsent)
        return self.drawn.amount == sum((p.amount for p in parts), ZERO) and self.drawn.count == sum(
            p.count for p in parts
        )


RECONCILIATION_PARTS = {
    "paid": Q(status=Payment.Status.PAID),
    "failed": Q(status=Payment.Status.FAILED),
    "pending": Q(status=Payment.Status.SENT),
    "unsent": Q(status=Payment.Status.PENDING),
    "no_account": Q(status=Payment.Status.PENDING, payee=PayeeKind.PERSON, has_account=False),
}


def has_account():
    return Exists(BankAccount.objects.filter(student=OuterRef("student_id"), is_active=True))


def reconciliation(payments) -> Reconciliation:
    """The reconciliation of `payments` (a batch's, or the user's visible part of it), in one query."""
    measures = {"drawn_n": Count("pk"), "drawn": Sum("amount", default=ZERO)}
    for name, condition in RECONCILIATION_PARTS.items():
        measures[f"{name}_n"] = Count("pk", filter=condition)
        measures[name] = Sum("amount", filter=condition, default=ZERO)
    row = payments.payable().annotate(has_account=has_account()).aggregate(**measures)
    return Reconciliation(
        **{name: Line(row[f"{name}_n"], row[name].quantize(FEN)) for name in ("drawn", *RECONCILIATION_PARTS)}
    )


def approval_figures(batch: DisbursementBatch) -> tuple[int, Decimal]:
    """What approving a batch approves: its payable payments, how many and how much (the figures a clerk
    confirms, and the API's `expected_count` / `expected_amount` are checked against)."""
    totals = batch.payments.payable().aggregate(n=Count("pk"), amount=Sum("amount", default=ZERO))
    return totals["n"], totals["amount"]


def approval_fingerprint(batch: DisbursementBatch) -> str:
    """A digest of exactly what approving a batch approves: each payable payment, its student and amount.
    Two students swapped for two others with the same amount keep `approval_figures` but not this; the
    confirmation page carries it, the batch detail API returns it (`fingerprint`)."""
    rows = batch.payments.payable().order_by("pk").values_list("pk", "student_id", "amount")
    text = "\n".join(f"{pk}:{student}:{amount}" for pk, student, amount in rows)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def bank_file_name(batch: DisbursementBatch, number: int | None) -> str:
    """What a bank file downloads as: each file of a batch under its own name (代发_<batch>_第2号.xlsx)."""
    return f"代发_{batch}_第{number}号.xlsx" if number else f"代发_{batch}.xlsx"


def bank_files(batch: DisbursementBatch):
    """The batch's bank files, each with its number of payments, amount and how many came back paid/failed."""
    lines = "lines__outcome"
    return batch.bank_files.select_related("made_by").annotate(
        line_count=Count("lines"),
        amount=Sum("lines__amount", default=ZERO),
        paid=Count("lines", filter=Q(**{lines: "paid"})),
        failed=Count("lines", filter=Q(**{lines: "failed"})),
        awaiting=Count("lines", filter=Q(**{lines: "sent"})),
    )


# --- Notification letters (告知书) ---------------------------------------------------------------------


def not_received_label(payment) -> str:
    """What a parent is told about money not (yet) received."""
    if payment.status == Payment.Status.FAILED:
        return _("Returned by the bank, to be paid again")
    if payment.status == Payment.Status.SENT:
        return _("Sent to the bank, not yet confirmed")
    if payment.payee == PayeeKind.PERSON and not getattr(payment, "has_account", True):
        return _("Awaiting a bank account")
    return _("Not yet paid out")


def letters(payments) -> list[dict]:
    """One letter per student and term: the aid received (paid money only) and its total, and apart from it
    the aid not yet received (failed, at the bank, unsent), each with what it is waiting for."""
    grouped: dict[tuple, list[Payment]] = defaultdict(list)
    for p in (
        (payments.paid() | payments.owed())
        .annotate(has_account=has_account())
        .select_related("student", "school")
        .order_by("school__code", "student__name", "student_id", "school_year", "term", "aid_type")
    ):
        grouped[(p.student_id, p.school_year, p.term)].append(p)
    found = []
    for (_student, year, term), items in grouped.items():
        received = [p for p in items if p.status == Payment.Status.PAID]
        waiting = [p for p in items if p.status != Payment.Status.PAID]
        for p in waiting:
            p.waiting_for = not_received_label(p)
        found.append(
            {
                "student": items[0].student,
                "school": items[0].school,
                "school_year": year,
                "term": term,
                "term_label": term_label(year, term),
                "received": received,
                "received_total": sum((p.amount for p in received), start=ZERO),
                "not_received": waiting,
                "not_received_total": sum((p.amount for p in waiting), start=ZERO),
            }
        )
    return found


def loan_totals(loans) -> list[dict]:
    return list(
        loans.values("school_year")
        .annotate(n=Count("pk"), amount=Sum("amount"), top_up=Sum("top_up"))
        .order_by("-school_year")
    )


def university_aid_totals(aid) -> list[dict]:
    """Aid to university students by school year and kind: grants, students and amount."""
    return list(
        aid.values("school_year", "kind")
        .annotate(n=Count("pk"), students=Count("student", distinct=True), amount=Sum("amount"))
        .order_by("-school_year", "kind")
    )


def social_aid_totals(grants) -> list[dict]:
    """Social aid by programme: grants (人次), students (人) and amount."""
    return list(
        grants.values("programme_id", "programme__name", "programme__donor")
        .annotate(
            n=Count("pk"),
            students=Count("student", distinct=True) + Count("university_student", distinct=True),
            amount=Sum("amount"),
        )
        .order_by("programme__name")
    )


def batch_letters(batch: DisbursementBatch, visible) -> list[dict]:
    """The letters of a batch's students for its term (every aid of the term, not this batch's only), over
    `visible` (the user's payments)."""
    students = visible.payable().filter(batch=batch).values("student_id")
    return letters(visible.filter(student_id__in=students, school_year=batch.school_year, term=batch.term))


def student_letters(student, school_year: int, term: str, visible) -> list[dict]:
    return letters(visible.filter(student=student, school_year=school_year, term=term))


# --- Eligible, not aided (the principal's home page) -------------------------------------------------------


@dataclass
class Unaided:
    """A child the eligibility rule grants an aid this term who has no payment of it (nor of an aid of the same
    exclusion group) this term: 应助尽助 asks why."""

    student_id: int
    decision: Any

    @property
    def aid_type(self) -> str:
        return self.decision.aid_type


def eligible_unaided(
    states: dict[int, dict],
    schools: dict,
    categories: dict[int, set[str]],
    on: date,
    *,
    taken: dict[int, set[str]],
    received: dict[int, dict[str, int]],
    policies: list[AidPolicy] | None = None,
    groups: list[AidExclusionGroup] | None = None,
    levels: dict[int, str] | None = None,
) -> list[Unaided]:
    """Each aid the eligibility rule (`eligibility.eligible_aids`, on the students' facts on `on`) grants
    a student, with an amount to pay, that the term does not aid: no payment of it (paid, pending, at the bank or failed; `taken`, by
    student: the aid types of the term's payments that are not held) nor of another aid of one of its
    exclusion groups. `states` are the students' register spells on `on` (`facts.facts_from_spells`);
    `received`: student -> aid type -> earlier terms aided (duration limits); `levels`: student -> the
    confirmed identification level in force on `on` (`facts.levels_on`, read when not given: a national
    grant due by level is as unaided as one due by category). No query when `policies`, `groups` and
    `levels` are given."""
    policies = eligibility.policies_on(on) if policies is None else policies
    groups = list(AidExclusionGroup.objects.all()) if groups is None else groups
    levels = facts.levels_on(list(states), on) if levels is None else levels
    partners: dict[str, set[str]] = defaultdict(set)
    for group in groups:
        for aid_type in group.aid_types:
            partners[aid_type] |= set(group.aid_types)
    found = []
    for pk, state in sorted(facts.facts_from_spells(states, schools, categories, levels).items()):
        if state.status != Student.Status.ENROLLED:
            continue
        has = taken.get(pk, set())
        for decision in eligibility.eligible_aids(
            Student(pk=pk), on, policies=policies, facts=state, terms_received=received.get(pk, {})
        ):
            if not decision.payable or not decision.amount_per_term:
                continue  # an amount nobody has set (a universal waiver): no batch can pay it
            if decision.aid_type in has or partners[decision.aid_type] & has:
                continue
            found.append(Unaided(student_id=pk, decision=decision))
    return found


# --- Needy-student identification (issue 17) ----------------------------------------------------------------


def identified_students(school_year: int, *, user=None, students=None, term: str | None = None):
    """The one list of a school year's identified needy students, both routes together: the students the
    county confirmed after the school's identification (`identified_level`, the latest level of the period,
    `identified_from`), and the students a family-difficulty category of another department's list covers
    during the period (`identified_categories`, with the lists named in `category_sources`). A student on both
    routes is one row. Only a child the register has at school (enrolled) on some day of the period is on it:
    an open-ended category does not keep a child who left before the year on the list.

    The period is the school year, or one of its terms (`term`: the national aid system's report of a term): a
    confirmed level counts when it was in force on some day of the period. A level the county withdrew (a
    confirmed in-year finding of no difficulty) ends on the withdrawal's date: the child stays on the year's
    list and on the terms before it, not on a term that starts after it; an in-year identification effective
    in the spring term is on the spring term's list, not the autumn's. Scoped to `user` (the students they see or
    whose register spell of the period was at a school they see, `Student.objects.visible_during`; the
    identifications of their schools; the days the child was at one of them), or to `students` (a queryset the
    reader already scoped: the national aid system's export, the county's); a queryset, so a page sorts and cuts
    it."""
    if term:
        first, last = term_start(school_year, term), term_end(school_year, term)
    else:
        first, last = school_year_bounds(school_year)
    # A school's (a township's) list is its own: the identifications of its schools, and the categories held
    # while the child was at one of them. A child who moved stays on the former school's list with the level
    # that school confirmed, and the new school's finding, or a category that began after the move, is not
    # shown there (nor the former school's level on the new school's list). The county's reads every school.
    scoped = students is None
    identifications = Identification.objects.visible_to(user) if scoped else Identification.objects.all()
    register = Enrollment.objects.visible_to(user) if scoped else Enrollment.objects.all()
    of_year = identifications.filter(student=OuterRef("pk"), school_year=school_year).confirmed()
    # The levels confirmed up to the period's last day, latest first (a withdrawal has none).
    confirmed = (
        of_year.exclude(confirmed_level="")
        .filter(effective_from__lte=last)
        .order_by("-effective_from", "-pk")
    )
    # What was in force on the period's first day: the latest confirmed finding from then or before.
    at_first = (
        of_year.filter(effective_from__lte=first).order_by("-effective_from", "-pk").values("confirmed_level")
    )
    at_school = register.filter(student=OuterRef("pk")).during(first, last).enrolled()
    # A category counts when it held on a day of the period on which the child was at school (a 低保 that
    # began after the child left does not identify them for the term).
    at_school_then = (
        register.filter(student=OuterRef("student_id"))
        .during(first, last)
        .enrolled()
        .filter(valid_from__lte=Coalesce(OuterRef("valid_to"), Value(last, output_field=DateField())))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=OuterRef("valid_from")))
    )
    dated = (
        StudentCategory.objects.filter(
            student=OuterRef("pk"), category__in=StudentCategory.DIFFICULTY, valid_from__lte=last
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first))
        .filter(Exists(at_school_then))
    )
    return (
        (students if students is not None else Student.objects.visible_during(user, first, last))
        .annotate(
            identified_level=Subquery(confirmed.values("confirmed_level")[:1]),
            identified_from=Subquery(confirmed.values("effective_from")[:1]),
            level_at_first=Subquery(at_first[:1]),
            identified_categories=ArraySubquery(dated.order_by("category").values("category").distinct()),
            category_sources=ArraySubquery(
                dated.exclude(source="").order_by("source").values("source").distinct()
            ),
        )
        .filter(
            Q(level_at_first__gt="")
            | Q(Exists(confirmed.filter(effective_from__gt=first)))
            | Q(Exists(dated)),
            Exists(at_school),
        )
        .select_related("school")
    )


def publicity_list(school_year: int, school, *, user):
    """The school's 公示 of the year: the identifications on it, with nothing sensitive (the page and the
    workbook print the name, grade and level only: no ID number, no reason)."""
    # The grade the child was in when the 公示 started (the register on that day), so a past year's 公示
    # prints as it was posted; the current row's grade for a child not yet on the register then.
    spell = Enrollment.objects.filter(student=OuterRef("student_id")).on(OuterRef("publicity_from"))
    return (
        Identification.objects.visible_to(user)
        .filter(school=school, school_year=school_year, publicity_from__isnull=False)
        .exclude(status=Identification.Status.NOT_IDENTIFIED)
        .select_related("student")
        .annotate(publicity_grade=Coalesce(Subquery(spell.values("grade")[:1]), F("student__grade")))
        .order_by("publicity_grade", "student__name", "pk")
    )
