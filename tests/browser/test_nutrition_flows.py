"""The nutrition flows a principal must be able to do, in a real browser."""

from datetime import timedelta

import pytest
from django.utils import timezone

from nutrition import services
from nutrition.models import AccompaniedMeal, MealRecord
from tests.factories import StudentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def current_pilot(bureau, school_a):
    today = timezone.localdate()
    term = services.term_create(
        school_year=today.year,
        season="autumn",
        start=today - timedelta(days=40),
        end=today + timedelta(days=40),
        by=bureau,
    )
    StudentFactory.create_batch(4, school=school_a)
    return services.pilot_enrol(term=term, school=school_a, supply_mode="canteen", by=bureau)


def last_school_day():
    day = timezone.localdate()
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def test_principal_records_todays_meals_and_an_accompanied_meal_and_sees_the_reconciliation(
    page, login, principal_a, current_pilot
):
    day = last_school_day().isoformat()
    login(page, principal_a)
    page.click("nav.mainnav >> text=营养改善计划")
    page.click(f"table.grid >> text={current_pilot.school.name}")

    page.fill("#meals #id_day", day)
    page.select_option("#meals #id_stage", "primary")
    page.fill("#meals #id_meals", "4")
    page.click("button[name=save_meals]")
    page.wait_for_selector("text=供餐记录已保存")
    reconciliation = page.locator("#reconciliation").inner_text()
    assert "20.00" in reconciliation  # 4 meals × 5 yuan entitled
    assert "资金未足额到位" in reconciliation  # nothing received yet

    page.fill("#accompanied #id_day", day)
    page.fill("#accompanied #id_person", "张校长")
    page.fill("#accompanied #id_remark", "饭菜温度合适")
    page.click("button[name=save_accompanied]")
    page.wait_for_selector("text=陪餐记录已保存")
    assert "饭菜温度合适" in page.locator("#accompanied").inner_text()

    assert MealRecord.objects.get().meals == 4
    assert AccompaniedMeal.objects.get().person == "张校长"


def test_meals_above_covered_are_refused_in_the_browser(page, login, principal_a, current_pilot):
    login(page, principal_a)
    page.goto(f"/nutrition/pilots/{current_pilot.pk}/")
    page.fill("#meals #id_day", last_school_day().isoformat())
    page.fill("#meals #id_meals", "5")
    page.click("button[name=save_meals]")
    assert "超过了受益小学学生数 4 人" in page.locator("#meals").inner_text()
    assert not MealRecord.objects.exists()
