"""Demo aid data: a calendar year of paid batches (spring and autumn 2022) drawn by the real rules, bank
accounts, a quota, loans and out-of-county lines. Idempotent: what exists is left alone."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings

from portal.models import User
from students import id_numbers
from students.models import Stage, Student, StudentCategory, Township
from subsidies import services
from subsidies.models import (
    AidPolicy,
    AidType,
    BankAccount,
    CreditLoan,
    DisbursementBatch,
    OutOfCountyStudent,
    PayeeKind,
    Payment,
    Term,
    term_start,
)

# The calendar year 2022: spring term of 2021-2022 and autumn term of 2022-2023.
TERMS = [(2021, Term.SPRING), (2022, Term.AUTUMN)]
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
    aid_types = sorted({p.aid_type for p in AidPolicy.objects.exclude(stage="higher")})
    made = 0
    for school_year, term in TERMS:
        start = term_start(school_year, term)
        for aid_type in aid_types:
            if DisbursementBatch.objects.filter(
                aid_type=aid_type, school_year=school_year, term=term
            ).exists():
                continue
            batch = services.batch_generate(aid_type=aid_type, school_year=school_year, term=term, by=by)
            if not batch.payments.exists():
                continue
            if (
                aid_type == AidType.BOARDER_ALLOWANCE
                and not services.quota_status(aid_type=aid_type, school_year=school_year, term=term).allocated
            ):
                drawn = batch.payments.total()
                services.quota_set(
                    aid_type=aid_type,
                    school_year=school_year,
                    term=term,
                    amount=(drawn * Decimal("1.05")).quantize(Decimal("1")),
                    by=by,
                    note="省厅下达",
                )
            services.batch_approve(batch=batch, by=by, on=start + timedelta(days=14), allow_over_quota=True)
            services.batch_mark_paid(
                batch=batch,
                bank_reference=f"DF{school_year}{term[:2].upper()}{batch.pk:04d}",
                paid_on=start + timedelta(days=40),
                by=by,
            )
            made += 1
    _fail_a_few(rng)
    loans = _loans(rng, by, count=60 if scale == "demo" else 6568)
    ledger = _out_of_county(rng, by, count=30 if scale == "demo" else 1587)
    paid = Payment.objects.paid().in_year(2022)
    stdout.write(
        f"subsidies: {made} new batches, {paid.count()} payments paid in 2022 ({paid.total()} yuan), "
        f"{accounts} bank accounts, {loans} loans, {ledger} out-of-county lines"
    )


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
    """A handful of transfers the bank returned (wrong name on the account), still to be re-paid."""
    if Payment.objects.filter(status=Payment.Status.FAILED).exists():
        return
    pks = list(
        Payment.objects.filter(
            payee=PayeeKind.PERSON, status=Payment.Status.PAID, term=Term.AUTUMN
        ).values_list("pk", flat=True)[:500]
    )
    chosen = rng.sample(pks, min(5, len(pks)))
    Payment.objects.filter(pk__in=chosen).update(
        status=Payment.Status.FAILED, failure_reason="户名与账号不符"
    )


def _loans(rng: random.Random, by, *, count: int) -> int:
    if CreditLoan.objects.exists():
        return 0
    townships = list(Township.objects.all())
    rows = []
    for n in range(count):
        poor = rng.random() < 0.3
        birth = date(2003 + rng.randint(0, 3), rng.randint(1, 12), rng.randint(1, 28))
        rows.append(
            CreditLoan(
                id_number=id_numbers.make(settings.HOME_COUNTY_CODE, birth, (n * 2 + 1) % 1000),
                name=f"学生{n + 1:04d}",
                home_township=rng.choice(townships) if townships else None,
                university=rng.choice(UNIVERSITIES),
                school_year=2022,
                contract_number=f"GD2022{n + 1:05d}",
                contract_date=date(2022, 9, rng.randint(1, 30)),
                amount=Decimal(rng.choice([8000, 10000, 12000])),
                top_up=Decimal(rng.choice([0, 4000, 8000])) if poor else Decimal("0"),
                poverty_alleviated=poor,
            )
        )
    CreditLoan.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
    return len(rows)


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
