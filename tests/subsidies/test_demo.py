"""The demo seed: a year of paid batches by the real rules, idempotent, reconciling to the fen."""

from __future__ import annotations

import io
import random
from datetime import date

from django.db.models import Sum

from portal import demo as portal_demo
from students import demo as registry
from subsidies import demo, selectors
from subsidies.models import BankFileLine, DisbursementBatch, Payment, Term


def test_demo_seed_builds_a_paid_year_and_is_idempotent(db):
    rng = random.Random(7)
    schools = registry.build_registry(rng=rng)
    registry.build_students(rng=rng, schools=schools, count=400)
    portal_demo.build_users()
    demo.seed(rng=rng, stdout=io.StringIO(), scale="demo")
    batches = DisbursementBatch.objects.count()
    payments = Payment.objects.count()
    assert batches > 5
    # Paid through the bank (issue 12): a batch is paid in full, or still has families without an account
    # (never sent) or a transfer the bank returned; every batch reconciles to the fen.
    for batch in DisbursementBatch.objects.exclude(status="draft"):
        rec = selectors.reconciliation(batch.payments.all())
        assert rec.balanced, batch
        assert (batch.status == "paid") == (rec.paid == rec.drawn), batch
    family = Payment.objects.filter(payee="person")
    assert not family.paid().filter(bank_lines__isnull=True).exists()
    assert not family.paid().exclude(student__bank_accounts__is_active=True).exists()
    assert not family.filter(status="pending").filter(student__bank_accounts__is_active=True).exists()
    assert (
        BankFileLine.objects.filter(outcome="failed").count()
        == Payment.objects.filter(status="failed").count()
        > 0
    )
    paid = Payment.objects.paid().in_year(2022)
    assert paid.count() > 0
    assert set(paid.values_list("school_year", "term").distinct()) <= {(2021, "spring"), (2022, "autumn")}
    for batch in DisbursementBatch.objects.all():
        by_school = batch.payments.payable().values("school").annotate(s=Sum("amount"))
        assert sum(r["s"] for r in by_school) == batch.payments.payable().total()
    demo.seed(rng=random.Random(7), stdout=io.StringIO(), scale="demo")
    assert (DisbursementBatch.objects.count(), Payment.objects.count()) == (batches, payments)


def test_demo_batches_are_what_the_batch_services_would_draw(db, monkeypatch):
    """The demo writes its paid year in bulk: every batch holds exactly the students selectors.draw grants on
    its date, with the same rule, category, amount and payee; held ones are refused on the approval date;
    the paid ones carry the batch's bank reference; each batch has its generated/approved/paid steps."""
    from subsidies import eligibility
    from subsidies.models import BatchEvent

    rng = random.Random(11)
    schools = registry.build_registry(rng=rng)
    students = registry.build_students(rng=rng, schools=schools, count=300)
    portal_demo.build_users()
    calls = []
    real_evaluate = eligibility.evaluate
    monkeypatch.setattr(eligibility, "evaluate", lambda *a, **kw: calls.append(1) or real_evaluate(*a, **kw))
    demo.seed(rng=rng, stdout=io.StringIO(), scale="demo")
    # One evaluation per student and term (the services evaluate once per aid type, then again at approval).
    terms = len(demo.terms_to_pay())
    assert 0 < len(calls) <= students * terms * 1.2
    monkeypatch.setattr(eligibility, "evaluate", real_evaluate)

    failed = Payment.objects.filter(status=Payment.Status.FAILED)
    failed_batches = set(failed.values_list("batch_id", flat=True))
    failed_pks = set(failed.values_list("pk", flat=True))
    failed.update(status=Payment.Status.PAID)  # _fail_a_few
    for batch in DisbursementBatch.objects.all():
        expected = {
            s.pk: (d.policy.pk, d.category, d.amount_per_term, d.payee, d.reason[:300])
            for s, d in selectors.draw(
                aid_type=batch.aid_type,
                school_year=batch.school_year,
                term=batch.term,
                on=batch.eligibility_date,
            )
        }
        got = {
            p.student_id: (p.policy_id, p.category, p.amount, p.payee, p.reason) for p in batch.payments.all()
        }
        assert got == expected, batch
        for payment in batch.payments.filter(status=Payment.Status.PAID):
            # a batch with families still without an account is not paid in full: no paid_on of its own
            assert payment.bank_reference == batch.bank_reference
            assert payment.pk in failed_pks or payment.paid_on is not None
            assert batch.paid_on in (None, payment.paid_on)
        actions = list(batch.steps.values_list("action", flat=True))
        if batch.status == DisbursementBatch.Status.DRAFT:
            # Nobody qualified that term: an empty draft, as batch_generate leaves it.
            assert actions == ["generated"] and not expected, batch
            continue
        held = batch.payments.filter(status=Payment.Status.HELD).count()
        family = batch.payments.filter(payee="person")
        sent = family.filter(bank_lines__isnull=False).count()
        unsent = family.filter(status=Payment.Status.PENDING).count()
        transferred = batch.payments.exclude(payee="person").exclude(status=Payment.Status.HELD).count()
        expected = ["generated"] + ["flagged"] * held + ["approved"]
        expected += ["exported", "result_imported"] if sent else []
        expected += ["transferred"] if transferred else []
        expected += ["paid"] if not unsent and batch.pk not in failed_batches else []
        assert actions == expected, batch
        if "paid" in actions:
            assert str(batch.payments.paid().count()) in batch.steps.get(action="paid").note
    assert BatchEvent.objects.filter(action="generated").count() == DisbursementBatch.objects.count()


def test_running_term_is_seeded_once_its_money_would_be_paid():
    assert demo.running_term(date(2026, 11, 25)) == (2026, Term.AUTUMN)
    assert demo.running_term(date(2026, 9, 20)) is None  # autumn pay-out not yet due
    assert demo.running_term(date(2027, 4, 30)) == (2026, Term.SPRING)


def test_the_terms_of_the_reports_years_are_paid_in_order():
    assert demo.terms_to_pay(date(2026, 11, 26)) == [
        (2021, Term.SPRING),
        (2022, Term.AUTUMN),
        (2022, Term.SPRING),
        (2024, Term.AUTUMN),
        (2024, Term.SPRING),
        (2026, Term.AUTUMN),
    ]
    assert demo.terms_to_pay(date(2023, 4, 9))[-1] == (2022, Term.AUTUMN)  # spring's money not yet due
