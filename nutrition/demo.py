"""Demo data: the autumn 2022 term for the demo county's rural primary, junior and nine-year schools, and the
term running today at the demo principal's school (`seed_running_term`).

Idempotent (nothing is added once the term has pilot schools) and built with bulk inserts. The records obey
the rules (meals within pupils covered, on school days only); a few schools carry the problems the
dashboard must show: a diversion, an underspend, short funding, a failed check with its follow-up.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from nutrition import rules
from nutrition.models import (
    AccompaniedMeal,
    FundReceipt,
    MealRecord,
    NutritionTerm,
    PilotSchool,
    Purchase,
    SafetyCheck,
    TermHoliday,
)
from portal.models import User
from students.models import Enrollment, School, Stage

TERM_START, TERM_END = date(2022, 9, 1), date(2023, 1, 13)
HOLIDAYS = [
    (date(2022, 9, 12), "中秋节"),
    *[(date(2022, 10, d), "国庆节") for d in range(3, 8)],
    (date(2023, 1, 2), "元旦"),
]
PILOT_TYPES = (School.Type.PRIMARY, School.Type.JUNIOR, School.Type.NINE_YEAR)
SUPPLIERS = {
    Purchase.Category.MEAT: "宁都县肉联厂",
    Purchase.Category.EGGS: "青塘蛋品合作社",
    Purchase.Category.MILK: "赣南乳业",
    Purchase.Category.VEGETABLES: "梅江蔬菜合作社",
    Purchase.Category.GRAIN: "宁都粮油公司",
    Purchase.Category.OTHER: "城关副食店",
}
# Share of food spending by category (meat, eggs, milk, vegetables, grain, other).
SPLIT = [
    (Purchase.Category.MEAT, Decimal("0.30")),
    (Purchase.Category.EGGS, Decimal("0.12")),
    (Purchase.Category.MILK, Decimal("0.15")),
    (Purchase.Category.VEGETABLES, Decimal("0.20")),
    (Purchase.Category.GRAIN, Decimal("0.18")),
    (Purchase.Category.OTHER, Decimal("0.05")),
]


def _pilots(term: NutritionTerm) -> list[PilotSchool]:
    # The pilot as it was at the term's start: the schools open then and their pupils on that day's register
    # (today's rows would count children who joined since and miss those who have left). The rural schools,
    # and the demo principal's school (in the county seat) so that the principal and the township officer of
    # the demo logins have a pilot school to try the pages on (issue 15).
    principal = User.objects.filter(role=User.Role.PRINCIPAL, school__isnull=False).order_by("pk").first()
    schools = list(
        School.objects.open_on(TERM_START)
        .filter(Q(is_rural=True) | Q(pk=principal.school_id if principal else None))
        .filter(school_type__in=PILOT_TYPES)
        .order_by("code")
    )
    counts = defaultdict(dict)
    for school_id, stage, n in (
        Enrollment.objects.on(TERM_START)
        .enrolled()
        .filter(school__in=schools, stage__in=(Stage.PRIMARY, Stage.JUNIOR))
        .values_list("school_id", "stage")
        .annotate(n=Count("pk"))
    ):
        counts[school_id][stage] = n
    pilots = []
    for index, school in enumerate(schools):
        if school.has_canteen:
            mode = PilotSchool.SupplyMode.MIXED if index % 11 == 5 else PilotSchool.SupplyMode.CANTEEN
        else:
            mode = PilotSchool.SupplyMode.CATERED
        pilots.append(
            PilotSchool(
                term=term,
                school=school,
                supply_mode=mode,
                planned_days=100,
                covered_primary=counts[school.pk].get(Stage.PRIMARY, 0),
                covered_junior=counts[school.pk].get(Stage.JUNIOR, 0),
                covered_counted_on=TERM_START,
            )
        )
    return PilotSchool.objects.bulk_create(pilots)


def running_term_bounds(today: date) -> tuple[int, str, date, date] | None:
    """(school year, season, first and last school day) of the term running on `today` in the demo's
    calendar (autumn 1 Sep - 15 Jan, spring 20 Feb - 10 Jul); None in the holidays between."""
    year = today.year
    if today >= date(year, 9, 1):
        return year, NutritionTerm.Season.AUTUMN, date(year, 9, 1), date(year + 1, 1, 15)
    if today <= date(year, 1, 15):
        return year - 1, NutritionTerm.Season.AUTUMN, date(year - 1, 9, 1), date(year, 1, 15)
    if date(year, 2, 20) <= today <= date(year, 7, 10):
        return year - 1, NutritionTerm.Season.SPRING, date(year, 2, 20), date(year, 7, 10)
    return None


def seed_running_term(*, stdout, today: date | None = None) -> None:
    """The term running today at the demo principal's school only (kept small): its meals and 陪餐 up to
    yesterday, the last two school days' 陪餐 not yet recorded, and the first transfer of money, so that the
    principal's home page has current work (issue 15). Nothing in the holidays, nothing if already there."""
    today = today or timezone.localdate()
    bounds = running_term_bounds(today)
    principal = User.objects.filter(role=User.Role.PRINCIPAL, school__isnull=False).order_by("pk").first()
    if bounds is None or principal is None:
        return
    school_year, season, start, end = bounds
    if start.year == TERM_START.year and season == NutritionTerm.Season.AUTUMN:
        return  # the 2022 term itself
    term, _ = NutritionTerm.objects.get_or_create(
        school_year=school_year, season=season, defaults={"start": start, "end": end}
    )
    if term.pilots.exists():
        return
    holidays = [date(start.year, 10, d) for d in range(1, 8)] if season == NutritionTerm.Season.AUTUMN else []
    TermHoliday.objects.bulk_create(
        [TermHoliday(term=term, day=day, reason="国庆节") for day in holidays], ignore_conflicts=True
    )
    school = principal.school
    counts = dict(
        Enrollment.objects.on(start)
        .enrolled()
        .filter(school=school, stage__in=(Stage.PRIMARY, Stage.JUNIOR))
        .values_list("stage")
        .annotate(n=Count("pk"))
    )
    pilot = PilotSchool.objects.create(
        term=term,
        school=school,
        supply_mode=PilotSchool.SupplyMode.CANTEEN if school.has_canteen else PilotSchool.SupplyMode.CATERED,
        planned_days=100,
        covered_primary=counts.get(Stage.PRIMARY, 0),
        covered_junior=counts.get(Stage.JUNIOR, 0),
        covered_counted_on=start,
    )
    days = rules.school_days(term, holidays, until=today - timedelta(days=1))
    meals = [
        MealRecord(pilot=pilot, day=day, stage=stage, meals=covered)
        for day in days
        for stage, covered in ((Stage.PRIMARY, pilot.covered_primary), (Stage.JUNIOR, pilot.covered_junior))
        if covered
    ]
    MealRecord.objects.bulk_create(meals, batch_size=5000)
    person = school.principal_name or "校长"
    AccompaniedMeal.objects.bulk_create(
        [AccompaniedMeal(pilot=pilot, day=day, person=person, remark="") for day in days[:-2]]
    )
    served = sum(m.meals for m in meals)
    amount = (served * pilot.daily_standard).quantize(rules.FEN)
    if amount > 0:
        FundReceipt.objects.create(pilot=pilot, received_on=start, amount=amount, document="宁教字营养")
    stdout.write(f"nutrition: the running term {term}, {len(meals)} meal records at {school}")


@transaction.atomic
def seed(*, rng: random.Random, stdout, scale: str) -> None:
    term, _ = NutritionTerm.objects.get_or_create(
        school_year=2022, season=NutritionTerm.Season.AUTUMN, defaults={"start": TERM_START, "end": TERM_END}
    )
    seed_running_term(stdout=stdout)
    if term.pilots.exists():
        stdout.write("nutrition: autumn 2022 term already seeded")
        return
    TermHoliday.objects.bulk_create(
        [TermHoliday(term=term, day=day, reason=reason) for day, reason in HOLIDAYS], ignore_conflicts=True
    )
    pilots = _pilots(term)
    days = rules.school_days(term, [day for day, _reason in HOLIDAYS])
    meals, purchases, receipts, accompanied, checks = [], [], [], [], []
    for index, pilot in enumerate(pilots):
        served = 0
        for day in days:
            for stage, covered in (
                (Stage.PRIMARY, pilot.covered_primary),
                (Stage.JUNIOR, pilot.covered_junior),
            ):
                if covered:
                    n = max(0, covered - rng.randint(0, max(1, covered // 25)))
                    served += n
                    meals.append(MealRecord(pilot=pilot, day=day, stage=stage, meals=n))
            if rng.random() < 0.85:
                accompanied.append(
                    AccompaniedMeal(
                        pilot=pilot, day=day, person=pilot.school.principal_name or "校长", remark=""
                    )
                )
        entitled = served * pilot.daily_standard
        # Most schools spend 96-101% of the entitlement; every 9th leaves too much unspent.
        spend = entitled * (Decimal("0.80") if index % 9 == 4 else Decimal(rng.randint(96, 101)) / 100)
        weeks = [d for d in days if d.weekday() == 0] or days[:1]
        for category, part in SPLIT:
            share = (spend * part / len(weeks)).quantize(rules.FEN)
            for monday in weeks:
                if share > 0:
                    purchases.append(
                        Purchase(
                            pilot=pilot,
                            purchased_on=monday,
                            supplier=SUPPLIERS[category],
                            category=category,
                            amount=share,
                        )
                    )
        if index % 13 == 7:
            purchases.append(
                Purchase(
                    pilot=pilot,
                    purchased_on=date(2022, 12, 20),
                    supplier="县城酒家",
                    category=Purchase.Category.STAFF_MEALS,
                    amount=Decimal("1860.00"),
                    note="教职工聚餐",
                )
            )
        received = entitled if index % 10 != 3 else entitled * Decimal("0.6")
        for on, part in ((date(2022, 9, 20), Decimal("0.6")), (date(2022, 11, 25), Decimal("0.4"))):
            amount = (received * part).quantize(rules.FEN)
            if amount > 0:
                receipts.append(
                    FundReceipt(pilot=pilot, received_on=on, amount=amount, document="宁教字〔2022〕营养")
                )
        for monday in weeks:
            failed = rng.random() < 0.03
            checks.append(
                SafetyCheck(
                    pilot=pilot,
                    kind=SafetyCheck.Kind.ACCEPTANCE,
                    day=monday,
                    checked_by="食堂管理员",
                    supplier=SUPPLIERS[Purchase.Category.MEAT],
                    items="猪肉、鸡蛋、蔬菜",
                    passed=not failed,
                    follow_up="不合格批次已退货，供应商书面整改" if failed else "",
                )
            )
            checks.append(
                SafetyCheck(
                    pilot=pilot,
                    kind=SafetyCheck.Kind.SAMPLE,
                    day=monday,
                    checked_by="食堂管理员",
                    items="午餐全部菜品 125g",
                )
            )
    MealRecord.objects.bulk_create(meals, batch_size=5000)
    Purchase.objects.bulk_create(purchases, batch_size=5000)
    FundReceipt.objects.bulk_create(receipts, batch_size=5000)
    AccompaniedMeal.objects.bulk_create(accompanied, batch_size=5000)
    SafetyCheck.objects.bulk_create(checks, batch_size=5000)
    stdout.write(
        f"nutrition: {len(pilots)} pilot schools, {len(meals)} meal records, {len(purchases)} purchases, "
        f"{len(accompanied)} accompanied meals"
    )
