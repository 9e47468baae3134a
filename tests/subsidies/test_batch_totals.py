"""The batch list's figures come from `BatchSchoolTotal`, kept by the payment table's triggers (issue 19): the
same figures, to the fen and for every role, as summing the payments themselves, after every kind of write,
and the list and the batch API read no payment to show them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Q, Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from students.models import Stage
from subsidies.models import AidPolicy, AidType, BatchSchoolTotal, DisbursementBatch, Payment
from subsidies.models.batches import totals_by_batch

S = Payment.Status


def _policy() -> AidPolicy:
    return AidPolicy.objects.filter(aid_type=AidType.BOARDER_ALLOWANCE, stage=Stage.PRIMARY).first()


def _batch(bureau, year: int = 2022) -> DisbursementBatch:
    return DisbursementBatch.objects.create(
        aid_type=AidType.BOARDER_ALLOWANCE,
        school_year=year,
        term="autumn",
        eligibility_date=date(year, 9, 1),
        created_by=bureau,
    )


def _pay(batch, student, school, amount: str, status=S.PENDING) -> Payment:
    return Payment.objects.create(
        batch=batch,
        student=student,
        aid_type=batch.aid_type,
        school_year=batch.school_year,
        term=batch.term,
        school=school,
        stage=Stage.PRIMARY,
        policy=_policy(),
        amount=Decimal(amount),
        payee="person",
        status=status,
        reason="test",
    )


def _from_payments(user, batch) -> dict:
    """What the list showed before: the user's visible payments of the batch, summed."""
    paid = Q(status=S.PAID)
    row = (
        Payment.objects.visible_to(user)
        .filter(batch=batch)
        .exclude(status=S.HELD)
        .aggregate(
            n=Count("pk"),
            drawn=Sum("amount"),
            paid_n=Count("pk", filter=paid),
            paid=Sum("amount", filter=paid),
        )
    )
    return {
        "person_times": row["n"],
        "amount": row["drawn"],
        "paid_person_times": row["paid_n"],
        "paid_amount": row["paid"],
    }


EMPTY = {"person_times": 0, "amount": None, "paid_person_times": 0, "paid_amount": None}


@pytest.fixture
def scene(bureau, official, township_officer, principal_a, principal_b, make_student, school_a, school_b):
    a = [make_student(Stage.PRIMARY, school=school_a) for _ in range(3)]
    b = [make_student(Stage.PRIMARY, school=school_b) for _ in range(2)]
    batch = _batch(bureau)
    payments = [
        _pay(batch, a[0], school_a, "500.00"),
        _pay(batch, a[1], school_a, "250.10", S.PAID),
        _pay(batch, a[2], school_a, "125.01", S.SENT),
        _pay(batch, b[0], school_b, "333.33", S.FAILED),
        _pay(batch, b[1], school_b, "0.01", S.HELD),
    ]
    users = [bureau, official, township_officer, principal_a, principal_b]
    return batch, payments, users


def _check(batch, users) -> None:
    for user in users:
        expected = _from_payments(user, batch)
        got = totals_by_batch(user, [batch]).get(batch.pk, EMPTY)
        assert got == (expected if expected["person_times"] else EMPTY), user
        annotated = DisbursementBatch.objects.with_totals(user).get(pk=batch.pk)
        assert {key: getattr(annotated, key) for key in EMPTY} == got, user


def test_totals_equal_the_payments_after_every_kind_of_write(scene, school_a, school_b):
    batch, payments, users = scene
    _check(batch, users)
    # A bank result (one row), a set-based status change, a move of school, an amount corrected, a held
    # payment released, a payment removed: the totals follow each, in the writer's transaction.
    Payment.objects.filter(pk=payments[0].pk).update(status=S.PAID)
    _check(batch, users)
    Payment.objects.filter(batch=batch, status=S.SENT).update(status=S.FAILED)
    _check(batch, users)
    Payment.objects.filter(pk=payments[2].pk).update(school=school_b)
    _check(batch, users)
    payment = Payment.objects.get(pk=payments[3].pk)
    payment.amount = Decimal("333.34")
    payment.save()
    _check(batch, users)
    Payment.objects.filter(pk=payments[4].pk).update(status=S.PENDING)
    _check(batch, users)
    Payment.objects.filter(pk=payments[1].pk).update(bank_reference="B-1")  # nothing counted changes
    _check(batch, users)
    Payment.objects.filter(pk=payments[0].pk).delete()
    _check(batch, users)
    Payment.objects.filter(batch=batch).update(status=S.HELD)
    _check(batch, users)


def test_totals_reconcile_drawn_with_its_parts_to_the_fen(scene, bureau):
    """drawn = paid + failed + pending (at the bank) + unsent, by count and to the fen, as the batch's
    reconciliation (which reads the payments) says."""
    from subsidies import selectors

    batch, _payments, _users = scene
    rows = BatchSchoolTotal.objects.filter(batch=batch)
    by_status = {s: (0, Decimal("0")) for s in S.values}
    for row in rows:
        n, amount = by_status[row.status]
        by_status[row.status] = (n + row.count, amount + row.amount)
    rec = selectors.reconciliation(Payment.objects.filter(batch=batch))
    drawn = totals_by_batch(bureau, [batch])[batch.pk]
    assert (
        (drawn["person_times"], drawn["amount"])
        == (rec.drawn.count, rec.drawn.amount)
        == (4, Decimal("1208.44"))
    )
    assert by_status[S.PAID] == (rec.paid.count, rec.paid.amount)
    assert by_status[S.FAILED] == (rec.failed.count, rec.failed.amount)
    assert by_status[S.SENT] == (rec.pending.count, rec.pending.amount)
    assert by_status[S.PENDING] == (rec.unsent.count, rec.unsent.amount)
    assert rec.balanced


@pytest.mark.parametrize("url", [reverse("subsidies:index"), "/api/subsidies/batches/"])
def test_batch_list_reads_no_payment(scene, bureau_client, principal_a_client, url):
    """The figures of the listed batches come from their totals by school, not from their payments (at
    Ningdu scale the list summed ~430,000 payments on every view: 265 ms)."""
    for client in (bureau_client, principal_a_client):
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        assert not [q["sql"] for q in queries.captured_queries if '"subsidies_payment"' in q["sql"]]


def test_batch_list_shows_the_users_part(scene, bureau_client, principal_a_client):
    body = bureau_client.get(reverse("subsidies:index")).content.decode()
    assert "1,208.44" in body  # 500.00 + 250.10 + 125.01 + 333.33 (the held 0.01 left out)
    body = principal_a_client.get(reverse("subsidies:index")).content.decode()
    assert "875.11" in body and "1,208.44" not in body
    row = principal_a_client.get("/api/subsidies/batches/").json()["results"][0]
    assert (row["person_times"], row["amount"]) == (3, "875.11")
