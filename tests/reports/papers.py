"""Builders of a county whose records add up to a paper's summary figures (tests/reports/test_paper_*.py).

Every figure is written at the paper's full value. Schools, teacher counts, loans, ledger lines, pilot schools
and cases go through bulk_create. The students (a whole county's 145,057 children), their register spells,
their family categories and the payments to them are written set-wise in SQL (one INSERT … SELECT per stage,
category list or batch) so that a county takes seconds: through the same tables and triggers as any writer
(the register's trigger opens each child's spell, the change history records every row)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db import connection

from students import id_numbers
from students.models import County, School, Stage, StudentCategory, TeacherCount, Township

_issued = 0  # ID numbers handed out so far in this process (each test's numbers are unique)


def _reserve(n: int) -> int:
    """The first of `n` fresh ID-number serials."""
    global _issued
    first, _issued = _issued, _issued + n
    return first


def id_number(division: str, birth: date = date(2012, 1, 1)) -> str:
    """A valid ID number, unique within the test: serial n is born n // 1000 days after `birth`, sequence
    n % 1000 (the SQL in `students` builds the same numbers)."""
    n = _reserve(1)
    return id_numbers.make(division, birth + timedelta(days=n // 1000), n % 1000)


def _analyze() -> None:
    """Fresh planner statistics for the tables written set-wise (and those their triggers join), so that the
    triggers' statement-level checks over tens of thousands of rows plan as joins on an index, not as nested
    scans: a fresh test database has none, and a plan over "empty" tables took minutes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE students_student, students_enrollment, students_studentcategory, subsidies_payment, "
            "subsidies_aidexclusiongroup, subsidies_aidpolicy, subsidies_disbursementbatch"
        )


class Child(NamedTuple):
    """A student written by `students` (what payments and categories need of them)."""

    id: int
    stage: str
    school_id: int


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


# The check character of an 18-character ID number in SQL (GB 11643): weight 2^(18-i) mod 11 for digit i.
_CHECK = (
    "substr('10X98765432', (SELECT sum(substr({body}, i, 1)::int * ((2 ^ (18 - i))::bigint %% 11))::int %% 11"
    " FROM generate_series(1, 17) i) + 1, 1)"
)


def students(
    at: dict[str, School], by_stage: dict[str, int], *, household: str, enrolled_on=date(2015, 9, 1)
) -> dict[str, list[Child]]:
    """`by_stage[stage]` students on the register at `at[stage]` (grade 1), all since `enrolled_on`: one
    INSERT … SELECT generate_series per stage, valid ID numbers built in SQL; the register's trigger opens
    their spells from `enrolled_on`."""
    out: dict[str, list[Child]] = {}
    for stage, n in by_stage.items():
        first = _reserve(n)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH serial AS (
                    SELECT %(division)s || to_char(%(birth)s::date + g / 1000, 'YYYYMMDD')
                           || lpad((g %% 1000)::text, 3, '0') AS body,
                           %(birth)s::date + g / 1000 AS birth_date, g
                      FROM generate_series(%(first)s::int, %(last)s::int) g
                )
                INSERT INTO students_student
                       (id_number, name, sex, birth_date, school_id, stage, grade, household_county_code,
                        village, is_boarding, major, is_agricultural_major, guardian_name, guardian_phone,
                        status, enrolled_on, created_at, updated_at)
                SELECT body || {_CHECK.format(body="body")}, '学生', CASE WHEN g %% 2 = 1 THEN 'M' ELSE 'F' END,
                       birth_date, %(school)s, %(stage)s, 1, %(division)s, '', false, '', false, '', '',
                       'enrolled', %(enrolled_on)s, now(), now()
                  FROM serial ORDER BY g
                RETURNING id
                """,
                {
                    "division": household,
                    "birth": date(2012, 1, 1),
                    "first": first,
                    "last": first + n - 1,
                    "school": at[stage].pk,
                    "stage": stage,
                    "enrolled_on": enrolled_on,
                },
            )
            ids = sorted(row[0] for row in cursor.fetchall())
        out[stage] = [Child(pk, stage, at[stage].pk) for pk in ids]
    _analyze()
    return out


def poor(children: list[Child], since=date(2015, 1, 1)) -> None:
    """Registered poor (建档立卡) since `since`: one INSERT … SELECT."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO students_studentcategory (student_id, category, valid_from, source) "
            "SELECT unnest(%s::bigint[]), %s, %s, '扶贫办'",
            [[c.id for c in children], StudentCategory.Category.POVERTY_ALLEVIATED, since],
        )
    _analyze()


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
    children: list[Child], *, aid_type: str, school_year: int, term: str, total: Decimal, by, category=""
) -> None:
    """One paid payment of `aid_type` for the term to each child, adding up to `total` yuan exactly (or the
    amounts of `total`, a list, child by child): one batch, its payments in one INSERT … SELECT."""
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
    each = total if isinstance(total, list) else amounts(total, len(children))
    assert len(each) == len(children)
    _analyze()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO subsidies_payment
                   (batch_id, student_id, aid_type, school_year, term, school_id, stage, policy_id, category,
                    amount, payee, status, reason, flag_reason, bank_reference, failure_reason, created_at)
            SELECT %s, c.student_id, %s, %s, %s, c.school_id, c.stage, c.policy_id, %s,
                   c.amount, 'person', %s, '', '', '', '', now()
              FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bigint[], %s::numeric[])
                   AS c(student_id, school_id, stage, policy_id, amount)
            """,
            [
                batch.pk,
                aid_type,
                school_year,
                term,
                category,
                Payment.Status.PAID,
                [c.id for c in children],
                [c.school_id for c in children],
                [c.stage for c in children],
                [policies[c.stage].pk for c in children],
                [str(a) for a in each],
            ],
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
