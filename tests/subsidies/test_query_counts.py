"""Every aid list, page and API, costs the same number of queries for 1 row as for 10 or 20 (no N+1), and the
payment list reads in the order of an index."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from students.models import Stage
from subsidies import selectors
from subsidies.models import (
    AidPolicy,
    AidQuota,
    AidType,
    BankAccount,
    CreditLoan,
    DisbursementBatch,
    MatchResult,
    MatchRun,
    OutOfCountyStudent,
    Payment,
    Term,
)
from tests.factories import make_id_number

API = "/api/subsidies"
_serial = count(1)


def _queries(client, url) -> int:
    client.get(url)  # warm up: session, second factor, caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def _same_queries_for_more_rows(client, urls, grow, django_assert_num_queries, *, few=1, many=20):
    """Each of `urls` costs as many queries with `many` rows as with `few` (the last response is returned)."""
    urls = [urls] if isinstance(urls, str) else urls
    grow(few)
    baseline = {url: _queries(client, url) for url in urls}
    grow(many - few)
    for url in urls:
        client.get(url)
        with django_assert_num_queries(baseline[url]):
            response = client.get(url)
        assert response.status_code == 200
    return response


def _policy(aid_type=AidType.BOARDER_ALLOWANCE, stage=Stage.PRIMARY) -> AidPolicy:
    return AidPolicy.objects.filter(aid_type=aid_type, stage=stage).order_by("tier", "valid_from").first()


# Aids that one student may have side by side in a term (none excludes another: AidExclusionGroup).
AIDS = [
    (AidType.BOARDER_ALLOWANCE, Stage.PRIMARY),
    (AidType.TUITION_WAIVER, Stage.SENIOR),
    (AidType.NUTRITION_PLAN, Stage.PRIMARY),
    (AidType.TEXTBOOK_WAIVER, Stage.SENIOR),
    (AidType.NATIONAL_GRANT, Stage.SENIOR),
]
# 20 distinct (aid type, school year, term): one batch, or one quota, each.
BATCH_KEYS = [
    (aid, stage, year, term) for aid, stage in AIDS for year in (2021, 2022) for term in Term.values
]


@pytest.fixture
def pay(bureau, make_student, school_a):
    """pay(batch, n): n more payments in a batch (students of school A, direct rows: only counting here)."""

    def add(batch: DisbursementBatch, n: int, stage=Stage.PRIMARY) -> None:
        policy = _policy(batch.aid_type, stage)
        for _ in range(n):
            student = make_student(stage, school=school_a)
            Payment.objects.create(
                batch=batch,
                student=student,
                aid_type=batch.aid_type,
                school_year=batch.school_year,
                term=batch.term,
                school=school_a,
                stage=stage,
                policy=policy,
                amount=Decimal("500.00"),
                payee="person",
                reason="test",
            )

    return add


@pytest.fixture
def batches(bureau, pay):
    made = []

    def grow(n: int) -> None:
        for aid, stage, year, term in BATCH_KEYS[len(made) : len(made) + n]:
            batch = DisbursementBatch.objects.create(
                aid_type=aid,
                school_year=year,
                term=term,
                eligibility_date=date(year, 9, 1),
                created_by=bureau,
            )
            pay(batch, 1, stage)
            made.append(batch)

    return grow


@pytest.fixture
def quotas(batches):
    made = []

    def grow(n: int) -> None:
        batches(n)
        for aid, _stage, year, term in BATCH_KEYS[len(made) : len(made) + n]:
            made.append(
                AidQuota.objects.create(aid_type=aid, school_year=year, term=term, amount=Decimal("600"))
            )

    return grow


# --- Quotas (the drawn amount is an annotation, not a query per quota) --------------------------------


def test_quota_api_costs_the_same_for_1_and_10_quotas(bureau_client, quotas, django_assert_num_queries):
    response = _same_queries_for_more_rows(
        bureau_client, f"{API}/quotas/", quotas, django_assert_num_queries, many=10
    )
    rows = response.json()["results"]
    assert len(rows) == 10
    # Each quota drew one payment of 500.00 out of 600.00.
    assert {(r["drawn"], r["remaining"]) for r in rows} == {("500.00", "100.00")}


def test_quota_page_costs_the_same_for_1_and_10_quotas(bureau_client, quotas, django_assert_num_queries):
    response = _same_queries_for_more_rows(
        bureau_client, reverse("subsidies:quota_list"), quotas, django_assert_num_queries, many=10
    )
    assert response.content.decode().count("500.00") == 10


def test_quota_drawn_counts_what_quota_status_counts(bureau, quotas, pay):

    quotas(2)
    quota = AidQuota.objects.order_by("pk").first()
    batch = DisbursementBatch.objects.get(
        aid_type=quota.aid_type, school_year=quota.school_year, term=quota.term
    )
    pay(batch, 2)
    batch.payments.filter(pk=batch.payments.order_by("pk").last().pk).update(status=Payment.Status.HELD)
    annotated = AidQuota.objects.with_drawn().get(pk=quota.pk)
    expected = selectors.quota_status(aid_type=quota.aid_type, school_year=quota.school_year, term=quota.term)
    assert annotated.drawn == expected.drawn == Decimal("1000.00")
    assert selectors.quota_status_of(annotated) == expected
    # An aid term without payments has drawn nothing (not None).
    AidQuota.objects.create(aid_type=AidType.TUITION_WAIVER, school_year=2020, term="autumn", amount=1)
    assert AidQuota.objects.with_drawn().get(aid_type=AidType.TUITION_WAIVER).drawn == Decimal("0.00")


def test_quota_created_through_the_api_shows_what_is_left(bureau_client, quotas):
    quotas(1)
    aid, _stage, year, term = BATCH_KEYS[0]
    response = bureau_client.post(
        f"{API}/quotas/",
        {"aid_type": aid, "school_year": year, "term": term, "amount": "450.00"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert (response.json()["drawn"], response.json()["remaining"]) == ("500.00", "-50.00")


# --- Batches and payments ------------------------------------------------------------------------------


def test_batch_api_and_index_cost_the_same_for_1_and_20_batches(
    bureau_client, batches, django_assert_num_queries
):
    _same_queries_for_more_rows(
        bureau_client, [f"{API}/batches/", reverse("subsidies:index")], batches, django_assert_num_queries
    )


def test_payment_api_and_batch_page_cost_the_same_for_1_and_20_payments(
    bureau_client, bureau, pay, django_assert_num_queries
):
    batch = DisbursementBatch.objects.create(
        aid_type=AidType.BOARDER_ALLOWANCE,
        school_year=2022,
        term="autumn",
        eligibility_date=date(2022, 9, 1),
        created_by=bureau,
    )
    urls = [reverse("subsidies:batch_detail", args=[batch.pk]), f"{API}/payments/"]
    response = _same_queries_for_more_rows(
        bureau_client, urls, lambda n: pay(batch, n), django_assert_num_queries
    )
    assert response.json()["count"] == 20


def test_payment_list_is_in_the_order_of_its_index(bureau_client, batches):
    batches(20)
    rows = bureau_client.get(f"{API}/payments/").json()["results"]
    keys = [(-r["school_year"], r["term"], r["aid_type"], r["id"]) for r in rows]
    assert keys == sorted(keys)
    index = next(i for i in Payment._meta.indexes if i.name == "payment_list_order_idx")
    assert index.fields == ["-school_year", "term", "aid_type", "id"]


def test_payment_list_first_page_is_read_off_the_index(bureau, school_a):
    """4,000 payments: the first page in the list's default order is read off payment_list_order_idx, with
    no sort of every payment."""
    from rest_framework.test import APIRequestFactory

    from subsidies.api import PaymentViewSet
    from tests.factories import StudentFactory

    students = StudentFactory.create_batch(200, school=school_a, stage=Stage.PRIMARY)
    policy = _policy()
    rows = []
    for aid, stage, year, term in BATCH_KEYS:
        batch = DisbursementBatch.objects.create(
            aid_type=aid, school_year=year, term=term, eligibility_date=date(year, 9, 1), created_by=bureau
        )
        rows += [
            Payment(
                batch=batch,
                student=student,
                aid_type=aid,
                school_year=year,
                term=term,
                school=school_a,
                stage=stage,
                policy=policy,
                amount=Decimal("1.00"),
                payee="person",
            )
            for student in students
        ]
    Payment.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE subsidies_payment")
    view = PaymentViewSet()
    view.request = APIRequestFactory().get("/")
    view.request.user = bureau
    plan = view.get_queryset()[:50].explain()  # the page DRF reads: LIMIT 50 in the list's order
    assert "payment_list_order_idx" in plan, plan
    assert "Sort" not in plan, plan


# --- The other lists -----------------------------------------------------------------------------------


def test_policy_list_costs_the_same_for_1_and_20_rows(bureau_client, django_assert_num_queries):
    def grow(n: int) -> None:
        for _ in range(n):
            AidPolicy.objects.create(
                aid_type=AidType.FRESHMAN_TRAVEL,
                stage="higher",
                tier=next(_serial) + 100,
                amount=Decimal("500"),
                valid_from=date(2022, 1, 1),
            )

    urls = [f"{API}/policies/?stage=higher", reverse("subsidies:policy_list")]
    _same_queries_for_more_rows(bureau_client, urls, grow, django_assert_num_queries)


@pytest.fixture
def runs(bureau, make_student):
    student = make_student(Stage.PRIMARY)

    def grow(n: int) -> None:
        for _ in range(n):
            run = MatchRun.objects.create(
                source="rural", category="poverty_alleviated", school_year=2022, term="autumn", by=bureau
            )
            MatchResult.objects.create(run=run, kind="unaided", student=student, name=student.name)
            MatchResult.objects.create(run=run, kind="invalid", row_number=3, message="bad")

    return grow


def test_matching_runs_cost_the_same_for_1_and_20_runs(bureau_client, runs, django_assert_num_queries):
    urls = [reverse("subsidies:match_list"), f"{API}/matching-runs/"]
    response = _same_queries_for_more_rows(bureau_client, urls, runs, django_assert_num_queries)
    assert len(response.json()["results"]) == 20
    assert {tuple(sorted(r["counts"].items())) for r in response.json()["results"]} == {
        (("invalid", 1), ("not_found", 0), ("unaided", 1), ("unconfirmed", 0))
    }


def test_matching_results_cost_the_same_for_1_and_20_results(
    bureau_client, bureau, make_student, django_assert_num_queries
):
    run = MatchRun.objects.create(
        source="rural", category="poverty_alleviated", school_year=2022, term="autumn", by=bureau
    )

    def grow(n: int) -> None:
        for _ in range(n):
            student = make_student(Stage.PRIMARY)
            MatchResult.objects.create(run=run, kind="unaided", student=student, name=student.name)

    urls = [f"{API}/matching-runs/{run.pk}/results/", reverse("subsidies:match_detail", args=[run.pk])]
    _same_queries_for_more_rows(bureau_client, urls, grow, django_assert_num_queries)


def test_bank_accounts_cost_the_same_for_1_and_20_accounts(
    bureau_client, make_student, django_assert_num_queries
):
    def grow(n: int) -> None:
        for _ in range(n):
            BankAccount.objects.create(
                student=make_student(Stage.PRIMARY),
                holder_name="某某",
                bank_name="农商行",
                account_number=f"6217{next(_serial):012d}",
            )

    _same_queries_for_more_rows(bureau_client, f"{API}/bank-accounts/", grow, django_assert_num_queries)


def test_ledger_and_loans_cost_the_same_for_1_and_20_lines(
    bureau_client, township_a, django_assert_num_queries
):
    def ledger(n: int) -> None:
        for _ in range(n):
            OutOfCountyStudent.objects.create(
                id_number=make_id_number(date(2010, 1, 1)),
                name=f"县外{next(_serial)}",
                home_township=township_a,
                destination_county_code="360731",
                destination_county="于都县",
                destination_school="于都中学",
                stage=Stage.JUNIOR,
                school_year=2022,
            )

    def loans(n: int) -> None:
        for _ in range(n):
            CreditLoan.objects.create(
                id_number=make_id_number(date(2004, 1, 1)),
                name=f"大学生{next(_serial)}",
                home_township=township_a,
                university="南昌大学",
                school_year=2022,
                contract_date=date(2022, 9, 1),
                amount=Decimal("8000"),
            )

    urls = [f"{API}/out-of-county/", reverse("subsidies:out_of_county")]
    _same_queries_for_more_rows(bureau_client, urls, ledger, django_assert_num_queries)
    urls = [f"{API}/loans/", reverse("subsidies:loan_list")]
    _same_queries_for_more_rows(bureau_client, urls, loans, django_assert_num_queries)


def test_student_aid_page_costs_the_same_for_1_and_20_payments(
    bureau_client, bureau, make_student, school_a, django_assert_num_queries
):
    student = make_student(Stage.PRIMARY, school=school_a)
    policy = _policy()
    keys = iter(BATCH_KEYS)

    def grow(n: int) -> None:
        for _ in range(n):
            aid, stage, year, term = next(keys)
            batch = DisbursementBatch.objects.create(
                aid_type=aid,
                school_year=year,
                term=term,
                eligibility_date=date(year, 9, 1),
                created_by=bureau,
            )
            Payment.objects.create(
                batch=batch,
                student=student,
                aid_type=aid,
                school_year=year,
                term=term,
                school=school_a,
                stage=stage,
                policy=policy,
                amount=Decimal("100.00"),
                payee="person",
            )

    _same_queries_for_more_rows(
        bureau_client, reverse("subsidies:student_aid", args=[student.pk]), grow, django_assert_num_queries
    )
