"""Batches and payments, the policy table's bad input, quotas, loans: the services, directly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from students.models import Stage
from subsidies import selectors, services
from subsidies.models import AidPolicy, AidType, BatchEvent, CreditLoan, DisbursementBatch, Payment, Term
from tests.factories import SchoolFactory
from tests.refusals import nothing_written
from tests.subsidies.banking import pay_through_the_bank

PA, DIBAO = "poverty_alleviated", "dibao"


@pytest.fixture
def boarders(make_student, school_a, school_b):
    """Three needy primary boarders (two at school A, one at school B) and one boarder without category."""
    return [
        make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a),
        make_student(Stage.PRIMARY, categories=[DIBAO], boarding=True, school=school_a),
        make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_b),
        make_student(Stage.PRIMARY, boarding=True, school=school_a),
    ]


def generate(bureau, **kw):
    kw.setdefault("aid_type", AidType.BOARDER_ALLOWANCE)
    kw.setdefault("school_year", 2022)
    kw.setdefault("term", Term.AUTUMN)
    return services.batch_generate(by=bureau, **kw)


# --- generation ----------------------------------------------------------------------------------------


def test_generate_draws_eligible_students_with_term_amounts(bureau, boarders):
    batch = generate(bureau)
    payments = batch.payments.order_by("student_id")
    assert [p.student_id for p in payments] == [s.pk for s in boarders[:3]]
    assert {p.amount for p in payments} == {Decimal("500.00")}
    assert batch.eligibility_date == date(2022, 9, 1)
    assert batch.status == DisbursementBatch.Status.DRAFT
    assert batch.steps.get().action == BatchEvent.Action.GENERATED
    assert batch.steps.get().by == bureau


def test_spring_term_uses_march_first(bureau, boarders):
    assert generate(bureau, term=Term.SPRING).eligibility_date == date(2023, 3, 1)


def test_only_bureau_generates(principal_a, official, boarders):
    for user in (principal_a, official):
        with nothing_written(), pytest.raises(PermissionDenied):
            generate(user)
    assert not DisbursementBatch.objects.exists()


def test_second_batch_for_same_aid_and_term_is_refused(bureau, boarders):
    generate(bureau)
    with nothing_written(), pytest.raises(ValidationError, match="已存在|already exists"):
        generate(bureau)
    assert DisbursementBatch.objects.count() == 1


def test_free_lunch_batch_pays_the_canteen(bureau, make_student):
    make_student(Stage.JUNIOR, categories=[PA], boarding=False)
    batch = generate(bureau, aid_type=AidType.FREE_LUNCH)
    payment = batch.payments.get()
    assert payment.payee == "canteen"
    assert payment.amount == Decimal("700.00")


# --- no double payment ---------------------------------------------------------------------------------


def test_database_forbids_paying_the_same_aid_twice_in_a_term(bureau, boarders):
    batch = generate(bureau)
    payment = batch.payments.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            batch=batch,
            student=payment.student,
            aid_type=payment.aid_type,
            school_year=payment.school_year,
            term=payment.term,
            school=payment.school,
            stage=payment.stage,
            policy=payment.policy,
            amount=Decimal("1.00"),
            payee="person",
        )


def test_adding_a_student_already_in_the_batch_is_refused(bureau, boarders):
    batch = generate(bureau)
    with nothing_written(), pytest.raises(ValidationError, match="already paid|已"):
        services.batch_add_student(batch=batch, student=boarders[0], reason="again", by=bureau)
    assert batch.payments.count() == 3


# --- review --------------------------------------------------------------------------------------------


def test_add_a_student_whose_category_was_recorded_late(bureau, boarders, make_student, school_a):
    batch = generate(bureau)
    late = make_student(
        Stage.PRIMARY, categories=[DIBAO], boarding=True, school=school_a, since=date(2022, 9, 10)
    )
    payment = services.batch_add_student(batch=batch, student=late, reason="低保 recorded on 9-10", by=bureau)
    assert payment.amount == Decimal("500.00")
    step = batch.steps.get(action=BatchEvent.Action.ADDED)
    assert (step.student, step.note, step.by) == (late, "低保 recorded on 9-10", bureau)


def test_adding_an_ineligible_student_is_refused_with_the_reason(bureau, boarders):
    batch = generate(bureau)
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.batch_add_student(batch=batch, student=boarders[3], reason="asked", by=bureau)
    assert boarders[3].name in str(exc.value)
    assert batch.payments.count() == 3


def test_remove_needs_a_reason_and_is_recorded(bureau, boarders):
    batch = generate(bureau)
    with nothing_written(), pytest.raises(ValidationError):
        services.batch_remove_student(batch=batch, student=boarders[0], reason=" ", by=bureau)
    services.batch_remove_student(batch=batch, student=boarders[0], reason="moved away", by=bureau)
    assert batch.payments.count() == 2
    assert batch.steps.filter(action=BatchEvent.Action.REMOVED, note="moved away").exists()


def test_principal_reviews_only_own_school_part(principal_a, boarders):
    batch = generate_as_bureau(boarders)
    services.batch_remove_student(batch=batch, student=boarders[1], reason="left", by=principal_a)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.batch_remove_student(batch=batch, student=boarders[2], reason="not mine", by=principal_a)
    assert batch.payments.filter(student=boarders[2]).exists()


def generate_as_bureau(boarders):
    from tests.factories import UserFactory

    return generate(UserFactory(username="aid_bureau", role="bureau"))


# --- approval ------------------------------------------------------------------------------------------


def test_approve_moves_forward_and_records_who(bureau, boarders):
    batch = services.batch_approve(batch=generate(bureau), by=bureau, on=date(2022, 9, 15))
    assert batch.status == DisbursementBatch.Status.APPROVED
    step = batch.steps.get(action=BatchEvent.Action.APPROVED)
    assert (step.from_status, step.to_status, step.by) == ("draft", "approved", bureau)


def test_approving_twice_is_harmless(bureau, boarders):
    batch = generate(bureau)
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    assert batch.steps.filter(action=BatchEvent.Action.APPROVED).count() == 1
    assert batch.payments.count() == 3


def test_only_bureau_approves(principal_a, township_officer, official, boarders):
    batch = generate_as_bureau(boarders)
    for user in (principal_a, township_officer, official):
        with nothing_written(), pytest.raises(PermissionDenied):
            services.batch_approve(batch=batch, by=user)
    batch.refresh_from_db()
    assert batch.status == "draft"


def test_approving_an_empty_batch_is_refused(bureau, db):
    batch = generate(bureau)
    with nothing_written(), pytest.raises(ValidationError, match="nothing to approve|没有"):
        services.batch_approve(batch=batch, by=bureau)
    batch.refresh_from_db()
    assert batch.status == "draft"


def test_approving_a_paid_batch_is_refused(bureau, boarders):
    batch = generate(bureau)
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    pay_through_the_bank(batch, bureau)
    batch.refresh_from_db()
    assert batch.status == "paid"
    with nothing_written(), pytest.raises(ValidationError):
        services.batch_approve(batch=batch, by=bureau)


def test_student_whose_category_lapsed_is_held_at_approval(bureau, make_student, school_a):
    lapsing = make_student(
        Stage.PRIMARY, categories=[DIBAO], boarding=True, school=school_a, until=date(2022, 9, 30)
    )
    staying = make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a)
    batch = generate(bureau)
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 10, 10))
    held = batch.payments.get(student=lapsing)
    assert held.status == Payment.Status.HELD
    assert "2022-10-10" in held.flag_reason
    assert batch.payments.get(student=staying).status == Payment.Status.PENDING
    assert batch.steps.filter(action=BatchEvent.Action.FLAGGED, student=lapsing).exists()
    pay_through_the_bank(batch, bureau, paid_on=date(2022, 10, 20))
    held.refresh_from_db()
    assert held.status == Payment.Status.HELD  # never silently paid
    assert held.bank_lines.count() == 0  # nor sent to the bank
    totals = selectors.payment_totals(batch.payments.all())
    assert (totals.amount, totals.paid_amount) == (Decimal("500.00"), Decimal("500.00"))


def test_held_payment_can_be_released_with_a_reason(bureau, make_student):
    student = make_student(Stage.PRIMARY, categories=[DIBAO], boarding=True, until=date(2022, 9, 30))
    batch = generate(bureau)
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 10, 10))
    payment = batch.payments.get(student=student)
    services.payment_release(payment=payment, reason="低保 renewed, list late", by=bureau)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_quota_warns_before_approval_above_it(bureau, boarders):
    services.quota_set(
        aid_type=AidType.BOARDER_ALLOWANCE,
        school_year=2022,
        term=Term.AUTUMN,
        amount=Decimal("1000"),
        by=bureau,
    )
    batch = generate(bureau)
    status = selectors.quota_status(aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term=Term.AUTUMN)
    assert (status.allocated, status.drawn, status.remaining) == (
        Decimal("1000"),
        Decimal("1500.00"),
        Decimal("-500.00"),
    )
    with nothing_written(), pytest.raises(ValidationError, match="quota|指标"):
        services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    batch.refresh_from_db()
    assert batch.status == "draft"
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15), allow_over_quota=True)
    batch.refresh_from_db()
    assert batch.status == "approved"


# --- payment -------------------------------------------------------------------------------------------


def test_the_bank_result_records_paid_on_and_the_batch_reference(bureau, boarders):
    batch = generate(bureau)
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    pay_through_the_bank(batch, bureau, paid_on=date(2022, 10, 1))
    batch.refresh_from_db()
    assert (batch.status, batch.paid_on) == ("paid", date(2022, 10, 1))
    assert set(batch.payments.values_list("status", "paid_on")) == {("paid", date(2022, 10, 1))}
    assert Payment.objects.paid().in_year(2022).count() == 3
    assert Payment.objects.paid().in_year(2023).count() == 0


def test_mark_paid_before_approval_is_refused(bureau, boarders):
    batch = generate(bureau)
    with nothing_written(), pytest.raises(ValidationError):
        services.batch_mark_paid(batch=batch, bank_reference="X", paid_on=date(2022, 10, 1), by=bureau)
    assert not Payment.objects.paid().exists()


def test_paying_a_student_not_in_the_batch_is_refused_and_nothing_paid(bureau, boarders):
    # (the transfer to schools and canteens, named by student: one outside the batch refuses it all)
    batch = generate(bureau)
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.batch_mark_paid(
            batch=batch,
            bank_reference="X",
            paid_on=date(2022, 10, 1),
            by=bureau,
            student_ids=[boarders[0].pk, boarders[3].pk],
        )
    assert boarders[3].name in str(exc.value)
    assert not Payment.objects.paid().exists()
    batch.refresh_from_db()
    assert batch.status == "approved"


def test_state_never_moves_back(bureau, boarders):
    batch = generate(bureau)
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    with nothing_written(), pytest.raises(ValidationError):
        services.batch_add_student(batch=batch, student=boarders[3], reason="late", by=bureau)
    with nothing_written(), pytest.raises(ValidationError):
        services.batch_remove_student(batch=batch, student=boarders[0], reason="late", by=bureau)


# --- totals --------------------------------------------------------------------------------------------


def test_totals_by_every_dimension_reconcile_to_the_fen(bureau, make_student, school_a, school_b):
    for school in (school_a, school_b):
        make_student(Stage.PRIMARY, categories=[DIBAO], school=school, rural=False)
    junior = SchoolFactory(school_type="junior", township=school_a.township)
    for _ in range(3):
        make_student(Stage.JUNIOR, categories=[DIBAO], school=junior)
    batch = generate(bureau, aid_type=AidType.NON_BOARDER_ALLOWANCE)
    totals = selectors.payment_totals(batch.payments.all())
    assert totals.count == 5
    assert totals.amount == Decimal("250.00") * 2 + Decimal("312.50") * 3
    for dimension in ("township", "school", "stage", "aid_type"):
        assert sum(r["amount"] for r in totals.by[dimension]) == totals.amount
        assert sum(r["count"] for r in totals.by[dimension]) == totals.count
    by_stage = {r["key"]: r["amount"] for r in totals.by["stage"]}
    assert by_stage == {"junior": Decimal("937.50"), "primary": Decimal("500.00")}


# --- the policy table ----------------------------------------------------------------------------------


def _row(**kw):
    fields = {
        "aid_type": AidType.FRESHMAN_TRAVEL,
        "stage": "higher",
        "amount": Decimal("600"),
        "valid_from": date(2022, 1, 1),
    }
    fields.update(kw)
    return fields


def test_bureau_adds_a_policy_row(bureau):
    policy = services.policy_create(by=bureau, **_row())
    assert policy.amount_per_term == Decimal("300.00")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": Decimal("-1")}, "amount"),
        ({"valid_to": date(2021, 12, 31)}, "valid_to"),
    ],
)
def test_bad_policy_rows_are_refused(bureau, fields, field):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.policy_create(by=bureau, **_row(**fields))
    assert field in exc.value.message_dict
    assert not AidPolicy.objects.filter(aid_type=AidType.FRESHMAN_TRAVEL).exists()


def test_overlapping_rows_for_the_same_aid_and_stage_are_refused(bureau):
    services.policy_create(by=bureau, **_row(valid_to=date(2022, 12, 31)))
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.policy_create(by=bureau, **_row(valid_from=date(2022, 6, 1)))
    assert "valid_from" in exc.value.message_dict
    assert AidPolicy.objects.filter(aid_type=AidType.FRESHMAN_TRAVEL).count() == 1
    services.policy_create(by=bureau, **_row(valid_from=date(2023, 1, 1)))


def test_database_refuses_overlapping_rows_too(db):
    AidPolicy.objects.create(**_row())
    with pytest.raises(IntegrityError), transaction.atomic():
        AidPolicy.objects.create(**_row(valid_from=date(2024, 1, 1)))


def test_only_bureau_edits_policies(principal_a, official):
    for user in (principal_a, official):
        with nothing_written(), pytest.raises(PermissionDenied):
            services.policy_create(by=user, **_row())


def test_a_paid_standard_is_frozen_and_a_new_year_does_not_change_old_payments(bureau, boarders):
    batch = generate(bureau)
    services.batch_approve(batch=batch, by=bureau, on=date(2022, 9, 15))
    policy = AidPolicy.objects.get(aid_type=AidType.BOARDER_ALLOWANCE, stage=Stage.PRIMARY)
    with nothing_written(), pytest.raises(ValidationError):
        services.policy_update(policy=policy, by=bureau, amount=Decimal("1200"))
    with nothing_written(), pytest.raises(ValidationError):
        services.policy_update(policy=policy, by=bureau, valid_to=date(2022, 8, 31))
    services.policy_update(policy=policy, by=bureau, valid_to=date(2023, 8, 31))
    fields = {f: getattr(policy, f) for f in ("aid_type", "stage", "categories", "boarding")}
    services.policy_create(by=bureau, **fields, amount=Decimal("1200"), valid_from=date(2023, 9, 1))
    assert set(batch.payments.values_list("amount", flat=True)) == {Decimal("500.00")}
    next_year = generate(bureau, school_year=2023)
    assert set(next_year.payments.values_list("amount", flat=True)) == {Decimal("600.00")}


# --- loans ---------------------------------------------------------------------------------------------


def _loan(**kw):
    from tests.factories import make_id_number

    fields = {
        "id_number": make_id_number(date(2003, 5, 1)),
        "name": "王大学",
        "university": "重庆大学",
        "school_year": 2022,
        "contract_date": date(2022, 9, 20),
        "amount": Decimal("12000"),
    }
    fields.update(kw)
    return fields


def test_loan_at_the_cap_with_top_up_for_poverty_alleviated(bureau):
    # The top-up covers fees above the national cap (issue 12: it needs them, tests/subsidies/test_loan_caps.py).
    loan = services.loan_create(
        by=bureau, **_loan(top_up=Decimal("8000"), fees=Decimal("21000"), poverty_alleviated=True)
    )
    assert loan.total == Decimal("20000")


@pytest.mark.parametrize(
    "fields",
    [
        {"amount": Decimal("12000.01")},
        {"top_up": Decimal("8000.01"), "fees": Decimal("30000"), "poverty_alleviated": True},
        {"top_up": Decimal("1000"), "poverty_alleviated": False},
    ],
)
def test_loan_above_the_cap_is_refused(bureau, fields):
    with nothing_written(), pytest.raises(ValidationError):
        services.loan_create(by=bureau, **_loan(**fields))
    assert not CreditLoan.objects.exists()


def test_second_loan_for_the_same_year_is_refused(bureau):
    fields = _loan()
    services.loan_create(by=bureau, **fields)
    with nothing_written(), pytest.raises(ValidationError):
        services.loan_create(by=bureau, **fields)
    assert CreditLoan.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_approvals_approve_once(make_student):
    """Two requests approving the same batch at once: the row lock makes the second a no-op."""
    import threading

    from django.db import connection

    from subsidies import pengshui
    from tests.factories import UserFactory

    pengshui.load(AidPolicy)
    clerk = UserFactory(username="aid_clerk_threads", role="bureau")
    make_student(Stage.PRIMARY, categories=[PA], boarding=True)
    batch = generate(clerk)
    barrier = threading.Barrier(2)
    errors = []

    def approve():
        try:
            barrier.wait()
            services.batch_approve(
                batch=DisbursementBatch.objects.get(pk=batch.pk), by=clerk, on=date(2022, 9, 15)
            )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert BatchEvent.objects.filter(batch=batch, action=BatchEvent.Action.APPROVED).count() == 1
