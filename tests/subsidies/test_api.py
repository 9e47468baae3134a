"""/api/subsidies/: each endpoint for each role, filters, and the bad input refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from students.models import Stage
from subsidies import services
from subsidies.models import AidPolicy, AidType, DisbursementBatch, Payment
from tests.factories import make_id_number
from tests.refusals import nothing_written
from tests.subsidies.banking import pay_through_the_bank

PA, DIBAO = "poverty_alleviated", "dibao"
API = "/api/subsidies"


@pytest.fixture
def batch(bureau, make_student, school_a, school_b):
    make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a)
    make_student(Stage.PRIMARY, categories=[DIBAO], boarding=True, school=school_a)
    make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_b)
    return services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )


def test_schema_lists_the_aid_endpoints(bureau_client):
    body = bureau_client.get("/api/schema/").content.decode()
    for path in (
        "/api/subsidies/batches/",
        "/api/subsidies/policies/",
        "/api/subsidies/payments/",
        "/api/subsidies/loans/",
    ):
        assert path in body


def test_anonymous_gets_nothing(client, batch):
    # 401, not 403: the token scheme answers "WWW-Authenticate: Token", i.e. "sign in first".
    assert client.get(f"{API}/batches/").status_code == 401
    assert client.get(f"{API}/payments/").status_code == 401


def test_anonymous_writes_nothing(client, batch):
    with nothing_written(batch):
        created = client.post(
            f"{API}/batches/",
            {"aid_type": "non_boarder_allowance", "school_year": 2022, "term": "autumn"},
            content_type="application/json",
        )
        approved = client.post(f"{API}/batches/{batch.pk}/approve/", {}, content_type="application/json")
    assert (created.status_code, approved.status_code) == (401, 401)


def test_every_role_reads_the_policy_table(client_for, bureau, official, township_officer, principal_a):
    for user in (bureau, official, township_officer, principal_a):
        response = client_for(user).get(f"{API}/policies/", {"stage": "junior"})
        assert response.status_code == 200
        assert response.json()["count"] == 8


def test_only_bureau_writes_policies(client_for, bureau, official, principal_a):
    row = {"aid_type": "freshman_travel", "stage": "higher", "amount": "600.00", "valid_from": "2022-01-01"}
    with nothing_written():
        for user in (official, principal_a):
            response = client_for(user).post(f"{API}/policies/", row, content_type="application/json")
            assert response.status_code == 403
    response = client_for(bureau).post(f"{API}/policies/", row, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["amount_per_term"] == "300.00"


def test_negative_policy_amount_is_refused_by_the_api(bureau_client):
    row = {"aid_type": "freshman_travel", "stage": "higher", "amount": "-5", "valid_from": "2022-01-01"}
    with nothing_written():
        response = bureau_client.post(f"{API}/policies/", row, content_type="application/json")
    assert response.status_code == 400
    assert "amount" in response.json()


def test_overlapping_policy_is_refused_by_the_api(bureau_client):
    row = {"aid_type": "boarder_allowance", "stage": "junior", "amount": "1300", "valid_from": "2023-09-01"}
    response = bureau_client.post(f"{API}/policies/", row, content_type="application/json")
    assert response.status_code == 400
    assert AidPolicy.objects.filter(aid_type="boarder_allowance", stage="junior").count() == 1


def test_batch_list_shows_each_role_its_own_part(
    client_for, bureau, principal_a, principal_b, township_officer, official, batch
):
    expected = {
        bureau: (3, "1500.00"),
        official: (3, "1500.00"),
        principal_a: (2, "1000.00"),
        principal_b: (1, "500.00"),
        township_officer: (2, "1000.00"),
    }
    for user, (count, amount) in expected.items():
        row = client_for(user).get(f"{API}/batches/").json()["results"][0]
        assert (row["person_times"], row["amount"]) == (count, amount), user.username


def test_principal_sees_only_own_school_payments(principal_a_client, batch, school_a):
    rows = principal_a_client.get(f"{API}/payments/", {"batch": batch.pk}).json()["results"]
    assert {r["school"] for r in rows} == {school_a.pk}
    assert all("*" in r["student_id_masked"] for r in rows)


def test_payment_of_another_school_is_404(principal_a_client, batch, school_b):
    other = Payment.objects.get(batch=batch, school=school_b)
    assert principal_a_client.get(f"{API}/payments/{other.pk}/").status_code == 404


def test_payments_filter_by_aid_type_stage_and_term(bureau_client, batch):
    assert (
        bureau_client.get(
            f"{API}/payments/", {"aid_type": "boarder_allowance", "stage": "primary", "term": "autumn"}
        ).json()["count"]
        == 3
    )
    assert bureau_client.get(f"{API}/payments/", {"aid_type": "free_lunch"}).json()["count"] == 0


def test_bureau_generates_and_approves_through_the_api(bureau_client, bureau, make_student):
    make_student(Stage.JUNIOR, categories=[DIBAO], rural=False)
    response = bureau_client.post(
        f"{API}/batches/",
        {"aid_type": "non_boarder_allowance", "school_year": 2022, "term": "autumn"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert response.json()["amount"] == "312.50"
    # 审批通过 states what it approves: the batch's person-times and amount as the clerk read them.
    figures = {"expected_count": response.json()["person_times"], "expected_amount": "312.50"}
    assert (
        bureau_client.post(f"{API}/batches/{pk}/approve/", figures, content_type="application/json").json()[
            "status"
        ]
        == "approved"
    )
    # A double submission of the same approval is harmless.
    assert (
        bureau_client.post(
            f"{API}/batches/{pk}/approve/", figures, content_type="application/json"
        ).status_code
        == 200
    )
    # Marking the batch paid does not pay a family: only the bank's result does (issue 12).
    response = bureau_client.post(
        f"{API}/batches/{pk}/mark-paid/",
        {"bank_reference": "B-1", "paid_on": "2022-10-01"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not Payment.objects.paid().exists()
    pay_through_the_bank(DisbursementBatch.objects.get(pk=pk), bureau)
    response = bureau_client.get(f"{API}/batches/{pk}/")
    assert (response.json()["status"], response.json()["paid_amount"]) == ("paid", "312.50")
    assert (
        bureau_client.post(f"{API}/batches/{pk}/approve/", {}, content_type="application/json").status_code
        == 400
    )


@pytest.mark.parametrize("who", ["principal_a", "township_officer", "official"])
def test_only_bureau_approves_through_the_api(request, client_for, batch, who):
    response = client_for(request.getfixturevalue(who)).post(
        f"{API}/batches/{batch.pk}/approve/", {}, content_type="application/json"
    )
    assert response.status_code == 403
    batch.refresh_from_db()
    assert batch.status == DisbursementBatch.Status.DRAFT


def test_principal_removes_own_student_but_not_another_schools(principal_a_client, batch, school_a, school_b):
    own = Payment.objects.filter(batch=batch, school=school_a).first().student_id
    other = Payment.objects.get(batch=batch, school=school_b).student_id
    response = principal_a_client.post(
        f"{API}/batches/{batch.pk}/remove-student/",
        {"student": own, "reason": "left"},
        content_type="application/json",
    )
    assert response.status_code == 204
    response = principal_a_client.post(
        f"{API}/batches/{batch.pk}/remove-student/",
        {"student": other, "reason": "x"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert Payment.objects.filter(batch=batch, student_id=other).exists()


def test_totals_endpoint_reconciles(bureau_client, batch):
    data = bureau_client.get(f"{API}/batches/{batch.pk}/totals/").json()
    assert data["amount"] == "1500.00"
    for rows in data["by"].values():
        assert sum(Decimal(r["amount"]) for r in rows) == Decimal("1500.00")


def test_mark_paid_for_a_student_not_in_the_batch_is_refused(bureau_client, bureau, batch, make_student):
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    outsider = make_student(Stage.PRIMARY)
    response = bureau_client.post(
        f"{API}/batches/{batch.pk}/mark-paid/",
        {"bank_reference": "B", "paid_on": "2022-10-01", "students": [outsider.pk]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert outsider.name in response.content.decode()
    assert not Payment.objects.paid().exists()


def test_bank_account_number_is_masked_in_the_api(principal_a_client, student_a):
    response = principal_a_client.post(
        f"{API}/bank-accounts/",
        {
            "student": student_a.pk,
            "holder_name": "张父",
            "bank_name": "农业银行",
            "account_number": "6228480012345678901",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = principal_a_client.get(f"{API}/bank-accounts/").content.decode()
    assert "6228480012345678901" not in body
    assert "6228 **** **** 8901" in body


def test_principal_cannot_set_another_schools_account(principal_a_client, principal_b_client, student_b):
    account = {
        "student": student_b.pk,
        "holder_name": "李父",
        "bank_name": "农村信用社",
        "account_number": "6228480012345678901",
    }
    with nothing_written(student_b):
        response = principal_a_client.post(f"{API}/bank-accounts/", account, content_type="application/json")
    assert response.status_code == 400  # not a choice: the student is outside principal A's scope
    assert "student" in response.json()
    response = principal_b_client.post(f"{API}/bank-accounts/", account, content_type="application/json")
    assert response.status_code == 201


def test_loan_above_the_cap_is_refused_by_the_api(bureau_client):
    loan = {
        "id_number": make_id_number(date(2003, 1, 1)),
        "name": "李大学",
        "university": "西南大学",
        "school_year": 2022,
        "contract_date": "2022-09-10",
        "amount": "12500.00",
    }
    with nothing_written():
        assert bureau_client.post(f"{API}/loans/", loan, content_type="application/json").status_code == 400
    loan["amount"] = "12000.00"
    assert bureau_client.post(f"{API}/loans/", loan, content_type="application/json").status_code == 201
    totals = bureau_client.get(f"{API}/loans/totals/").json()
    assert totals == [{"school_year": 2022, "n": 1, "amount": "12000.00", "top_up": "0.00"}]


def test_principal_cannot_record_loans_or_see_matching(principal_a_client, bureau_client):
    loan = {
        "id_number": make_id_number(date(2003, 1, 1)),
        "name": "李大学",
        "university": "西南大学",
        "school_year": 2022,
        "contract_date": "2022-09-10",
        "amount": "8000.00",
    }
    with nothing_written():
        response = principal_a_client.post(f"{API}/loans/", loan, content_type="application/json")
    assert response.status_code == 403
    assert principal_a_client.get(f"{API}/matching-runs/").json()["count"] == 0
    assert bureau_client.post(f"{API}/loans/", loan, content_type="application/json").status_code == 201


def test_payment_list_has_no_n_plus_one(
    bureau_client, batch, make_student, bureau, django_assert_max_num_queries
):
    with django_assert_max_num_queries(9):  # one of them writes the access-log line of the read
        response = bureau_client.get(f"{API}/payments/")
    assert response.json()["count"] == 3


def test_quota_is_set_by_bureau_only_and_shows_what_is_left(client_for, bureau, principal_a, official, batch):
    quota = {"aid_type": "boarder_allowance", "school_year": 2022, "term": "autumn", "amount": "2000.00"}
    with nothing_written(batch):
        for user in (principal_a, official):
            response = client_for(user).post(f"{API}/quotas/", quota, content_type="application/json")
            assert response.status_code == 403
    assert (
        client_for(bureau).post(f"{API}/quotas/", quota, content_type="application/json").status_code == 201
    )
    row = client_for(principal_a).get(f"{API}/quotas/").json()["results"][0]
    assert (row["amount"], row["drawn"], row["remaining"]) == ("2000.00", "1500.00", "500.00")


def test_editing_the_standard_of_a_paid_row_is_refused_by_the_api(bureau_client, bureau, batch):
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    policy = AidPolicy.objects.get(aid_type="boarder_allowance", stage="primary")
    with nothing_written(policy):
        response = bureau_client.patch(
            f"{API}/policies/{policy.pk}/", {"amount": "1100.00"}, content_type="application/json"
        )
    assert response.status_code == 400
    assert policy.amount == Decimal("1000.00")
    response = bureau_client.patch(
        f"{API}/policies/{policy.pk}/", {"valid_to": "2023-08-31"}, content_type="application/json"
    )
    assert response.status_code == 200


def test_out_of_county_ledger_roles(
    client_for, bureau, township_officer, principal_a, township_a, township_b
):
    line = {
        "id_number": make_id_number(date(2009, 4, 4)),
        "name": "外读",
        "home_township": township_a.pk,
        "destination_county_code": "500243",
        "destination_county": "彭水县",
        "destination_school": "彭水中学",
        "stage": "junior",
        "school_year": 2022,
    }
    with nothing_written():
        response = client_for(principal_a).post(
            f"{API}/out-of-county/", line, content_type="application/json"
        )
    assert response.status_code == 403
    assert (
        client_for(township_officer)
        .post(f"{API}/out-of-county/", line, content_type="application/json")
        .status_code
        == 201
    )
    other = dict(line, id_number=make_id_number(date(2009, 5, 5)), home_township=township_b.pk)
    with nothing_written():  # outside his township
        response = client_for(township_officer).post(
            f"{API}/out-of-county/", other, content_type="application/json"
        )
    assert response.status_code == 403
    assert (
        client_for(bureau).post(f"{API}/out-of-county/", other, content_type="application/json").status_code
        == 201
    )
    rows = client_for(township_officer).get(f"{API}/out-of-county/").json()["results"]
    assert [r["name"] for r in rows] == ["外读"]
    assert "*" in rows[0]["id_number_masked"] and "id_number" not in rows[0]
    assert client_for(principal_a).get(f"{API}/out-of-county/").json()["count"] == 0


def test_matching_upload_through_the_api(client_for, bureau, official, batch):
    from tests.subsidies.conftest import xlsx

    paid = Payment.objects.filter(batch=batch, category=PA).first().student
    upload = xlsx([["身份证号", "姓名"], [paid.id_number, paid.name], ["bad", "坏"]])
    data = {"source": "rural", "category": PA, "school_year": 2022, "term": "autumn", "file": upload}
    with nothing_written():
        assert client_for(official).post(f"{API}/matching-runs/", data).status_code == 403
    data["file"] = xlsx([["身份证号", "姓名"], [paid.id_number, paid.name], ["bad", "坏"]])
    response = client_for(bureau).post(f"{API}/matching-runs/", data)
    assert response.status_code == 201, response.content
    counts = response.json()["counts"]
    assert counts == {"unaided": 0, "unconfirmed": 1, "not_found": 0, "invalid": 1}
    results = (
        client_for(bureau)
        .get(f"{API}/matching-runs/{response.json()['id']}/results/", {"kind": "invalid"})
        .json()
    )
    assert results["results"][0]["row_number"] == 3


def test_batch_list_has_no_n_plus_one(bureau_client, bureau, make_student, django_assert_max_num_queries):
    for aid, stage, kwargs in [
        ("boarder_allowance", Stage.PRIMARY, {"boarding": True}),
        ("free_lunch", Stage.JUNIOR, {}),
        ("national_grant", Stage.SENIOR, {}),
    ]:
        make_student(stage, categories=[PA], **kwargs)
        services.batch_generate(aid_type=aid, school_year=2022, term="autumn", by=bureau)
    # Session, user, second factor, count, the batches, their totals (one pass over the page's payments,
    # grouped by batch), session save: not one per batch.
    with django_assert_max_num_queries(10):
        rows = bureau_client.get(f"{API}/batches/").json()["results"]
    assert len(rows) == 3
    assert all(r["person_times"] == 1 for r in rows)


def test_officials_read_no_matching_runs_through_the_api_as_through_the_pages(
    client_for, bureau, official, batch
):
    """Issue 16: the pages were bureau-only while the API let officials read the runs."""
    from subsidies.models import MatchRun

    MatchRun.objects.create(
        source="civil", category="dibao", school_year=2022, term="autumn", file_name="x.xlsx", by=bureau
    )
    assert client_for(bureau).get(f"{API}/matching-runs/").json()["count"] == 1
    assert client_for(official).get(f"{API}/matching-runs/").json()["count"] == 0
    assert client_for(official).get(reverse("subsidies:match_list")).status_code == 403


def test_batch_list_totals_are_the_users_payments_of_each_batch(
    bureau, bureau_client, principal_a_client, school_a, school_b, make_student
):
    """The page's totals come from one grouped pass: a principal's are their school's payments only."""
    for school in (school_a, school_a, school_b):
        make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school)
    services.batch_generate(aid_type="boarder_allowance", school_year=2022, term="autumn", by=bureau)
    county = bureau_client.get(f"{API}/batches/").json()["results"]
    school = principal_a_client.get(f"{API}/batches/").json()["results"]
    assert [r["person_times"] for r in county] == [3] and [r["person_times"] for r in school] == [2]
    assert Decimal(county[0]["amount"]) == Decimal(school[0]["amount"]) * 3 / 2
    assert county[0]["paid_person_times"] == 0
