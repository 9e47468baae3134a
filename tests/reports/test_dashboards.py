"""Dashboards: each role sees its own unit, and the JSON is scoped the same way."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from reports import selectors
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
        "university_aid": "0.00",
        "social_aid": "0.00",
        "retention": None,  # nobody entered grade 1 on the register nine years ago: no rate, not 100%
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


def _queries(client, url, params=None) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params or {}).status_code == 200
    return len(queries)


def _warm_session(client):
    """The first request of a fresh session writes the session back (3 queries): not the dashboard's."""
    from django.core.cache import cache

    client.get(reverse("reports:dashboard_json"))
    cache.clear()


@pytest.mark.parametrize(
    ("who", "limit"), [("bureau_client", 10), ("township_client", 10), ("principal_a_client", 10)]
)
def test_dashboard_json_query_count_does_not_grow_with_records(county, areas, who, limit, request):
    """A fixed number of queries when the figures are counted: the same with one more of every record."""
    from django.core.cache import cache

    client = request.getfixturevalue(who)
    _warm_session(client)
    before = _queries(client, JSON)
    more_records(county, areas)
    cache.clear()
    after = _queries(client, JSON)
    assert after == before <= limit


@pytest.mark.parametrize(
    ("who", "cached_limit"), [("bureau_client", 3), ("township_client", 4), ("principal_a_client", 4)]
)
@pytest.mark.parametrize("url", [reverse("reports:index"), JSON])
def test_second_request_within_the_window_reuses_the_figures(
    county, areas, who, cached_limit, url, request, django_assert_max_num_queries
):
    """At Ningdu scale the county figures take 6-7 queries and ~400 ms; a second look within the cache window
    runs only the session, the user, the access check (and the township or school), never the aggregates."""
    client = request.getfixturevalue(who)
    _warm_session(client)
    counted = _queries(client, url)
    with django_assert_max_num_queries(cached_limit):
        assert client.get(url).status_code == 200
    assert counted >= cached_limit + 5


def test_cached_figures_are_reused_until_the_window_ends(county, areas, bureau_client, monkeypatch, settings):
    import time

    # The local-memory cache reads its clock through `time.time`, which the test moves forward (CI's
    # settings use Redis, whose clock a test cannot move).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    first = bureau_client.get(JSON).json()
    more_records(county, areas)
    again = bureau_client.get(JSON).json()
    assert tiles(again) == tiles(first) and again["as_of"] == first["as_of"]
    later = time.time() + selectors.CACHE_SECONDS + 1
    monkeypatch.setattr("django.core.cache.backends.locmem.time.time", lambda: later)
    fresh = bureau_client.get(JSON).json()
    assert tiles(fresh)["students"] == tiles(first)["students"] + 1
    assert tiles(fresh)["dropout_open"] == tiles(first)["dropout_open"] + 1


def test_cache_keys_never_shared_between_scopes(county, township_a, township_b, school_a, school_b):
    from datetime import date

    from django.utils import translation

    from portal.access import Scope

    viewers = [
        Scope(county=True),
        Scope(township_id=township_a.pk),
        Scope(township_id=township_b.pk),
        Scope(school_id=school_a.pk),
        Scope(school_id=school_b.pk),
    ]
    units = [
        (selectors.COUNTY, None),
        (selectors.TOWNSHIP, township_a),
        (selectors.TOWNSHIP, township_b),
        (selectors.SCHOOL, school_a),
        (selectors.SCHOOL, school_b),
    ]
    day = date(2025, 3, 3)
    keys = [selectors.cache_key(v, level, unit, day) for v in viewers for level, unit in units]
    assert len(set(keys)) == len(keys)
    # Officials read what bureau staff read (the same rows): one entry for both is right.
    assert selectors.cache_key(Scope(county=True, writable=False), "county", None, day) == keys[0]
    assert selectors.cache_key(viewers[0], "county", None, date(2025, 3, 4)) != keys[0]
    with translation.override("en"):
        assert selectors.cache_key(viewers[0], "county", None, day) != keys[0]


def test_principal_never_gets_county_or_another_schools_figures_from_the_cache(
    county, areas, bureau_client, principal_a_client, township_a, township_b, school_a, school_b
):
    for params in ({}, {"township": township_a.pk}, {"township": township_b.pk}, {"school": school_b.pk}):
        assert bureau_client.get(JSON, params).status_code == 200
    data = principal_a_client.get(JSON).json()
    assert data["level"] == "school" and data["school"]["id"] == school_a.pk
    assert tiles(data)["students"] == 4
    assert principal_a_client.get(JSON, {"level": "county"}).status_code == 403
    assert principal_a_client.get(JSON, {"township": township_a.pk}).status_code == 403
    response = principal_a_client.get(JSON, {"school": school_b.pk})
    assert response.status_code == 404 and "乙镇" not in response.content.decode()


def test_township_officer_never_gets_another_townships_figures_from_the_cache(
    county, areas, bureau_client, township_client, township_a, township_b, school_b
):
    """Even with poisoned entries under every key a county viewer uses, the officer gets their own figures."""
    from django.core.cache import cache

    from portal.access import Scope

    for params in ({}, {"township": township_b.pk}, {"township": township_a.pk}, {"school": school_b.pk}):
        assert bureau_client.get(JSON, params).status_code == 200
    county_scope = Scope(county=True)
    for level, unit in (("county", None), ("township", township_a), ("township", township_b)):
        cache.set(selectors.cache_key(county_scope, level, unit), {"title": "POISON"}, 60)
    data = township_client.get(JSON).json()
    assert data["level"] == "township" and data["title"] == "甲镇"
    assert {a["label"] for a in data["areas"]} == {"甲镇中心小学", "甲镇幼儿园", "县一中"}
    assert township_client.get(JSON, {"township": township_b.pk}).status_code == 404
    assert township_client.get(JSON, {"school": school_b.pk}).status_code == 404
    assert township_client.get(JSON, {"level": "county"}).status_code == 403


def test_page_says_how_old_the_figures_are(county, bureau_client):
    page = bureau_client.get(reverse("reports:index")).content.decode()
    data = bureau_client.get(JSON).json()
    assert data["as_of"] in page and "5 分钟" in page


@pytest.mark.parametrize("who", ["bureau_client", "official_client", "township_client", "principal_a_client"])
def test_dashboard_page_renders_for_each_role(county, who, request):
    page = request.getfixturevalue(who).get(reverse("reports:index")).content.decode()
    assert "reports/chart.umd.min.js" in page and "chart-main" in page
    assert "cdn" not in page.lower()


def test_principal_page_for_another_school_is_404(county, principal_a_client, school_b):
    assert principal_a_client.get(reverse("reports:index"), {"school": school_b.pk}).status_code == 404


def test_home_context_and_panel_render(county, principal_a):
    from django.template.loader import render_to_string

    context = selectors.home_context(principal_a)
    html = render_to_string("reports/dashboard_panel.html", context)
    assert 'data-level="school"' in html and "甲镇中心小学" in html


def test_principal_dashboard_shows_aid_dropout_and_meals(county, areas, principal_a_client, school_a):
    data = principal_a_client.get(JSON).json()
    paid = [
        p
        for p in areas.payments
        if p.school_id == school_a.pk and p.status == "paid" and p.school_year == county.year
    ]
    assert data["aid"] == {
        "person_times": len(paid),
        "amount": str(sum((p.amount for p in paid), Decimal("0.00"))),
    }
    assert (data["dropout"]["open"], data["dropout"]["overdue"]) == (1, 0)
    assert data["nutrition"]["meals"] == 118
    assert data["nutrition"]["accompanied_gaps"] == data["nutrition"]["school_days"] > 0
    assert any("陪餐" in a["label"] for a in data["actions"])


def test_principal_b_sees_the_overdue_case_as_an_action(county, areas, principal_b_client):
    data = principal_b_client.get(JSON).json()
    assert (data["dropout"]["open"], data["dropout"]["overdue"]) == (1, 1)
    assert data["nutrition"]["meals"] == 0


def test_bureau_red_lights(county, areas, bureau_client):
    data = bureau_client.get(JSON).json()
    lights = {light["key"]: light["count"] for light in data["red_lights"]}
    # School A's 12,345.67 and the junior school's 2,000 outrun 118 meals, and nothing reached those two
    # (school B's 99 were spent before the period, with no meals either).
    assert lights == {
        "dropout_overdue": 1,
        "aid_unpaid": 1,
        "nutrition_overspend": 3,
        "nutrition_negative_balance": 2,
    }
    assert data["unpaid_aid_amount"] == "750.00"
    assert tiles(data)["dropout_open"] == 2 and tiles(data)["pilot_schools"] == 3


def test_township_red_lights_are_the_townships_own(county, areas, township_client):
    data = township_client.get(JSON).json()
    lights = {light["key"]: light["count"] for light in data["red_lights"]}
    # The overdue case lives in township B; school A's pilot overspent.
    assert lights == {"aid_unpaid": 1, "nutrition_overspend": 1}
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
    assert lights["nutrition_diversion"] == 1
