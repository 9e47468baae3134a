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
