import io
import random

from dropout_control import demo
from dropout_control.ledger import monthly_ledger
from dropout_control.models import DropoutCase, HomeTeachingVisit, HouseholdRegisterUpload
from portal import demo as portal_demo
from students import demo as registry


def test_demo_seeds_cases_in_every_state_and_is_idempotent(django_user_model):
    rng = random.Random(7)
    schools = registry.build_registry(rng=rng)
    registry.build_students(rng=rng, schools=schools, count=400, school_year=2025)
    portal_demo.build_users()
    demo.seed(rng=rng, stdout=io.StringIO(), scale="demo")
    cases = DropoutCase.objects.all()
    assert 25 <= cases.count() <= 35
    assert cases.filter(status="open").exists()
    assert cases.filter(outcome="returned").exists()
    assert cases.filter(outcome="home_teaching").count() == 6
    assert HomeTeachingVisit.objects.exists()
    assert HouseholdRegisterUpload.objects.get().suspect_count >= 6
    count = cases.count()
    demo.seed(rng=rng, stdout=io.StringIO(), scale="demo")
    assert DropoutCase.objects.count() == count
    bureau = django_user_model.objects.get(username="bureau")
    from django.utils import timezone

    today = timezone.localdate()
    assert monthly_ledger(year=today.year, month=today.month, user=bureau).total.reconciles
