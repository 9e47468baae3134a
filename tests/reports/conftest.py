"""A small county with known records, for the year-end figures and the dashboards."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest

from reports.selectors import current_school_year
from students.models import School, Stage, Student, StudentCategory, TeacherCount
from tests.factories import CategoryFactory, SchoolFactory, StudentFactory, make_id_number

ELSEWHERE = "422822"  # 建始县: a household registered in another county


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Workbooks are cached under MEDIA_ROOT: each test gets its own."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Dashboards are cached (local memory in tests): no test sees figures another test counted."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@dataclass
class County:
    year: int
    schools: list = field(default_factory=list)
    students: list = field(default_factory=list)
    poor: list = field(default_factory=list)
    teachers: dict = field(default_factory=dict)


def _student(school, stage, grade, *, boarding=False, household=None, status=Student.Status.ENROLLED):
    id_number = make_id_number(date(2012, 5, 1), division=household)
    return StudentFactory(
        school=school,
        stage=stage,
        grade=grade,
        is_boarding=boarding,
        id_number=id_number,
        household_county_code=household or id_number[:6],
        status=status,
    )


@pytest.fixture
def county(township_a, township_b, school_a, school_b):
    """Township A: school A (primary), a kindergarten, a senior high; township B: school B (primary), a
    junior middle school and a closed teaching point."""
    year = current_school_year()
    kindergarten = SchoolFactory(township=township_a, school_type=School.Type.KINDERGARTEN, name="甲镇幼儿园")
    senior = SchoolFactory(township=township_a, school_type=School.Type.SENIOR_HIGH, name="县一中")
    junior = SchoolFactory(township=township_b, school_type=School.Type.JUNIOR, name="乙镇中学")
    SchoolFactory(
        township=township_b,
        school_type=School.Type.TEACHING_POINT,
        name="停办教学点",
        is_active=False,
        closed_on=date(2021, 9, 1),
    )
    c = County(year=year, schools=[school_a, school_b, kindergarten, senior, junior])
    specs = [
        # school, stage, grade, boarding, household, status, poor
        (school_a, Stage.PRIMARY, 1, False, None, "enrolled", True),
        (school_a, Stage.PRIMARY, 2, True, None, "enrolled", True),
        (school_a, Stage.PRIMARY, 3, False, ELSEWHERE, "enrolled", True),
        (school_a, Stage.PRESCHOOL, 2, False, None, "enrolled", False),
        (school_a, Stage.PRIMARY, 4, False, None, "suspended", False),
        (school_b, Stage.PRIMARY, 5, True, None, "enrolled", False),
        (school_b, Stage.PRIMARY, 6, False, ELSEWHERE, "enrolled", True),
        (kindergarten, Stage.PRESCHOOL, 1, False, None, "enrolled", True),
        (kindergarten, Stage.PRESCHOOL, 3, False, None, "enrolled", False),
        (senior, Stage.SENIOR, 1, True, None, "enrolled", True),
        (senior, Stage.SENIOR, 2, True, ELSEWHERE, "enrolled", False),
        (junior, Stage.JUNIOR, 1, True, None, "enrolled", True),
        (junior, Stage.JUNIOR, 2, False, None, "suspended", True),
        (junior, Stage.JUNIOR, 3, False, None, "transferred_out", False),
    ]
    for school, stage, grade, boarding, household, status, poor in specs:
        student = _student(school, stage, grade, boarding=boarding, household=household, status=status)
        c.students.append(student)
        if poor:
            CategoryFactory(student=student, valid_from=date(2020, 1, 1))
            c.poor.append(student)
    # A category that lapsed before the year: not registered-poor any more.
    lapsed = c.students[3]
    CategoryFactory(student=lapsed, valid_from=date(2019, 1, 1), valid_to=date(2020, 12, 31))
    # A dibao child is not registered-poor.
    CategoryFactory(student=c.students[5], category=StudentCategory.Category.DIBAO)
    for school, headcount in ((school_a, 30), (school_b, 21), (kindergarten, 12), (senior, 80), (junior, 45)):
        TeacherCount.objects.create(school=school, school_year=year, headcount=headcount)
        c.teachers[school.pk] = headcount
    TeacherCount.objects.create(school=school_a, school_year=year - 1, headcount=999)
    return c


@dataclass
class Areas:
    """Records in every casework area, and the figures a clerk would count from them by hand."""

    payments: list = field(default_factory=list)
    loans: list = field(default_factory=list)
    ledger: list = field(default_factory=list)
    cases: dict = field(default_factory=dict)
    pilots: list = field(default_factory=list)
    purchases: list = field(default_factory=list)
    receipts: list = field(default_factory=list)


@pytest.fixture
def areas(county, bureau, township_a, township_b, school_a, school_b):
    """Aid, loans, the out-of-county ledger, dropout cases and the nutrition plan of the county's school
    year. Dates are relative to today (the year is the running school year), so the worker builds the same
    figures whatever day the test runs."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from dropout_control.models import CasePeriod, DropoutCase
    from nutrition.models import FundReceipt, MealRecord, NutritionTerm, PilotSchool, Purchase
    from subsidies.models import (
        AidPolicy,
        AidType,
        CreditLoan,
        DisbursementBatch,
        OutOfCountyStudent,
        Payment,
    )

    today = timezone.localdate()
    year = county.year
    start = date(year, 9, 1)
    a = Areas()
    students = {s.pk: s for s in county.students}
    by_school = {}
    for s in county.students:
        by_school.setdefault(s.school_id, []).append(s)
    senior = next(
        s
        for s in county.students
        if s.stage == Stage.SENIOR
        and s.household_county_code == s.id_number[:6]
        and s.is_boarding
        and s.grade == 1
    )

    def policy(aid_type, stage, amount):
        # The rule book loaded by the aid app's data migration may be there already (a payment only needs
        # to name its row); a flushed database gets a row of its own.
        existing = AidPolicy.objects.filter(aid_type=aid_type, stage=stage).order_by("tier", "pk").first()
        return existing or AidPolicy.objects.create(
            aid_type=aid_type, stage=stage, amount=Decimal(amount), valid_from=date(2020, 1, 1), categories=[]
        )

    boarder = policy(AidType.BOARDER_ALLOWANCE, Stage.PRIMARY, "1000.00")
    tuition = policy(AidType.TUITION_WAIVER, Stage.SENIOR, "1500.00")
    preschool = policy(AidType.PRESCHOOL_FEE_WAIVER, Stage.PRESCHOOL, "750.00")

    def batch(aid_type, school_year, term, status):
        return DisbursementBatch.objects.create(
            aid_type=aid_type,
            school_year=school_year,
            term=term,
            eligibility_date=start,
            status=status,
            created_by=bureau,
        )

    def pay(b, student, pol, amount, status=Payment.Status.PAID):
        p = Payment.objects.create(
            batch=b,
            student=student,
            aid_type=b.aid_type,
            school_year=b.school_year,
            term=b.term,
            school=student.school,
            stage=student.stage,
            policy=pol,
            amount=Decimal(amount),
            payee="person",
            status=status,
        )
        a.payments.append(p)
        return p

    primary = [s for s in county.students if s.stage == Stage.PRIMARY and s.status == "enrolled"]
    autumn = batch(AidType.BOARDER_ALLOWANCE, year, "autumn", DisbursementBatch.Status.PAID)
    for s in primary[:3]:
        pay(autumn, s, boarder, "500.00")
    pay(autumn, primary[3], boarder, "500.00", status=Payment.Status.HELD)  # held: not aid paid
    spring = batch(AidType.BOARDER_ALLOWANCE, year, "spring", DisbursementBatch.Status.PAID)
    pay(spring, primary[0], boarder, "500.00")
    waiver = batch(AidType.TUITION_WAIVER, year, "autumn", DisbursementBatch.Status.PAID)
    pay(waiver, senior, tuition, "766.58")
    older = batch(AidType.TUITION_WAIVER, year - 1, "spring", DisbursementBatch.Status.PAID)
    pay(older, senior, tuition, "766.58")  # the school year before: calendar year only
    approved = batch(AidType.PRESCHOOL_FEE_WAIVER, year, "autumn", DisbursementBatch.Status.APPROVED)
    kid = next(s for s in county.students if s.stage == Stage.PRESCHOOL and s.school_id == school_a.pk)
    pay(approved, kid, preschool, "750.00", status=Payment.Status.PENDING)  # approved, not yet paid

    def loan(township, amount, top_up="0.00", poor=False, school_year=year):
        loan = CreditLoan.objects.create(
            id_number=make_id_number(date(2004, 1, 1)),
            name="大学生",
            home_township=township,
            university="某大学",
            school_year=school_year,
            contract_date=date(school_year, 9, 20),
            amount=Decimal(amount),
            top_up=Decimal(top_up),
            poverty_alleviated=poor,
        )
        a.loans.append(loan)

    loan(township_a, "12000.00", "8000.00", poor=True)
    loan(township_a, "8000.00")
    loan(township_b, "10500.50")
    loan(None, "6000.00")
    loan(township_b, "9999.00", school_year=year - 1)

    def ledger(code, category="poverty_alleviated", township=township_a):
        a.ledger.append(
            OutOfCountyStudent.objects.create(
                id_number=make_id_number(date(2010, 1, 1)),
                name="县外生",
                home_township=township,
                destination_county_code=code,
                destination_county="某县",
                destination_school="某校",
                stage=Stage.JUNIOR,
                category=category,
                school_year=year,
            )
        )

    ledger("360702")  # 章贡区: same prefecture (3607)
    ledger("360781")
    ledger("440305")  # 深圳: outside the prefecture
    ledger("440305", category="dibao")  # not registered-poor

    def case(key, township, school, found_on, *, outcome="", outcome_on=None, period_closed=None):
        c = DropoutCase.objects.create(
            id_number=make_id_number(date(2013, 1, 1)),
            name=key,
            township=township,
            school=school,
            found_on=found_on,
            found_by=DropoutCase.FoundBy.SCHOOL_REPORT,
            reason=DropoutCase.Reason.FAMILY_HARDSHIP,
            status="closed" if outcome else "open",
            outcome=outcome,
            outcome_on=outcome_on,
        )
        CasePeriod.objects.create(case=c, opened_on=found_on, closed_on=outcome_on, outcome=outcome)
        a.cases[key] = c

    case("new_open", township_a, school_a, today)
    case("returned", township_a, school_a, today, outcome="returned", outcome_on=today)
    case("old_open", township_b, school_b, start - timedelta(days=40))
    case(
        "home",
        township_b,
        None,
        start - timedelta(days=60),
        outcome="home_teaching",
        outcome_on=start - timedelta(days=30),
    )

    term = NutritionTerm.objects.create(
        school_year=year, season="autumn", start=start, end=date(year + 1, 1, 15)
    )
    junior_school = next(s for s in county.schools if s.school_type == "junior")
    for school, mode, prim, jun in (
        (school_a, "canteen", 120, 0),
        (school_b, "catered", 80, 0),
        (junior_school, "canteen", 0, 60),
    ):
        a.pilots.append(
            PilotSchool.objects.create(
                term=term, school=school, supply_mode=mode, covered_primary=prim, covered_junior=jun
            )
        )
    a.purchases.append(
        Purchase.objects.create(
            pilot=a.pilots[0],
            purchased_on=today,
            supplier="粮油店",
            category="grain",
            amount=Decimal("12345.67"),
        )
    )
    a.purchases.append(
        Purchase.objects.create(
            pilot=a.pilots[2], purchased_on=today, supplier="肉店", category="meat", amount=Decimal("2000.00")
        )
    )
    Purchase.objects.create(
        pilot=a.pilots[1],
        purchased_on=start - timedelta(days=10),
        supplier="旧账",
        category="meat",
        amount=Decimal("99.00"),
    )
    a.receipts.append(
        FundReceipt.objects.create(pilot=a.pilots[0], received_on=today, amount=Decimal("30000.00"))
    )
    MealRecord.objects.create(pilot=a.pilots[0], day=today, stage=Stage.PRIMARY, meals=118)
    del students, by_school
    return a
