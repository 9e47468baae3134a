import io
import random

import pytest

from reports import demo
from reports.models import YearEndSnapshot

pytestmark = pytest.mark.django_db


def test_demo_builds_the_reports_once(county):
    demo.seed(rng=random.Random(1), stdout=io.StringIO(), scale="demo")
    ready = YearEndSnapshot.objects.ready()
    assert {s.year for s in ready} == {demo.DEMO_YEAR, county.year}
    demo.seed(rng=random.Random(1), stdout=io.StringIO(), scale="demo")
    assert YearEndSnapshot.objects.count() == 2


def test_demo_enters_a_preschool_population_and_leaves_the_senior_one_missing(county):
    from reports.models import AgePopulation

    demo.seed(rng=random.Random(1), stdout=io.StringIO(), scale="demo")
    entry = AgePopulation.objects.get(school_year=county.year)
    assert entry.band == "3-5" and entry.note == "演示数据"
    gross = {
        r["key"]: r
        for r in YearEndSnapshot.objects.current(year=county.year, basis="school").figures["sections"][
            "rates"
        ]["tables"]["gross"]["rows"]
    }
    assert gross["preschool"]["population"] == entry.population and gross["preschool"]["rate"] is not None
    assert gross["senior_stage"]["missing"] == "no_population"
