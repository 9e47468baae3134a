"""The demo seed: a year of paid batches by the real rules, idempotent, reconciling to the fen."""

from __future__ import annotations

import io
import random

from django.db.models import Sum

from portal import demo as portal_demo
from students import demo as registry
from subsidies import demo
from subsidies.models import DisbursementBatch, Payment


def test_demo_seed_builds_a_paid_year_and_is_idempotent(db):
    rng = random.Random(7)
    schools = registry.build_registry(rng=rng)
    registry.build_students(rng=rng, schools=schools, count=400)
    portal_demo.build_users()
    demo.seed(rng=rng, stdout=io.StringIO(), scale="demo")
    batches = DisbursementBatch.objects.count()
    payments = Payment.objects.count()
    assert batches > 5
    assert DisbursementBatch.objects.exclude(status="paid").count() == 0
    paid = Payment.objects.paid().in_year(2022)
    assert paid.count() > 0
    assert set(paid.values_list("school_year", "term").distinct()) <= {(2021, "spring"), (2022, "autumn")}
    for batch in DisbursementBatch.objects.all():
        by_school = batch.payments.payable().values("school").annotate(s=Sum("amount"))
        assert sum(r["s"] for r in by_school) == batch.payments.payable().total()
    demo.seed(rng=random.Random(7), stdout=io.StringIO(), scale="demo")
    assert (DisbursementBatch.objects.count(), Payment.objects.count()) == (batches, payments)
