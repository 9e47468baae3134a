"""Issue 12, item 4: a child on a department's list is aided for its category only when they received the aid
that category qualifies them for (per the eligibility rules), not any payment; the report lists every
eligible-but-unpaid aid by child, with the reason."""

from __future__ import annotations

import io
from decimal import Decimal

from django.urls import reverse
from openpyxl import load_workbook

from students.models import Stage
from subsidies import matching, services
from subsidies.models import AidType, DisbursementBatch, MatchResult, Payment, Term
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
    unaided = {r.aid_type: r for r in run.results.filter(kind=MatchResult.Kind.UNAIDED, student=child)}
    assert set(unaided) == {AidType.NON_BOARDER_ALLOWANCE}
    assert "非寄宿生生活补助" in unaided[AidType.NON_BOARDER_ALLOWANCE].message
    # The free exercise books 低保 pupils qualify for have no cost entered yet: named once for the run.
    assert "免费作业本" in run.note and "金额" in run.note, run.note


def test_a_child_paid_the_aid_of_the_category_is_aided(bureau, make_student):
    child = make_student(Stage.PRIMARY, categories=[DIBAO], boarding=False, rural=True)
    generate(bureau, AidType.NUTRITION_PLAN)
    generate(bureau, AidType.NON_BOARDER_ALLOWANCE)
    run = run_list(bureau, DIBAO, [child])
    assert not run.results.filter(kind=MatchResult.Kind.UNAIDED).exists()


def test_every_unpaid_aid_is_listed_by_child_with_its_reason(bureau, make_student):
    """Two senior 脱贫户 students qualify for the tuition waiver and the first-tier grant (and the textbook
    waiver, whose fee the county has not entered). One was taken out of the tuition batch, the other is in
    no batch of the grant: each unpaid aid is listed against its child, with why."""
    from subsidies.models import AidPolicy

    for policy in AidPolicy.objects.filter(aid_type=AidType.TUITION_WAIVER, amount__isnull=True):
        services.policy_update(policy=policy, amount=Decimal("1600"), by=bureau)
    first = make_student(Stage.SENIOR, categories=[PA], name="高中甲")
    second = make_student(Stage.SENIOR, categories=[PA], name="高中乙")
    generate(bureau, AidType.NATIONAL_GRANT)
    tuition = generate(bureau, AidType.TUITION_WAIVER)
    services.batch_remove_student(batch=tuition, student=first, reason="核查中", by=bureau)
    grant = DisbursementBatch.objects.get(aid_type=AidType.NATIONAL_GRANT)
    services.batch_remove_student(batch=grant, student=second, reason="核查中", by=bureau)

    run = run_list(bureau, PA, [first, second])
    unaided = {
        (r.student_id, r.aid_type): r.message for r in run.results.filter(kind=MatchResult.Kind.UNAIDED)
    }
    assert set(unaided) == {(first.pk, AidType.TUITION_WAIVER), (second.pk, AidType.NATIONAL_GRANT)}
    assert "800.00" in unaided[(first.pk, AidType.TUITION_WAIVER)]
    assert "1500.00" in unaided[(second.pk, AidType.NATIONAL_GRANT)]
    # The textbook fee is not in the paper and not entered: no child could be paid it; the run says so once.
    assert "免教科书费" in run.note and "金额" in run.note, run.note


def test_reason_names_a_category_missing_from_the_registry(bureau, make_student):
    child = make_student(Stage.PRIMARY, boarding=True, rural=False, name="未登记")
    generate(bureau, AidType.BOARDER_ALLOWANCE)
    run = run_list(bureau, DIBAO, [child])
    result = run.results.get(kind=MatchResult.Kind.UNAIDED, aid_type=AidType.BOARDER_ALLOWANCE)
    assert "城乡低保" in result.message and "2022-09-01" in result.message, result.message


def test_reason_names_a_missing_batch_and_a_failed_payment(bureau, make_student):
    no_batch = make_student(Stage.JUNIOR, categories=[DIBAO], boarding=True, rural=False, name="无批次")
    run = run_list(bureau, DIBAO, [no_batch])
    message = run.results.get(kind=MatchResult.Kind.UNAIDED, aid_type=AidType.BOARDER_ALLOWANCE).message
    assert "批次" in message, message

    failed = make_student(Stage.JUNIOR, categories=[DIBAO], boarding=False, rural=False, name="失败")
    batch = generate(bureau, AidType.NON_BOARDER_ALLOWANCE)
    batch.payments.filter(student=failed).update(status=Payment.Status.FAILED, failure_reason="账户已销户")
    run = run_list(bureau, DIBAO, [failed])
    message = run.results.get(
        kind=MatchResult.Kind.UNAIDED, student=failed, aid_type=AidType.NON_BOARDER_ALLOWANCE
    ).message
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
    assert (
        not run.results.filter(kind=MatchResult.Kind.UNAIDED)
        .exclude(aid_type=AidType.EXERCISE_BOOKS)
        .exists()
    )


def test_the_page_and_the_api_show_the_aid_of_each_line_and_the_run_note(
    bureau, bureau_client, client_for, make_student
):
    child = make_student(Stage.PRIMARY, categories=[DIBAO], boarding=False, rural=True, name="低保娃")
    generate(bureau, AidType.NUTRITION_PLAN)
    run = run_list(bureau, DIBAO, [child])
    body = bureau_client.get(reverse("subsidies:match_detail", args=[run.pk]), {"kind": "unaided"}).content
    body = body.decode()
    assert "非寄宿生生活补助" in body and 'id="run-note"' in body and "免费作业本" in body
    api = client_for(bureau)
    detail = api.get(f"/api/subsidies/matching-runs/{run.pk}/").json()
    assert "免费作业本" in detail["note"]
    results = api.get(f"/api/subsidies/matching-runs/{run.pk}/results/").json()["results"]
    assert [(r["kind"], r["aid_type"]) for r in results] == [("unaided", AidType.NON_BOARDER_ALLOWANCE)]
