"""Dashboards: each role sees its own unit, and the JSON is scoped the same way."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from reports import dashboards
from tests.reports.helpers import built_snapshot

pytestmark = pytest.mark.django_db

JSON = reverse("reports:dashboard_json")


def more_records(county, areas):
    """Another student, case, payment and meal day at school A."""
    from datetime import timedelta

    from django.utils import timezone

    from dropout_control.models import CasePeriod, DropoutCase
    from nutrition.models import AccompaniedMeal, MealRecord
    from tests.factories import StudentFactory, make_id_number

    school = county.schools[0]
    today = timezone.localdate()
    student = StudentFactory(school=school)
    case = DropoutCase.objects.create(
        id_number=make_id_number(),
        name="又一个",
        township=school.township,
        school=school,
        found_on=today - timedelta(days=50),
        found_by="school_report",
        reason="other",
    )
    CasePeriod.objects.create(case=case, opened_on=case.found_on)
    payment = areas.payments[0]
    payment.pk = None
    payment.student = student
    payment.save()
    MealRecord.objects.create(
        pilot=areas.pilots[0], day=today - timedelta(days=1), stage="primary", meals=100
    )
    AccompaniedMeal.objects.create(pilot=areas.pilots[0], day=today, person="校长")


def tiles(data):
    return {t["key"]: t["value"] for t in data["tiles"]}


def test_principal_sees_their_school_only(county, principal_a_client, school_a):
    data = principal_a_client.get(JSON).json()
    assert data["level"] == "school" and data["school"]["id"] == school_a.pk
    assert tiles(data)["students"] == 4
    assert {r["key"]: r["value"] for r in data["by_stage"]} == {"preschool": 1, "primary": 3}
    assert {r["key"]: r["value"] for r in data["by_category"]} == {"poverty_alleviated": 3}


def test_principal_asking_for_another_school_gets_404(county, principal_a_client, school_b):
    response = principal_a_client.get(JSON, {"school": school_b.pk})
    assert response.status_code == 404
    assert "乙镇" not in response.content.decode()


@pytest.mark.parametrize("params", [{"level": "county"}, {"level": "township"}])
def test_principal_asking_for_county_or_township_figures_is_refused(
    county, principal_a_client, township_a, params
):
    assert principal_a_client.get(JSON, params).status_code == 403
    assert principal_a_client.get(JSON, {"township": township_a.pk}).status_code == 403


def test_township_officer_sees_the_township_and_its_schools(
    county, township_client, school_a, school_b, township_b
):
    data = township_client.get(JSON).json()
    assert data["level"] == "township" and data["title"] == "甲镇"
    assert tiles(data)["schools"] == 3
    assert tiles(data)["students"] == sum(
        1 for s in county.students if s.status == "enrolled" and s.school.township.name == "甲镇"
    )
    assert {a["label"] for a in data["areas"]} == {"甲镇中心小学", "甲镇幼儿园", "县一中"}
    assert township_client.get(JSON, {"school": school_a.pk}).json()["level"] == "school"
    assert township_client.get(JSON, {"school": school_b.pk}).status_code == 404
    assert township_client.get(JSON, {"township": township_b.pk}).status_code == 404
    assert township_client.get(JSON, {"level": "county"}).status_code == 403


def test_bureau_sees_the_county_with_charts_and_the_latest_snapshot(
    county, bureau, bureau_client, township_a
):
    snapshot = built_snapshot(county.year, bureau)
    data = bureau_client.get(JSON).json()
    assert data["level"] == "county"
    assert tiles(data) == {
        "schools": 5,
        "students": 11,
        "teachers": 188,
        "poor": 7,
        "dropout_open": 0,
        "pilot_schools": 0,
    }
    assert data["charts"]["by_area"]["labels"] == ["甲镇", "乙镇"]
    assert data["charts"]["by_year"]["labels"] == [f"{county.year}-{county.year + 1}"]
    assert data["charts"]["by_year"]["datasets"][0]["data"] == [11]
    assert data["snapshot"]["id"] == snapshot.pk
    assert bureau_client.get(JSON, {"township": township_a.pk}).json()["title"] == "甲镇"


def test_official_sees_county_figures(county, official_client):
    assert official_client.get(JSON, {"level": "county"}).json()["level"] == "county"


def test_bad_school_parameter_is_404(county, bureau_client):
    assert bureau_client.get(JSON, {"school": "abc"}).status_code == 404


@pytest.mark.parametrize(
    ("who", "limit"), [("bureau_client", 19), ("township_client", 19), ("principal_a_client", 17)]
)
def test_dashboard_json_query_count_does_not_grow_with_records(county, areas, who, limit, request):
    """A fixed number of queries: the same with one more of every record in every area."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = request.getfixturevalue(who)
    with CaptureQueriesContext(connection) as before:
        assert client.get(JSON).status_code == 200
    more_records(county, areas)
    with CaptureQueriesContext(connection) as after:
        assert client.get(JSON).status_code == 200
    assert len(after) == len(before) <= limit


@pytest.mark.parametrize("who", ["bureau_client", "official_client", "township_client", "principal_a_client"])
def test_dashboard_page_renders_for_each_role(county, who, request):
    page = request.getfixturevalue(who).get(reverse("reports:index")).content.decode()
    assert "reports/chart.umd.min.js" in page and "chart-main" in page
    assert "cdn" not in page.lower()


def test_principal_page_for_another_school_is_404(county, principal_a_client, school_b):
    assert principal_a_client.get(reverse("reports:index"), {"school": school_b.pk}).status_code == 404


def test_home_context_and_panel_render(county, principal_a):
    from django.template.loader import render_to_string

    context = dashboards.home_context(principal_a)
    html = render_to_string("reports/dashboard_panel.html", context)
    assert 'data-level="school"' in html and "甲镇中心小学" in html


def test_principal_dashboard_shows_aid_dropout_and_meals(county, areas, principal_a_client, school_a):
    school_year, term = dashboards.current_aid_term()
    data = principal_a_client.get(JSON).json()
    paid = [
        p
        for p in areas.payments
        if p.school_id == school_a.pk
        and p.status == "paid"
        and (p.school_year, p.term) == (school_year, term)
    ]
    assert data["aid"] == {
        "person_times": len(paid),
        "amount": str(sum((p.amount for p in paid), Decimal("0.00"))),
    }
    assert data["dropout"] == {"open": 1, "overdue": 0}
    assert data["nutrition"]["meals"] == 118
    assert data["nutrition"]["accompanied_gaps"] == data["nutrition"]["school_days"] > 0
    assert any("陪餐" in a["label"] for a in data["actions"])


def test_principal_b_sees_the_overdue_case_as_an_action(county, areas, principal_b_client):
    data = principal_b_client.get(JSON).json()
    assert data["dropout"] == {"open": 1, "overdue": 1}
    assert data["nutrition"]["meals"] == 0


def test_bureau_red_lights(county, areas, bureau_client):
    data = bureau_client.get(JSON).json()
    lights = {light["key"]: light["count"] for light in data["red_lights"]}
    assert lights == {"dropout_overdue": 1, "aid_unpaid": 1}
    assert data["unpaid_aid_amount"] == "750.00"
    assert tiles(data)["dropout_open"] == 2 and tiles(data)["pilot_schools"] == 3


def test_township_red_lights_are_the_townships_own(county, areas, township_client):
    data = township_client.get(JSON).json()
    lights = {light["key"]: light["count"] for light in data["red_lights"]}
    assert lights == {"aid_unpaid": 1}  # the overdue case lives in township B
    assert tiles(data)["dropout_open"] == 1


def test_diverted_nutrition_money_is_a_red_light(county, areas, bureau_client):
    from django.utils import timezone

    from nutrition.models import Purchase

    Purchase.objects.create(
        pilot=areas.pilots[1],
        purchased_on=timezone.localdate(),
        supplier="酒店",
        category="staff_meals",
        amount=Decimal("10.00"),
    )
    lights = {light["key"]: light["count"] for light in bureau_client.get(JSON).json()["red_lights"]}
    assert lights["nutrition_diverted"] == 1
