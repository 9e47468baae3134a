"""Sections read from student aid (subsidies): aid by stage and type, credit loans, tuition waivers."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.utils.translation import gettext_lazy as _

from reports import figures
from reports.yearend.base import (
    MONEY,
    TEXT,
    Builder,
    Measure,
    Period,
    Section,
    Table,
    grouped,
    stages,
)
from students.models import Stage, StudentCategory
from subsidies.models import AidType, CreditLoan, Payment, SocialAidGrant, UniversityAid

Category = StudentCategory.Category

# --- Aid, loans and tuition waivers (subsidies) -----------------------------------------------------------


def county_payments(period: Period):
    return Payment.objects.filter(school__township__county__code=period.county_code)


def aid_payments(period: Period):
    """Student aid paid for the period's terms to students of the county's schools (one payment = one 人次),
    without the nutrition plans' payments, which have their own line."""
    return figures.student_aid(county_payments(period), period)


def _money_breakdowns(b: Builder, payments, period: Period) -> None:
    for level, rows, group in figures.by_township_and_school(payments, period):
        for key, values in grouped(rows, group, person_times=Count("pk"), amount=Sum("amount")).items():
            b.breakdown(level, key, values)


NO_CATEGORY = "none"


def aid_section(period: Period) -> dict:
    """Aid person-times and amounts by stage, by aid type, by the family category the aid was granted on
    (Jianshi 2019: 2644.2375 万元 / 37,273 人次 to in-county poor students) and by stage and type together
    (Ningdu 2022: 75,125 人次, 4849.83825 万元). The nutrition plans' payments are a line of their own."""

    b = Builder()
    payments = aid_payments(period)
    measures = {"person_times": Count("pk"), "amount": Sum("amount")}
    by_stage = grouped(payments, "stage", **measures)
    b.table("by_stage", [{"key": s, **by_stage.get(s, {})} for s in Stage.values], measures=AID_M)
    by_type = grouped(payments, "aid_type", **measures)
    b.table("by_aid_type", [{"key": t, **by_type.get(t, {})} for t in STUDENT_AID_TYPES], measures=AID_M)
    by_category = grouped(payments, "category", **measures)
    b.table(
        "by_category",
        [
            {"key": c or NO_CATEGORY, **by_category.get(c, {})}
            for c in [*Category.values, ""]
            if c in by_category or c in AID_CATEGORIES
        ],
        measures=AID_M,
    )
    pairs = {}
    for row in payments.values("stage", "aid_type").annotate(**measures).order_by():
        pairs[(row["stage"], row["aid_type"])] = row
    b.table(
        "by_stage_and_type",
        [
            {"key": f"{stage}:{aid_type}", **pairs[(stage, aid_type)]}
            for stage in Stage.values
            for aid_type in STUDENT_AID_TYPES
            if (stage, aid_type) in pairs
        ],
        measures=AID_M,
    )
    nutrition = figures.nutrition_plan_aid(county_payments(period), period).aggregate(**measures)
    b.table("nutrition_plan", [{"key": "nutrition_plan", **nutrition}], measures=AID_M, totals=False)
    unpaid = grouped(figures.unpaid_student_aid(county_payments(period), period), "status", **measures)
    b.table(
        "not_yet_paid",
        [{"key": status, **unpaid.get(status, {})} for status in UNPAID_STATUSES],
        measures=AID_M,
    )
    total = payments.aggregate(**measures)
    b.total = {
        "person_times": total["person_times"],
        "amount": total["amount"] or Decimal("0"),
        "nutrition_person_times": nutrition["person_times"],
        "nutrition_amount": nutrition["amount"] or Decimal("0"),
    }
    _money_breakdowns(b, payments, period)
    _university_aid(b, period)
    _social_aid(b, period)
    return b.as_dict()


def university_aid_of(period: Period):
    """Grants paid in the period to university students registered in the county (by home township)."""
    aid = UniversityAid.objects.filter(student__home_township__county__code=period.county_code)
    return figures.university_aid(aid, period)


def social_aid_of(period: Period):
    """Social-aid grants made in the period to the county's students (at its schools, or university students
    of its townships)."""
    grants = SocialAidGrant.objects.filter(township__county__code=period.county_code)
    return figures.social_aid(grants, period)


def _university_aid(b: Builder, period: Period) -> None:
    """University students' aid by kind (Jianshi 2019: 新生入学路费 17 万元 / 292 人): person-times, students
    (人) and amount. Not student aid: its own table and its own totals, at no school (they are on no roll)."""
    aid = university_aid_of(period)
    measures = {
        "person_times": Count("pk"),
        "students": Count("student", distinct=True),
        "amount": Sum("amount"),
    }
    by_kind = grouped(aid, "kind", **measures)
    b.table(
        "university_aid",
        [{"key": kind, **by_kind.get(kind, {})} for kind in UniversityAid.Kind.values],
        measures=UNIVERSITY_M,
    )
    total = aid.aggregate(**measures)
    # A student with two kinds of aid is one student.
    b.tables["university_aid"]["total"]["students"] = total["students"]
    b.total |= {
        "university_person_times": total["person_times"],
        "university_students": total["students"],
        "university_amount": total["amount"] or Decimal("0"),
    }
    for key, values in grouped(
        aid, "student__home_township_id", university_person_times=Count("pk"), university_amount=Sum("amount")
    ).items():
        b.breakdown("township", key, values)
    if total["person_times"]:
        b.breakdown(
            "school",
            None,
            {"university_person_times": total["person_times"], "university_amount": total["amount"]},
        )


def _social_aid(b: Builder, period: Period) -> None:
    """Social aid by programme, each on its own line as the papers print them (Jianshi 2019: donations 80 万元 /
    6,409 人次; 滋蕙计划 38.8 万元 / 194 人; 泛海助学 136.5 万元 / 273 人): person-times, students (人) and
    amount, with the programme's donor and target as they were at build time. Never added to student aid."""
    grants = social_aid_of(period)
    recipients = Count("student", distinct=True) + Count("university_student", distinct=True)
    rows = (
        grants.values("programme__name", "programme__donor", "programme__target")
        .annotate(person_times=Count("pk"), recipients=recipients, amount=Sum("amount"))
        .order_by("programme__name")
    )
    b.table(
        "social_aid",
        [
            {
                "key": row["programme__name"],
                "donor": row["programme__donor"],
                "target": row["programme__target"],
                "person_times": row["person_times"],
                "recipients": row["recipients"],
                "amount": row["amount"],
            }
            for row in rows
        ],
        measures=SOCIAL_M,
    )
    total = grants.aggregate(person_times=Count("pk"), recipients=recipients, amount=Sum("amount"))
    # A student aided by two programmes is one student.
    b.tables["social_aid"]["total"]["recipients"] = total["recipients"]
    b.total |= {
        "social_person_times": total["person_times"],
        "social_recipients": total["recipients"],
        "social_amount": total["amount"] or Decimal("0"),
    }
    for level, group in (("township", "township_id"), ("school", "school_id")):
        for key, values in grouped(
            grants, group, social_person_times=Count("pk"), social_amount=Sum("amount")
        ).items():
            b.breakdown(level, key, values)


def tuition_section(period: Period) -> dict:
    """Tuition waivers by stage (Jianshi 2019: senior high 313.317 万元 / 4,151 人次)."""

    b = Builder()
    payments = aid_payments(period).filter(aid_type=AidType.TUITION_WAIVER)
    by_stage = grouped(payments, "stage", person_times=Count("pk"), amount=Sum("amount"))
    b.table("by_stage", [{"key": s, **by_stage.get(s, {})} for s in Stage.values], measures=AID_M)
    total = payments.aggregate(person_times=Count("pk"), amount=Sum("amount"))
    b.total = {"person_times": total["person_times"], "amount": total["amount"] or Decimal("0")}
    _money_breakdowns(b, payments, period)
    return b.as_dict()


def loans_of(period: Period):
    """The school year's contracts, or those signed in the calendar year (a loan without a home township
    is the county's all the same: only county-registered students borrow here)."""
    loans = CreditLoan.objects.filter(
        Q(home_township__county__code=period.county_code) | Q(home_township__isnull=True)
    )
    if period.basis == "school":
        return loans.filter(school_year=period.year)
    return loans.filter(contract_date__year=period.year)


def loans_section(period: Period) -> dict:
    """Credit-loan contracts and amounts (Ningdu 2022: 6,568 contracts, 6974.223 万元): the school year's
    contracts, or those signed in the calendar year. The amount is the national loan plus any top-up."""
    b = Builder()
    loans = loans_of(period)
    measures = {"contracts": Count("pk"), "amount": Sum(F("amount") + F("top_up"))}
    everyone = loans.aggregate(**measures)
    poor = loans.filter(poverty_alleviated=True).aggregate(**measures)
    top_up = loans.aggregate(top_up=Sum("top_up"))["top_up"] or Decimal("0")
    b.table(
        "summary",
        [{"key": "all", **everyone}, {"key": "poverty_alleviated", **poor}],
        measures=LOANS_M,
        totals=False,
    )
    b.total = {
        "contracts": everyone["contracts"],
        "amount": everyone["amount"] or Decimal("0"),
        "top_up": top_up,
    }
    for key, values in grouped(loans, "home_township_id", **measures).items():
        b.breakdown("township", key, values)
    # University students are on no school's roll: the sheet by school prints their loans on a line apart.
    b.breakdown("school", None, everyone)
    return b.as_dict()


AID_M = (Measure("person_times", _("Person-times")), Measure("amount", _("Amount"), MONEY))
UNIVERSITY_M = (
    Measure("person_times", _("Person-times")),
    Measure("students", _("Students aided (persons)")),
    Measure("amount", _("Amount"), MONEY),
)
SOCIAL_M = (
    Measure("donor", _("Donor"), TEXT),
    Measure("target", _("Stage or target"), TEXT),
    Measure("person_times", _("Person-times")),
    Measure("recipients", _("Students aided (persons)")),
    Measure("amount", _("Amount"), MONEY),
)
LOANS_M = (Measure("contracts", _("Contracts")), Measure("amount", _("Loan amount"), MONEY))


# Student aid: every aid type but the nutrition plans'.
STUDENT_AID_TYPES = [t for t in AidType.values if t not in figures.NUTRITION_AID_TYPES]
# Categories aid is granted on, always printed (others only when some aid was granted on them).
AID_CATEGORIES = (Category.POVERTY_ALLEVIATED, Category.DIBAO)


def aid_types() -> dict[str, str]:
    return {k: v for k, v in AidType.choices if k in STUDENT_AID_TYPES}


def aid_categories() -> dict[str, str]:
    return {**dict(Category.choices), NO_CATEGORY: _("No family category recorded")}


def stage_and_type() -> dict[str, str]:
    types = dict(AidType.choices)
    return {f"{s}:{t}": f"{label} · {types[t]}" for s, label in Stage.choices for t in STUDENT_AID_TYPES}


UNPAID_STATUSES = (Payment.Status.FAILED, Payment.Status.SENT, Payment.Status.PENDING)


def unpaid_lines() -> dict[str, str]:
    return {
        Payment.Status.FAILED: _("Failed at the bank (to be re-paid)"),
        Payment.Status.SENT: _("At the bank, result not yet back"),
        Payment.Status.PENDING: _("Not yet sent (no bank account, or no file made yet)"),
    }


def nutrition_plan_lines() -> dict[str, str]:
    return {"nutrition_plan": _("Nutrition-plan payments (not counted as student aid)")}


def university_aid_kinds() -> dict[str, str]:
    return dict(UniversityAid.Kind.choices)


def social_programmes() -> dict[str, str]:
    # Rows are keyed by the programme's name as it was at build time.
    return {}


def loan_lines() -> dict[str, str]:
    return {
        "all": _("All contracts"),
        "poverty_alleviated": _("  of which students of poverty-alleviated households"),
    }


AID_SECTION = Section(
    "aid",
    _("Student aid"),
    aid_section,
    (
        Table("by_stage", _("Aid by stage"), _("Stage"), stages, AID_M),
        Table("by_aid_type", _("Aid by type"), _("Aid type"), aid_types, AID_M),
        Table("by_category", _("Aid by family category"), _("Family category"), aid_categories, AID_M),
        Table("by_stage_and_type", _("Aid by stage and type"), _("Stage · aid type"), stage_and_type, AID_M),
        Table(
            "nutrition_plan",
            _("Nutrition plan (its own line)"),
            _("Item"),
            nutrition_plan_lines,
            AID_M,
            totals=False,
        ),
        Table(
            "university_aid",
            _("Aid to university students (its own line, not counted as student aid)"),
            _("Aid"),
            university_aid_kinds,
            UNIVERSITY_M,
        ),
        Table(
            "social_aid",
            _("Social aid by programme (its own line, not counted as student aid)"),
            _("Programme"),
            social_programmes,
            SOCIAL_M,
        ),
        Table(
            "not_yet_paid",
            _("Aid drawn but not received (not counted above)"),
            _("State"),
            unpaid_lines,
            AID_M,
        ),
    ),
    (Measure("person_times", _("Aid person-times")), Measure("amount", _("Aid amount"), MONEY)),
    note=_(
        "Payments paid (not pending, at the bank or failed) for the terms of the period; one payment to one "
        "student is one person-time. Nutrition-plan payments are printed on their own line, not as aid. "
        "University students' aid and social aid (donors' programmes) are counted by their paid date in the "
        "period, each in its own table, never in the aid totals; their Students column counts each student once."
    ),
)

LOANS_SECTION = Section(
    "loans",
    _("Credit loans"),
    loans_section,
    (Table("summary", _("Student-origin credit loans"), _("Item"), loan_lines, LOANS_M, totals=False),),
    LOANS_M,
    note=_(
        "Loan amount = national loan + municipal top-up. Loans are counted by the student's home township."
    ),
)

TUITION_SECTION = Section(
    "tuition",
    _("Tuition waivers"),
    tuition_section,
    (Table("by_stage", _("Tuition waivers by stage"), _("Stage"), stages, AID_M),),
    (
        Measure("person_times", _("Tuition waivers, person-times")),
        Measure("amount", _("Tuition waivers"), MONEY),
    ),
)
