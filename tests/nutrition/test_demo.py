"""The demo seed obeys the plan's rules and is idempotent."""

import io
import random

from django.db.models import F

from nutrition import demo, rules
from nutrition.models import MealRecord, NutritionTerm, PilotSchool
from nutrition.selectors import county_figures
from students import demo as registry


def test_demo_seed_is_idempotent_and_obeys_the_rules(db, official):
    rng = random.Random(7)
    schools = registry.build_registry(rng=rng)
    registry.build_students(rng=rng, schools=schools, count=400)
    demo.seed(rng=rng, stdout=io.StringIO(), scale="demo")
    counts = (PilotSchool.objects.count(), MealRecord.objects.count())
    demo.seed(rng=rng, stdout=io.StringIO(), scale="demo")
    assert (PilotSchool.objects.count(), MealRecord.objects.count()) == counts
    assert counts[0] > 0 and counts[1] > 0

    term = NutritionTerm.objects.get()
    assert not MealRecord.objects.filter(stage="primary", meals__gt=F("pilot__covered_primary")).exists()
    assert not MealRecord.objects.filter(stage="junior", meals__gt=F("pilot__covered_junior")).exists()
    holidays = set(term.holidays.values_list("day", flat=True))
    assert all(
        rules.school_day_problem(term, day, holidays) is None
        for day in MealRecord.objects.values_list("day", flat=True).distinct()
    )
    total = rules.reconcile_all(PilotSchool.objects.with_totals())
    assert total.diversion_schools >= 1 and total.underspend_schools >= 1
    figures = county_figures(term, official)
    assert figures["pilot_schools"] == counts[0]
    assert figures["funds_used"] == total.spent
