"""Sections read from student aid (subsidies): aid by stage and type, credit loans, tuition waivers."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.utils.translation import gettext_lazy as _

from reports.yearend.base import (
    MONEY,
    Builder,
    Measure,
    Period,
    Section,
    Table,
    grouped,
    stages,
    terms_q,
)
from students.models import Stage
from subsidies.models import AidType, CreditLoan, Payment

# --- Aid, loans and tuition waivers (subsidies) -----------------------------------------------------------


def aid_payments(period: Period):
    """Aid paid for the period's terms to students of the county's schools (one payment = one 人次)."""

    return Payment.objects.filter(
        school__township__county__code=period.county_code, status=Payment.Status.PAID
    ).filter(terms_q(period))


def _money_breakdowns(b: Builder, payments) -> None:
    for level, group in (("township", "school__township_id"), ("school", "school_id")):
        for key, values in grouped(payments, group, person_times=Count("pk"), amount=Sum("amount")).items():
            b.breakdown(level, key, values)


def aid_section(period: Period) -> dict:
    """Aid person-times and amounts by stage and by aid type (Ningdu 2022: 75,125 人次, 4849.83825 万元)."""

    b = Builder()
    payments = aid_payments(period)
    measures = {"person_times": Count("pk"), "amount": Sum("amount")}
    by_stage = grouped(payments, "stage", **measures)
    b.table("by_stage", [{"key": s, **by_stage.get(s, {})} for s in Stage.values], measures=AID_M)
    by_type = grouped(payments, "aid_type", **measures)
    b.table("by_aid_type", [{"key": t, **by_type.get(t, {})} for t in AidType.values], measures=AID_M)
    total = payments.aggregate(**measures)
    b.total = {"person_times": total["person_times"], "amount": total["amount"] or Decimal("0")}
    _money_breakdowns(b, payments)
    return b.as_dict()


def tuition_section(period: Period) -> dict:
    """Tuition waivers by stage (Jianshi 2019: senior high 313.317 万元 / 4,151 人次)."""

    b = Builder()
    payments = aid_payments(period).filter(aid_type=AidType.TUITION_WAIVER)
    by_stage = grouped(payments, "stage", person_times=Count("pk"), amount=Sum("amount"))
    b.table("by_stage", [{"key": s, **by_stage.get(s, {})} for s in Stage.values], measures=AID_M)
    total = payments.aggregate(person_times=Count("pk"), amount=Sum("amount"))
    b.total = {"person_times": total["person_times"], "amount": total["amount"] or Decimal("0")}
    _money_breakdowns(b, payments)
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
    for key, values in grouped(loans.exclude(home_township=None), "home_township_id", **measures).items():
        b.breakdown("township", key, values)
    return b.as_dict()


AID_M = (Measure("person_times", _("Person-times")), Measure("amount", _("Amount"), MONEY))
LOANS_M = (Measure("contracts", _("Contracts")), Measure("amount", _("Loan amount"), MONEY))


def aid_types() -> dict[str, str]:

    return dict(AidType.choices)


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
    ),
    (Measure("person_times", _("Aid person-times")), Measure("amount", _("Aid amount"), MONEY)),
    note=_(
        "Payments marked paid for the terms of the period; one payment to one student is one person-time."
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
