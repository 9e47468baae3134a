"""Demo aid data: the paid batches of the terms the demo's reports need (calendar 2022, the school years 2022-2023
and 2024-2025, the running term) drawn by the real rules, bank accounts, a quota, loans and out-of-county lines. Idempotent: what exists is left alone."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pghistory
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from students import id_numbers
from students.models import School, Stage, Student, StudentCategory, Township, school_year_of
from subsidies import eligibility, selectors, services
from subsidies.bank import as_sent
from subsidies.facts import facts_on
from subsidies.models import (
    LOAN_AID_TYPES,
    AidPolicy,
    AidQuota,
    AidType,
    BankAccount,
    BankFile,
    BankFileLine,
    BatchEvent,
    CreditLoan,
    DisbursementBatch,
    Identification,
    IdentificationLevel,
    OutOfCountyStudent,
    PayeeKind,
    Payment,
    SocialAidGrant,
    SocialAidProgramme,
    Term,
    UniversityAid,
    UniversityStudent,
    mask_account,
    term_of,
    term_start,
)
from subsidies.models.bank import STANDARD_FORMAT
from subsidies.services.batches import payment_for

# A term's money is paid 40 days into it (the demo's batches are approved on day 14, paid on day 40).
PAID_AFTER = timedelta(days=40)


def running_term(today: date | None = None) -> tuple[int, str] | None:
    """The term under way today, once its money would be paid (40 days in): the dashboards' "this term"."""
    today = today or timezone.localdate()
    school_year, term = term_of(today)
    if term_start(school_year, term) + PAID_AFTER > today:
        return None
    return school_year, term


# The past school years whose reports the demo builds (reports.demo: the papers' 2022-2023 and the published
# 2024-2025): both their terms are paid, with calendar 2022's spring term (2021-2022). Every past term would cost
# ~4 s each at seed time (the draw decides each child's eligibility twice), which the test suite pays several
# times over; a year's report needs only its own two terms.
PAID_SCHOOL_YEARS = (2022, 2024)


def terms_to_pay(today: date | None = None) -> list[tuple[int, str]]:
    """The terms the demo pays, in order (the duration limits count the terms before), each once its money
    would be paid by today: calendar 2022, the school years of PAID_SCHOOL_YEARS, and the running term."""
    today = today or timezone.localdate()
    wanted = {(2021, Term.SPRING), *((y, t) for y in PAID_SCHOOL_YEARS for t in (Term.AUTUMN, Term.SPRING))}
    running = running_term(today)
    if running is not None:
        wanted.add(running)
    return sorted(
        (term for term in wanted if term_start(*term) + PAID_AFTER <= today),
        key=lambda term: term_start(*term),
    )


BANKS = ["中国农业银行", "农村商业银行", "中国邮政储蓄银行"]
UNIVERSITIES = ["江西师范大学", "南昌大学", "赣南师范大学", "江西理工大学", "华东交通大学"]
DESTINATIONS = [
    ("360731", "于都县", "于都中学"),
    ("360735", "石城县", "石城中学"),
    ("441481", "兴宁市", "兴宁一中"),
]


def _bureau_user() -> User | None:
    return User.objects.filter(role=User.Role.BUREAU, is_active=True).order_by("pk").first()


def seed(*, rng: random.Random, stdout, scale: str) -> None:
    by = _bureau_user()
    if by is None:
        stdout.write("subsidies: no bureau user, skipped")
        return
    accounts = _bank_accounts(rng)
    # Loan caps are not paid in batches; an aid whose amount the county has not entered is not drawn (the
    # batch services refuse it): the demo county has entered none of them.
    aid_types = sorted(
        {p.aid_type for p in AidPolicy.objects.exclude(stage__in=["higher", "postgraduate"])}
        - set(LOAN_AID_TYPES)
    )
    # Before the running term is drawn: a confirmed level is a fact of its eligibility (the national grant).
    identified = _identifications(by, count=30 if scale == "demo" else 300)
    made = 0
    # In order: the autumn draw counts the terms paid in spring (duration limits).
    for school_year, term in terms_to_pay():
        done = set(
            DisbursementBatch.objects.filter(school_year=school_year, term=term).values_list(
                "aid_type", flat=True
            )
        )
        start = term_start(school_year, term)
        missing = [a for a in aid_types if a not in done and not selectors.unset_amounts(a, start)]
        if missing:
            made += _paid_term(school_year=school_year, term=term, aid_types=missing, by=by)
    _fail_a_few(rng)
    loans = _loans(rng, by, count=60 if scale == "demo" else 6568)
    ledger = _out_of_county(rng, by, count=30 if scale == "demo" else 1587)
    university = _university_and_social(rng, count=30 if scale == "demo" else 292)
    paid = Payment.objects.paid().in_year(2022)
    stdout.write(
        f"subsidies: {made} new batches, {paid.count()} payments paid in 2022 ({paid.total()} yuan), "
        f"{accounts} bank accounts, {loans} loans, {ledger} out-of-county lines, "
        f"{university} university students with travel grants, {identified} identifications"
    )


# --- A term's paid batches, written in bulk ------------------------------------------------------------
#
# What services.batch_generate, batch_approve and batch_mark_paid would leave, built without their per-batch
# passes over the county: each student's eligibility is decided once per term for every aid type at once
# (the services decide it once per aid type, then again at approval), and the rows are bulk-inserted in
# their final state. Same decisions (eligibility.py), same amounts, holds and events; tests/subsidies/
# test_demo.py compares the result with selectors.draw.


def _terms_received(school_year: int, term: str) -> dict[int, dict[str, int]]:
    """Student -> aid type -> terms aided in other terms (held payments left out), as services counts."""
    rows = (
        Payment.objects.exclude(school_year=school_year, term=term)
        .exclude(status=Payment.Status.HELD)
        .values("student_id", "aid_type")
        .annotate(n=Count("pk"))
        .order_by()
    )
    found: dict[int, dict[str, int]] = defaultdict(dict)
    for r in rows:
        found[r["student_id"]][r["aid_type"]] = r["n"]
    return found


def _limit_reached(policies, received: dict[str, int]) -> bool:
    return any(p.max_terms is not None and received.get(p.aid_type, 0) >= p.max_terms for p in policies)


def _decide_all(student, on, *, policies, state, received, aid_types) -> dict[str, object]:
    """The payable decision for each aid type in `aid_types` that the student is granted on `on`, on the
    student's facts of that date (`state`), as selectors.draw decides.

    The services decide one aid type at a time, counting only that aid's terms received; when no duration
    limit is reached the one evaluation of all aids gives the same decisions, else each aid is decided as
    the services do."""
    stage_rows = [p for p in policies if p.stage == state.stage]
    if _limit_reached(stage_rows, received):
        found = {}
        for aid_type in aid_types:
            decision = eligibility.decide(
                student,
                aid_type,
                on,
                policies=policies,
                facts=state,
                terms_received={aid_type: received.get(aid_type, 0)},
            )
            if decision is not None and decision.payable:
                found[aid_type] = decision
        return found
    return {
        d.aid_type: d
        for d in eligibility.eligible_aids(
            student, on, policies=policies, facts=state, terms_received=received
        )
        if d.aid_type in aid_types and d.payable
    }


def _paid_term(*, school_year: int, term: str, aid_types: list[str], by) -> int:
    """Draw, approve and pay the batches of `aid_types` for a term; returns how many batches were paid."""
    start = term_start(school_year, term)
    approved_on, paid_on = start + timedelta(days=14), start + timedelta(days=40)
    wanted = set(aid_types)
    policies = eligibility.policies_on(start)
    stages = {p.stage for p in policies if p.aid_type in wanted}
    state = {
        pk: f
        for pk, f in facts_on(selectors.draw_candidate_ids(stages, start), start).items()
        if f.stage in stages and f.status == Student.Status.ENROLLED
    }
    students = list(Student.objects.filter(pk__in=list(state)).order_by("pk"))
    received = _terms_received(school_year, term)
    drawn: dict[str, list] = defaultdict(list)
    for student in students:
        decisions = _decide_all(
            student,
            start,
            policies=policies,
            state=state[student.pk],
            received=received.get(student.pk, {}),
            aid_types=wanted,
        )
        for aid_type, decision in decisions.items():
            drawn[aid_type].append((student, decision))

    # Approval checks eligibility again on its own date: a student whose category lapsed is held. Only the
    # students whose categories (or the rule rows) changed in between can be refused.
    approve_policies = eligibility.policies_on(approved_on)
    same_rules = {p.pk for p in approve_policies} == {p.pk for p in policies}
    approve_state = facts_on(list(state), approved_on)
    held: dict[tuple[str, int], str] = {}
    for aid_type, granted in drawn.items():
        for student, _decision in granted:
            now = approve_state[student.pk]
            if same_rules and now == state[student.pk]:
                continue
            kwargs = {
                "policies": approve_policies,
                "facts": now,
                "terms_received": {aid_type: received.get(student.pk, {}).get(aid_type, 0)},
            }
            if eligibility.decide(student, aid_type, approved_on, **kwargs) is None:
                why = "; ".join(
                    d.reason for d in eligibility.why_not(student, aid_type, approved_on, **kwargs)
                )
                held[(aid_type, student.pk)] = (
                    _("No longer eligible on %(date)s: %(why)s") % {"date": approved_on, "why": why}
                )[:300]

    with transaction.atomic(), pghistory.context(source="seed_demo"):
        _spare_trigger_guards()
        return _write_term(
            school_year=school_year,
            term=term,
            start=start,
            paid_on=paid_on,
            aid_types=aid_types,
            drawn=drawn,
            held=held,
            by=by,
        )


def _spare_trigger_guards() -> None:
    """The history triggers still record every row (with the context "seed_demo"). Each trigger first reads
    two settings (`pgtrigger.ignore`, `pghistory.context_*`); an unset one raises an error the trigger
    catches, and that caught error costs more than the insert itself (10 s per 20,000 payments instead of
    0.7 s). pghistory.context sets the latter; this sets the former, for this transaction only, to "no
    trigger ignored"."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pgtrigger.ignore', '{}', true)")


def _write_term(*, school_year, term, start, paid_on, aid_types, drawn, held, by) -> int:
    """The term's batches as the bank would leave them: the family payments with an account went in bank file
    no. 1 and came back 成功; those without one are still 待补录账户 (not sent, not paid), which leaves their
    batch approved rather than paid; payments to schools and canteens were transferred."""
    Status = DisbursementBatch.Status
    accounts = {
        a.student_id: a for a in BankAccount.objects.active().only("pk", "student_id", "account_number")
    }
    batches = DisbursementBatch.objects.bulk_create(
        [
            DisbursementBatch(
                aid_type=aid_type,
                school_year=school_year,
                term=term,
                eligibility_date=start,
                # A batch nobody qualifies for stays an empty draft, as batch_generate leaves it.
                status=Status.PAID if drawn.get(aid_type) else Status.DRAFT,
                paid_on=paid_on if drawn.get(aid_type) else None,
                created_by=by,
            )
            for aid_type in aid_types
        ]
    )
    for batch in batches:
        if batch.status == Status.PAID:
            batch.bank_reference = f"DF{school_year}{term[:2].upper()}{batch.pk:04d}"

    payments: list[Payment] = []
    sent: dict[int, list[Payment]] = defaultdict(list)
    events: list[BatchEvent] = []
    closing: list[BatchEvent] = []  # after the bank file's own steps
    made = 0
    for batch in batches:
        granted = drawn.get(batch.aid_type, [])
        events.append(
            BatchEvent(
                batch=batch,
                action=BatchEvent.Action.GENERATED,
                by=by,
                to_status=Status.DRAFT,
                note=_("%(n)s students drawn by eligibility on %(date)s.")
                % {"n": len(granted), "date": start},
            )
        )
        if not granted:
            continue
        if (
            batch.aid_type == AidType.BOARDER_ALLOWANCE
            and not AidQuota.objects.filter(
                aid_type=batch.aid_type, school_year=school_year, term=term
            ).exists()
        ):
            # The province's quota, a little above what was drawn (set before approval, as a clerk would).
            drawn_total = sum((d.amount_per_term for _s, d in granted), start=Decimal("0.00"))
            services.quota_set(
                aid_type=batch.aid_type,
                school_year=school_year,
                term=term,
                amount=(drawn_total * Decimal("1.05")).quantize(Decimal("1")),
                by=by,
                note="省厅下达",
            )
        paid = unsent = transferred = 0
        flagged = []
        for student, decision in granted:
            payment = payment_for(batch, student, decision)
            flag_reason = held.get((batch.aid_type, student.pk))
            if flag_reason:
                payment.status, payment.flag_reason = Payment.Status.HELD, flag_reason
                flagged.append(
                    BatchEvent(
                        batch=batch,
                        action=BatchEvent.Action.FLAGGED,
                        by=by,
                        student=student,
                        note=flag_reason,
                    )
                )
            elif payment.payee == PayeeKind.PERSON and student.pk not in accounts:
                unsent += 1  # 待补录账户: stays pending, never in the bank file
            else:
                payment.status = Payment.Status.PAID
                payment.bank_reference, payment.paid_on = batch.bank_reference, paid_on
                paid += 1
                if payment.payee == PayeeKind.PERSON:
                    sent[batch.pk].append(payment)
                else:
                    transferred += 1
            payments.append(payment)
        events.extend(flagged)
        events.append(
            BatchEvent(
                batch=batch,
                action=BatchEvent.Action.APPROVED,
                by=by,
                from_status=Status.DRAFT,
                to_status=Status.APPROVED,
                note=_("%(n)s payments held for a lapsed category.") % {"n": len(flagged)} if flagged else "",
            )
        )
        if sent[batch.pk]:
            n = len(sent[batch.pk])
            events.append(
                BatchEvent(
                    batch=batch,
                    action=BatchEvent.Action.EXPORTED,
                    by=by,
                    note=_("Bank file %(number)s: %(n)s payments sent, %(m)s without an account not sent.")
                    % {"number": 1, "n": n, "m": unsent},
                )
            )
            closing.append(
                BatchEvent(
                    batch=batch,
                    action=BatchEvent.Action.RESULT_IMPORTED,
                    by=by,
                    note=_("%(paid)s paid, %(failed)s failed (format “%(format)s”).")
                    % {"paid": n, "failed": 0, "format": STANDARD_FORMAT["name"]},
                )
            )
        if transferred:
            closing.append(
                BatchEvent(
                    batch=batch,
                    action=BatchEvent.Action.TRANSFERRED,
                    by=by,
                    note=_("%(n)s payments to schools and canteens paid, reference %(ref)s.")
                    % {"n": transferred, "ref": batch.bank_reference},
                )
            )
        if unsent:
            batch.status, batch.paid_on = Status.APPROVED, None
        else:
            closing.append(
                BatchEvent(
                    batch=batch,
                    action=BatchEvent.Action.PAID,
                    by=by,
                    from_status=Status.APPROVED,
                    to_status=Status.PAID,
                    note=_("Every payment of the batch is paid: %(n)s payments.") % {"n": paid},
                )
            )
        made += 1
    DisbursementBatch.objects.bulk_update(batches, ["bank_reference", "status", "paid_on"])
    Payment.objects.bulk_create(payments, batch_size=5000)
    files = BankFile.objects.bulk_create(
        [BankFile(batch_id=batch_id, number=1, made_by=by) for batch_id in sent if sent[batch_id]]
    )
    school_names = dict(School.objects.values_list("pk", "name"))
    BankFileLine.objects.bulk_create(
        [
            BankFileLine(
                bank_file=bank_file,
                payment=p,
                account=accounts[p.student_id],
                amount=p.amount,
                account_masked=mask_account(accounts[p.student_id].account_number),
                outcome=BankFileLine.Outcome.PAID,
                **as_sent(p, accounts[p.student_id], school_names[p.school_id]),
            )
            for bank_file in files
            for p in sent[bank_file.batch_id]
        ],
        batch_size=5000,
    )
    BatchEvent.objects.bulk_create(events + closing, batch_size=5000)
    return made


def _bank_accounts(rng: random.Random) -> int:
    """An account for most needy students (the families paid in person)."""
    needy = (
        StudentCategory.objects.filter(category__in=StudentCategory.DIFFICULTY)
        .values_list("student_id", flat=True)
        .distinct()
    )
    have = set(BankAccount.objects.values_list("student_id", flat=True))
    students = Student.objects.filter(pk__in=needy).exclude(pk__in=have).only("pk", "guardian_name", "name")
    new = [
        BankAccount(
            student=s,
            holder_name=s.guardian_name or s.name,
            relation="监护人",
            bank_name=rng.choice(BANKS),
            account_number=f"6217{rng.randint(10**14, 10**15 - 1)}",
        )
        for s in students
        if rng.random() < 0.97
    ]
    BankAccount.objects.bulk_create(new, batch_size=5000)
    return len(new)


def _fail_a_few(rng: random.Random) -> None:
    """A handful of transfers the bank returned (wrong name on the account), still to be re-paid: their bank
    line says failed, and their batch is no longer paid in full."""
    if Payment.objects.filter(status=Payment.Status.FAILED).exists():
        return
    pks = list(
        Payment.objects.filter(
            payee=PayeeKind.PERSON, status=Payment.Status.PAID, term=Term.AUTUMN, bank_lines__isnull=False
        ).values_list("pk", flat=True)[:500]
    )
    chosen = rng.sample(pks, min(5, len(pks)))
    reason = "户名与账号不符"
    Payment.objects.filter(pk__in=chosen).update(
        status=Payment.Status.FAILED, paid_on=None, failure_reason=reason
    )
    BankFileLine.objects.filter(payment_id__in=chosen).update(
        outcome=BankFileLine.Outcome.FAILED, failure_reason=reason
    )
    batches = DisbursementBatch.objects.filter(payments__pk__in=chosen).distinct()
    BatchEvent.objects.filter(batch__in=batches, action=BatchEvent.Action.PAID).delete()
    DisbursementBatch.objects.filter(pk__in=batches.values("pk")).update(
        status=DisbursementBatch.Status.APPROVED, paid_on=None
    )


def _loans(rng: random.Random, by, *, count: int) -> int:
    if CreditLoan.objects.exists():
        return 0
    townships = list(Township.objects.all())
    rows = []
    for n in range(count):
        poor = rng.random() < 0.3
        birth = date(2003 + rng.randint(0, 3), rng.randint(1, 12), rng.randint(1, 28))
        home_township = rng.choice(townships) if townships else None
        university = rng.choice(UNIVERSITIES)
        contract_date = date(2022, 9, rng.randint(1, 30))
        amount = Decimal(rng.choice([8000, 10000, 12000]))
        top_up = Decimal(rng.choice([0, 4000, 8000])) if poor else Decimal("0")
        # As services.loan_create allows: the loan is the fees up to the 12,000 cap of 2022; the top-up only
        # beside a loan at its cap, for the fees above it.
        amount = Decimal("12000") if top_up else amount
        rows.append(
            CreditLoan(
                id_number=id_numbers.make(settings.HOME_COUNTY_CODE, birth, (n * 2 + 1) % 1000),
                name=f"学生{n + 1:04d}",
                home_township=home_township,
                university=university,
                school_year=2022,
                contract_number=f"GD2022{n + 1:05d}",
                contract_date=contract_date,
                fees=amount + top_up,
                amount=amount,
                top_up=top_up,
                poverty_alleviated=poor,
            )
        )
    CreditLoan.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
    return len(rows)


def _university_and_social(rng: random.Random, *, count: int) -> int:
    """University students of 2022 with their freshman travel grant, and two social programmes' grants to
    some of them (as the services would record them)."""
    if UniversityStudent.objects.exists():
        return 0
    townships = list(Township.objects.all())
    if not townships:
        return 0
    students = UniversityStudent.objects.bulk_create(
        [
            UniversityStudent(
                id_number=id_numbers.make(
                    settings.HOME_COUNTY_CODE,
                    date(2004, rng.randint(1, 12), rng.randint(1, 28)),
                    (n * 2 + 501) % 1000,
                ),
                name=f"新生{n + 1:04d}",
                university=rng.choice(UNIVERSITIES),
                enrolment_year=2022,
                home_township=rng.choice(townships),
                category=rng.choice(["poverty_alleviated", "dibao", ""]),
            )
            for n in range(count)
        ],
        ignore_conflicts=True,
    )
    students = list(UniversityStudent.objects.order_by("pk"))
    UniversityAid.objects.bulk_create(
        UniversityAid(
            student=s,
            kind=UniversityAid.Kind.FRESHMAN_TRAVEL,
            school_year=2022,
            amount=Decimal("500.00"),
            paid_on=date(2022, 9, 20),
        )
        for s in students
    )
    programmes = [
        SocialAidProgramme.objects.create(name="滋蕙计划", donor="滋蕙基金会", target="家庭困难大学新生"),
        SocialAidProgramme.objects.create(name="泛海助学", donor="泛海公益基金会", target="脱贫户大学新生"),
    ]
    SocialAidGrant.objects.bulk_create(
        SocialAidGrant(
            programme=programmes[n % 2],
            university_student=s,
            township_id=s.home_township_id,
            amount=Decimal("2000.00") if n % 2 == 0 else Decimal("5000.00"),
            granted_on=date(2022, 10, 10),
        )
        for n, s in enumerate(students[: max(1, len(students) // 3)])
    )
    return len(students)


def _out_of_county(rng: random.Random, by, *, count: int) -> int:
    if OutOfCountyStudent.objects.exists():
        return 0
    townships = list(Township.objects.all())
    rows = []
    for n in range(count):
        code, county, school = rng.choice(DESTINATIONS)
        birth = date(2008 + rng.randint(0, 6), rng.randint(1, 12), rng.randint(1, 28))
        rows.append(
            OutOfCountyStudent(
                id_number=id_numbers.make(settings.HOME_COUNTY_CODE, birth, (n * 2) % 1000),
                name=f"县外生{n + 1:04d}",
                home_township=rng.choice(townships) if townships else None,
                destination_county_code=code,
                destination_county=county,
                destination_school=school,
                stage=rng.choice([Stage.PRIMARY, Stage.JUNIOR, Stage.SENIOR]),
                category=StudentCategory.Category.POVERTY_ALLEVIATED,
                school_year=2022,
            )
        )
    OutOfCountyStudent.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
    return len(rows)


def _identifications(by, *, count: int) -> int:
    """A school year of needy-student identification (issue 17), at every step: the principal's school and
    the senior and vocational students, through the services. The running school year once its 公示 is over
    (late September), else the last one."""
    if Identification.objects.exists():
        return 0
    today = timezone.localdate()
    year = school_year_of(today)
    if today < date(year, 9, 25):
        year -= 1
    principal = User.objects.filter(role=User.Role.PRINCIPAL, school__isnull=False).order_by("pk").first()
    enrolled = Student.objects.filter(status=Student.Status.ENROLLED).order_by("pk")
    students = list(enrolled.filter(school_id=getattr(principal, "school_id", None))[: count // 3])
    students += list(
        enrolled.filter(stage__in=[Stage.SENIOR, Stage.VOCATIONAL]).exclude(pk__in=[s.pk for s in students])[
            : count - len(students)
        ]
    )
    levels = list(IdentificationLevel.values)
    made, reviewed_schools = [], set()
    for n, student in enumerate(students):
        made.append(
            services.identification_apply(
                by=by,
                student=student,
                school_year=year,
                applied_on=date(year, 9, 3),
                family_members=3 + n % 4,
                family_income=Decimal(8000 + 1500 * (n % 7)),
                hardship_reasons="家庭主要劳动力务工收入不稳定",
                guardian_name=f"{student.name[:1]}家长",
                guardian_declared=True,
            )
        )
        if n % 5 == 0:
            continue  # applied, not yet reviewed
        services.identification_review(
            by=by,
            identification=made[-1],
            members="班主任、任课教师代表、家长代表、学生代表",
            result=levels[n % 3],
            reviewed_on=date(year, 9, 8),
        )
        reviewed_schools.add(student.school_id)
    for school_id in reviewed_schools:
        services.identification_publicise(
            by=by,
            school=School.objects.get(pk=school_id),
            school_year=year,
            starts_on=date(year, 9, 10),
            ends_on=date(year, 9, 16),
        )
    for n, found in enumerate(made):
        if n % 5 in (0, 1):
            continue  # applied, or reviewed and publicised
        found.refresh_from_db()
        if n % 5 == 4:
            objection = services.identification_objection_add(
                by=by, identification=found, raised_on=date(year, 9, 12), content="群众反映家中经营商铺"
            )
            services.identification_objection_resolve(
                by=by,
                objection=objection,
                outcome="dismissed",
                finding="经核实商铺已转让",
                resolved_on=date(year, 9, 15),
            )
        services.identification_decide(
            by=by, identification=found, level=levels[n % 3], decided_on=date(year, 9, 18)
        )
        if n % 5 in (3, 4):
            services.identification_confirm(by=by, identification=found)
    return len(made)
