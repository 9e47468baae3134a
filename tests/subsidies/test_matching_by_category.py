"""Issue 12, item 4: a child on a department's list is aided for its category only when they received the aid
that category qualifies them for (per the eligibility rules), not any payment; the report lists every
eligible-but-unpaid aid by child, with the reason."""

from __future__ import annotations

import io

from django.urls import reverse
from openpyxl import load_workbook

from students.models import Stage
from subsidies import matching, services
from subsidies.models import AidType, MatchResult, Payment, Term
from tests.subsidies.conftest import xlsx

PA, DIBAO = "poverty_alleviated", "dibao"


def run_list(bureau, category, students, school_year=2022, term=Term.AUTUMN):
    return matching.match_upload(
        upload=xlsx([["姓名", "身份证号码"], *[[s.name, s.id_number] for s in students]]),
        source="civil" if category == DIBAO else "rural",
        category=category,
        school_year=school_year,
        term=term,
        by=bureau,
        file_name="list.xlsx",
    )


def generate(bureau, aid_type):
    return services.batch_generate(aid_type=aid_type, school_year=2022, term=Term.AUTUMN, by=bureau)


def test_nutrition_meal_money_does_not_make_a_dibao_child_aided(bureau, make_student):
    """The issue's case: a rural 低保 pupil received only the nutrition-plan money every rural pupil gets."""
    child = make_student(Stage.PRIMARY, categories=[DIBAO], boarding=False, rural=True, name="低保娃")
    generate(bureau, AidType.NUTRITION_PLAN)
    assert Payment.objects.filter(student=child, aid_type=AidType.NUTRITION_PLAN).exists()

    run = run_list(bureau, DIBAO, [child])
    unaided = run.results.filter(kind=MatchResult.Kind.UNAIDED)
    assert [(r.student, r.aid_type) for r in unaided] == [(child, AidType.NON_BOARDER_ALLOWANCE)]
    assert "非寄宿生生活补助" in unaided.get().message


def test_a_child_paid_the_aid_of_the_category_is_aided(bureau, make_student):
    child = make_student(Stage.PRIMARY, categories=[DIBAO], boarding=False, rural=True)
    generate(bureau, AidType.NUTRITION_PLAN)
    generate(bureau, AidType.NON_BOARDER_ALLOWANCE)
    run = run_list(bureau, DIBAO, [child])
    assert not run.results.filter(kind=MatchResult.Kind.UNAIDED).exists()


def test_every_unpaid_aid_is_listed_by_child_with_its_reason(bureau, make_student):
    """A senior 脱贫户 student qualifies for the tuition waiver, the textbook waiver and the first-tier grant;
    only the grant was paid. The two others are listed, each with why it was not paid."""
    child = make_student(Stage.SENIOR, categories=[PA], name="高中生")
    generate(bureau, AidType.NATIONAL_GRANT)
    run = run_list(bureau, PA, [child])
    unaided = {
        r.aid_type: r.message for r in run.results.filter(kind=MatchResult.Kind.UNAIDED, student=child)
    }
    assert set(unaided) == {AidType.TUITION_WAIVER, AidType.TEXTBOOK_WAIVER}
    # The senior fees are not in the paper: the county has not entered them, so no batch could pay them.
    assert all("金额" in message for message in unaided.values()), unaided


def test_reason_names_a_category_missing_from_the_registry(bureau, make_student):
    child = make_student(Stage.PRIMARY, boarding=True, rural=False, name="未登记")
    generate(bureau, AidType.BOARDER_ALLOWANCE)
    run = run_list(bureau, DIBAO, [child])
    result = run.results.get(kind=MatchResult.Kind.UNAIDED)
    assert result.aid_type == AidType.BOARDER_ALLOWANCE
    assert "城乡低保" in result.message and "2022-09-01" in result.message, result.message


def test_reason_names_a_missing_batch_and_a_failed_payment(bureau, make_student):
    no_batch = make_student(Stage.JUNIOR, categories=[DIBAO], boarding=True, rural=False, name="无批次")
    run = run_list(bureau, DIBAO, [no_batch])
    message = run.results.get(kind=MatchResult.Kind.UNAIDED).message
    assert "批次" in message, message

    failed = make_student(Stage.JUNIOR, categories=[DIBAO], boarding=False, rural=False, name="失败")
    batch = generate(bureau, AidType.NON_BOARDER_ALLOWANCE)
    batch.payments.filter(student=failed).update(status=Payment.Status.FAILED, failure_reason="账户已销户")
    run = run_list(bureau, DIBAO, [failed])
    message = run.results.get(kind=MatchResult.Kind.UNAIDED, student=failed).message
    assert "账户已销户" in message, message


def test_the_matching_export_lists_the_aid_of_each_unpaid_line(bureau, bureau_client, make_student):
    child = make_student(Stage.PRIMARY, categories=[DIBAO], boarding=False, rural=True, name="低保娃")
    generate(bureau, AidType.NUTRITION_PLAN)
    run = run_list(bureau, DIBAO, [child])
    response = bureau_client.get(reverse("subsidies:match_export", args=[run.pk]))
    sheet = load_workbook(io.BytesIO(response.content))["在名单上但本学期未资助"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert "资助项目" in rows[0], rows[0]
    assert any("非寄宿生生活补助" in (cell or "") for row in rows[1:] for cell in map(str, row))


def test_a_child_whose_category_qualifies_for_nothing_here_is_not_listed(bureau, make_student):
    """A 脱贫户 pupil with a 低保 card: the 脱贫户 exclusion gives the free lunch instead of the non-boarder
    allowance; with the lunch paid, the 低保 list finds nothing missed."""
    child = make_student(Stage.PRIMARY, categories=[PA, DIBAO], boarding=False, rural=False)
    generate(bureau, AidType.FREE_LUNCH)
    run = run_list(bureau, DIBAO, [child])
    assert not run.results.filter(kind=MatchResult.Kind.UNAIDED).exists()
