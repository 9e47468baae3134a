"""Builders of a county whose records add up to a paper's summary figures (tests/reports/test_paper_*.py).

Schools, teacher counts, loans, ledger lines, pilot schools, cases and money are written at the paper's full
value with bulk_create. Students on the register (and so registered-poor students and aid person-times,
which are payments to them) are written at 1 in 100 (each figure divided by 100, rounded half up): the
register's triggers make a whole county's 145,057 children take minutes, not seconds."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import count

from students import id_numbers
from students.models import County, School, Stage, Student, StudentCategory, TeacherCount, Township

SCALE = 100
_ids = count()


def scaled(n: int) -> int:
    """A paper's student figure at the tests' scale (1 in 100, rounded half up)."""
    return int((Decimal(n) / SCALE).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def id_number(division: str, birth: date = date(2012, 1, 1)) -> str:
    """A valid ID number, unique within the test."""
    n = next(_ids)
    return id_numbers.make(division, birth + timedelta(days=n // 1000), n % 1000)


def county(code: str, name: str, prefecture: str, townships: int = 3) -> list[Township]:
    c, _ = County.objects.update_or_create(code=code, defaults={"name": name, "prefecture": prefecture})
    return Township.objects.bulk_create(
        Township(county=c, code=f"{code}{n:03d}", name=f"{name}第{n}镇") for n in range(1, townships + 1)
    )


def schools(townships: list[Township], spec: dict[str, tuple[int, int]]) -> dict[str, list[School]]:
    """spec: {school type: (schools, of which public)}; the rest private. Open since 2000."""
    rows = []
    for school_type, (total, public) in spec.items():
        for n in range(total):
            rows.append(
                School(
                    township=townships[n % len(townships)],
                    code=f"{school_type[:3].upper()}{n:04d}",
                    name=f"{School.Type(school_type).label}{n}",
                    school_type=school_type,
                    ownership=School.Ownership.PUBLIC if n < public else School.Ownership.PRIVATE,
                    opened_on=date(2000, 9, 1),
                    is_active=True,
                )
            )
    created = School.objects.bulk_create(rows)
    out: dict[str, list[School]] = {}
    for s in created:
        out.setdefault(s.school_type, []).append(s)
    return out


def teachers(
    all_schools: list[School], school_year: int, headcount: int, on_staff: int | None = None
) -> None:
    """Spread a county's teachers over its schools, one more at the first schools for the remainder."""
    heads = spread(headcount, len(all_schools))
    staff = spread(on_staff, len(all_schools)) if on_staff is not None else [None] * len(all_schools)
    TeacherCount.objects.bulk_create(
        TeacherCount(school=s, school_year=school_year, headcount=h, on_staff=o)
        for s, h, o in zip(all_schools, heads, staff, strict=True)
    )


def spread(total: int, n: int) -> list[int]:
    each, rest = divmod(total, n)
    return [each + 1] * rest + [each] * (n - rest)


def students(
    at: dict[str, School], by_stage: dict[str, int], *, household: str, enrolled_on=date(2015, 9, 1)
) -> dict[str, list[Student]]:
    """`by_stage[stage]` students on the register at `at[stage]`, all since `enrolled_on`."""
    rows = []
    for stage, n in by_stage.items():
        for _i in range(n):
            number = id_number(household)
            parsed = id_numbers.parse(number)
            rows.append(
                Student(
                    id_number=number,
                    name="学生",
                    sex=parsed.sex,
                    birth_date=parsed.birth_date,
                    school=at[stage],
                    stage=stage,
                    grade=1,
                    household_county_code=household,
                    enrolled_on=enrolled_on,
                )
            )
    out: dict[str, list[Student]] = {}
    for s in Student.objects.bulk_create(rows, batch_size=2000):
        out.setdefault(s.stage, []).append(s)
    return out


def poor(children: list[Student], since=date(2015, 1, 1)) -> None:
    StudentCategory.objects.bulk_create(
        StudentCategory(
            student=s, category=StudentCategory.Category.POVERTY_ALLEVIATED, valid_from=since, source="扶贫办"
        )
        for s in children
    )


def amounts(total: Decimal, n: int) -> list[Decimal]:
    """n positive amounts to the fen adding up to `total` exactly."""
    each = (total / n).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    return [each] * (n - 1) + [total - each * (n - 1)]


def counts(total: int, n: int) -> list[int]:
    """n whole numbers adding up to `total` (the remainder on the first)."""
    each = total // n
    return [each + total - each * n] + [each] * (n - 1)


STAGE_LABELS = {
    Stage.PRESCHOOL: "学前",
    Stage.PRIMARY: "小学",
    Stage.JUNIOR: "初中",
    Stage.SENIOR: "普通高中",
    Stage.VOCATIONAL: "中职",
    Stage.SPECIAL: "特殊教育",
}


def pay(
    children: list[Student], *, aid_type: str, school_year: int, term: str, total: Decimal, by, category=""
) -> None:
    """One paid payment of `aid_type` for the term to each child, adding up to `total` yuan exactly (or the
    amounts of `total`, a list, child by child)."""
    from subsidies.models import AidPolicy, DisbursementBatch, Payment

    batch = DisbursementBatch.objects.create(
        aid_type=aid_type,
        school_year=school_year,
        term=term,
        eligibility_date=date(school_year + (term == "spring"), 3 if term == "spring" else 9, 1),
        status=DisbursementBatch.Status.PAID,
        created_by=by,
    )
    policies = {}
    for stage in {c.stage for c in children}:
        policies[stage] = AidPolicy.objects.filter(aid_type=aid_type, stage=stage).order_by(
            "tier", "pk"
        ).first() or AidPolicy.objects.create(
            aid_type=aid_type,
            stage=stage,
            amount=Decimal("1000.00"),
            valid_from=date(2010, 1, 1),
            categories=[],
        )
    Payment.objects.bulk_create(
        Payment(
            batch=batch,
            student=c,
            aid_type=aid_type,
            school_year=school_year,
            term=term,
            school_id=c.school_id,
            stage=c.stage,
            policy=policies[c.stage],
            category=category,
            amount=amount,
            payee="person",
            status=Payment.Status.PAID,
        )
        for c, amount in zip(
            children, total if isinstance(total, list) else amounts(total, len(children)), strict=True
        )
    )


def loans(townships, *, n: int, total: Decimal, school_year: int, contract_date: date, poor: int = 0) -> None:
    from subsidies.models import CreditLoan

    CreditLoan.objects.bulk_create(
        CreditLoan(
            id_number=id_number(townships[0].county.code, date(2003, 1, 1)),
            name="大学生",
            home_township=townships[i % len(townships)],
            university="某大学",
            school_year=school_year,
            contract_date=contract_date,
            amount=amount,
            top_up=Decimal("0.00"),
            poverty_alleviated=i < poor,
        )
        for i, amount in enumerate(amounts(total, n))
    )


def nutrition(
    term,
    *,
    primary: list[School],
    junior: list[School],
    primary_pupils: int,
    junior_pupils: int,
    canteen_schools: int,
    canteen_pupils: int,
    funds_used: Decimal,
) -> None:
    """Pilot schools of the term: every junior pilot and the first primary ones supply from a canteen, so
    that `canteen_schools` schools with `canteen_pupils` pupils do; the central funds used are food."""
    from nutrition.models import PilotSchool, Purchase

    canteen_primary = canteen_schools - len(junior)
    rows = []
    split = [
        (primary[:canteen_primary], canteen_pupils - junior_pupils, "canteen"),
        (primary[canteen_primary:], primary_pupils - (canteen_pupils - junior_pupils), "catered"),
    ]
    for group, pupils, mode in split:
        for school, n in zip(group, counts(pupils, len(group)), strict=True):
            rows.append(PilotSchool(term=term, school=school, supply_mode=mode, covered_primary=n))
    for school, n in zip(junior, counts(junior_pupils, len(junior)), strict=True):
        rows.append(PilotSchool(term=term, school=school, supply_mode="canteen", covered_junior=n))
    pilots = PilotSchool.objects.bulk_create(rows)
    Purchase.objects.bulk_create(
        Purchase(
            pilot=p,
            purchased_on=term.start + timedelta(days=10),
            supplier="粮油公司",
            category="grain",
            amount=a,
        )
        for p, a in zip(pilots[:10], amounts(funds_used, 10), strict=True)
    )
