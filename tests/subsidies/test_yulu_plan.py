"""雨露计划 (Yulu Plan): the rural-revitalisation bureau's 3,000 a year for secondary vocational students of
脱贫户 and monitored households, a row of the policy table, and its list matched like the other departments'
(issue 17)."""

from __future__ import annotations

from decimal import Decimal

from students.models import Stage
from subsidies import eligibility, matching, pengshui, services
from subsidies.models import (
    AidExclusionGroup,
    AidPolicy,
    AidType,
    MatchResult,
    MatchRun,
    Payment,
    Term,
    term_start,
)
from tests.subsidies.banking import pay_through_the_bank
from tests.subsidies.conftest import xlsx

PA, MARGINAL = "poverty_alleviated", "marginal"


def test_the_row_is_loaded_with_the_table(db):
    """By the migrations (no county adds it by hand), once; loading the table again adds nothing."""
    row = AidPolicy.objects.get(aid_type=AidType.YULU_PLAN)
    assert (row.stage, row.amount, row.tier) == ("vocational", Decimal("3000.00"), 0)
    assert pengshui.load_rows(AidPolicy, pengshui.YULU_PLAN_ROWS) == 0
    assert pengshui.load(AidPolicy) == 0


def _run(bureau, category, students):
    return matching.match_upload(
        upload=xlsx([["姓名", "身份证号码"], *[[s.name, s.id_number] for s in students]]),
        source=MatchRun.Source.YULU_PLAN,
        category=category,
        school_year=2022,
        term=Term.AUTUMN,
        by=bureau,
        file_name="雨露计划.xlsx",
    )


def _aids(student) -> dict[str, Decimal]:
    on = term_start(2022, Term.AUTUMN)
    return {d.aid_type: d.amount_per_term for d in eligibility.eligible_aids(student, on) if d.payable}


def test_vocational_students_of_poverty_alleviated_and_monitored_households_qualify(make_student):
    pa = make_student(Stage.VOCATIONAL, categories=[PA])
    monitored = make_student(Stage.VOCATIONAL, categories=[MARGINAL])
    assert _aids(pa)[AidType.YULU_PLAN] == Decimal("1500.00")
    assert _aids(monitored)[AidType.YULU_PLAN] == Decimal("1500.00")


def test_senior_high_and_dibao_only_students_do_not(make_student):
    assert AidType.YULU_PLAN not in _aids(make_student(Stage.SENIOR, categories=[PA]))
    assert AidType.YULU_PLAN not in _aids(make_student(Stage.VOCATIONAL, categories=["dibao"]))


def test_the_yulu_list_finds_the_student_not_paid_the_grant(bureau, make_student):
    child = make_student(Stage.VOCATIONAL, categories=[PA], name="中职娃")
    run = _run(bureau, PA, [child])
    assert run.get_source_display()
    unaided = run.results.filter(kind=MatchResult.Kind.UNAIDED, student=child, aid_type=AidType.YULU_PLAN)
    assert unaided.exists()


def test_a_student_paid_the_grant_is_aided(bureau, make_student):
    child = make_student(Stage.VOCATIONAL, categories=[PA], name="中职娃")
    batch = services.batch_generate(aid_type=AidType.YULU_PLAN, school_year=2022, term=Term.AUTUMN, by=bureau)
    pay_through_the_bank(batch, bureau)
    assert Payment.objects.get(student=child, aid_type=AidType.YULU_PLAN).amount == Decimal("1500.00")
    run = _run(bureau, PA, [child])
    assert not run.results.filter(kind=MatchResult.Kind.UNAIDED, aid_type=AidType.YULU_PLAN).exists()


def test_the_yulu_plan_is_paid_beside_the_national_grant(bureau, make_student):
    """No paper excludes 雨露计划 from other aid: the only exclusive aids it names are the compulsory-stage
    allowances ("at most one of: boarder allowance, non-boarder allowance, free lunch") and the nutrition-plan
    pairs. A first-year vocational 脱贫户 student is paid both in one term, and no exclusion group holds it."""
    child = make_student(Stage.VOCATIONAL, categories=[PA], grade=1)
    aids = _aids(child)
    assert (aids[AidType.YULU_PLAN], aids[AidType.NATIONAL_GRANT]) == (Decimal("1500.00"), Decimal("1500.00"))
    for aid_type in (AidType.NATIONAL_GRANT, AidType.YULU_PLAN):
        batch = services.batch_generate(aid_type=aid_type, school_year=2022, term=Term.AUTUMN, by=bureau)
        pay_through_the_bank(batch, bureau)
    paid = Payment.objects.filter(student=child, status=Payment.Status.PAID)
    assert sorted(paid.values_list("aid_type", flat=True)) == sorted(
        [AidType.NATIONAL_GRANT, AidType.YULU_PLAN]
    )
    assert not AidExclusionGroup.objects.filter(aid_types__contains=[AidType.YULU_PLAN]).exists()
