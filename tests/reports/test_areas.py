"""The sections read from aid, dropout control and nutrition, against counts made here by hand."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings

from reports import yearend

pytestmark = pytest.mark.django_db


def build(county, basis="school", year=None):
    return yearend.build_figures(county_code=settings.HOME_COUNTY_CODE, year=year or county.year, basis=basis)


def rows(section, table):
    return {r["key"]: r for r in section["tables"][table]["rows"]}


def paid_in_school_year(areas, year):
    return [p for p in areas.payments if p.status == "paid" and p.school_year == year]


def test_aid_person_times_and_amounts_by_stage_and_type(county, areas):
    aid = build(county)["sections"]["aid"]
    paid = paid_in_school_year(areas, county.year)
    assert aid["total"] == {
        "person_times": len(paid),
        "amount": str(sum(p.amount for p in paid)),
        "nutrition_person_times": 0,
        "nutrition_amount": "0.00",
        # University students' aid and social aid: their own figures, none recorded here.
        "university_person_times": 0,
        "university_students": 0,
        "university_amount": "0.00",
        "social_person_times": 0,
        "social_recipients": 0,
        "social_amount": "0.00",
    }
    assert (aid["total"]["person_times"], aid["total"]["amount"]) == (5, "2766.58")
    by_stage = rows(aid, "by_stage")
    assert by_stage["primary"] == {"key": "primary", "person_times": 4, "amount": "2000.00"}
    assert by_stage["senior"] == {"key": "senior", "person_times": 1, "amount": "766.58"}
    assert by_stage["preschool"]["person_times"] == 0  # approved but not paid
    by_type = rows(aid, "by_aid_type")
    assert (
        by_type["boarder_allowance"]["person_times"] == Counter(p.aid_type for p in paid)["boarder_allowance"]
    )
    assert aid["tables"]["by_aid_type"]["total"] == {"person_times": 5, "amount": "2766.58"}


def test_aid_per_school(county, areas, school_a):
    aid = build(county)["sections"]["aid"]
    at_a = [p for p in paid_in_school_year(areas, county.year) if p.school_id == school_a.pk]
    assert aid["by_school"][str(school_a.pk)] == {
        "person_times": len(at_a),
        "amount": str(sum(p.amount for p in at_a)),
    }


def test_calendar_year_takes_the_spring_before_and_the_autumn(county, areas):
    aid = build(county, basis="calendar")["sections"]["aid"]
    expected = [
        p
        for p in areas.payments
        if p.status == "paid"
        and (
            (p.school_year == county.year and p.term == "autumn")
            or (p.school_year == county.year - 1 and p.term == "spring")
        )
    ]
    assert aid["total"]["person_times"] == len(expected) == 5


def test_tuition_waivers_by_stage(county, areas):
    tuition = build(county)["sections"]["tuition"]
    assert rows(tuition, "by_stage")["senior"] == {"key": "senior", "person_times": 1, "amount": "766.58"}
    assert tuition["total"] == {"person_times": 1, "amount": "766.58"}


def test_credit_loans_contracts_and_amounts(county, areas, township_a):
    loans = build(county)["sections"]["loans"]
    this_year = [x for x in areas.loans if x.school_year == county.year]
    assert loans["total"]["contracts"] == len(this_year) == 4
    assert loans["total"]["amount"] == str(sum(x.amount + x.top_up for x in this_year)) == "44500.50"
    assert loans["total"]["top_up"] == "8000.00"
    assert rows(loans, "summary")["poverty_alleviated"] == {
        "key": "poverty_alleviated",
        "contracts": 1,
        "amount": "20000.00",
    }
    assert loans["by_township"][str(township_a.pk)] == {"contracts": 2, "amount": "28000.00"}


def test_out_of_county_ledger_splits_by_prefecture(county, areas):
    poverty = build(county)["sections"]["poverty"]
    poor = [x for x in areas.ledger if x.category == "poverty_alleviated"]
    same_prefecture = [x for x in poor if x.destination_county_code[:4] == settings.HOME_COUNTY_CODE[:4]]
    split = rows(poverty, "split")
    assert split["out_in_prefecture"]["students"] == len(same_prefecture) == 2
    assert split["out_of_prefecture"]["students"] == len(poor) - len(same_prefecture) == 1
    assert split["registered_here"]["students"] == split["registered_here_in_county"]["students"] + 3


def test_dropout_cases_found_returned_open_and_home_teaching(county, areas, township_a, township_b, school_a):
    from dropout_control.models import HomeTeachingVisit

    # The child placed in home teaching before the period is served in it: a visit in the period.
    HomeTeachingVisit.objects.create(
        case=areas.cases["home"],
        visited_on=date(county.year, 9, 1),
        teacher="王老师",
        hours=Decimal("2.0"),
        content="识字",
    )
    dropout = build(county)["sections"]["dropout"]
    assert dropout["total"] == {"found": 2, "returned": 1, "open": 2, "home_teaching": 1}
    assert rows(dropout, "by_outcome")["returned"]["cases"] == 1
    assert rows(dropout, "by_outcome")["home_teaching"]["cases"] == 0  # closed before the period
    assert dropout["by_township"][str(township_a.pk)] == {
        "found": 2,
        "returned": 1,
        "open": 1,
        "home_teaching": 0,
    }
    assert dropout["by_township"][str(township_b.pk)] == {
        "found": 0,
        "returned": 0,
        "open": 1,
        "home_teaching": 1,
    }
    assert dropout["by_school"][str(school_a.pk)]["found"] == 2


def test_nutrition_pilots_pupils_canteen_shares_and_funds(county, areas, school_a):
    nutrition = build(county)["sections"]["nutrition"]
    pupils = sum(p.covered_primary + p.covered_junior for p in areas.pilots)
    canteen = [p for p in areas.pilots if p.supply_mode == "canteen"]
    canteen_pupils = sum(p.covered_primary + p.covered_junior for p in canteen)
    total = nutrition["total"]
    assert (total["pilot_schools"], total["pupils"], total["canteen_schools"], total["canteen_pupils"]) == (
        3,
        pupils,
        2,
        canteen_pupils,
    )
    assert total["canteen_school_share"] == "0.6667"
    assert total["canteen_pupil_share"] == str((Decimal(canteen_pupils) / pupils).quantize(Decimal("0.0001")))
    assert total["funds_used"] == str(sum(p.amount for p in areas.purchases)) == "14345.67"
    assert total["funds_received"] == "30000.00"
    pilots = rows(nutrition, "pilots")
    assert pilots["primary"] == {
        "key": "primary",
        "schools": 2,
        "pupils": 200,
        "canteen_schools": 1,
        "canteen_pupils": 120,
    }
    assert pilots["junior"]["pupils"] == 60
    assert nutrition["by_school"][str(school_a.pk)] == {
        "pilot_schools": 1,
        "pupils": 120,
        "canteen_pupils": 120,
        "funds_used": "12345.67",
        "meals": 118,
    }


def test_summary_lines_include_aid_loans_nutrition_and_dropout(county, areas):
    from django.utils import translation

    with translation.override("zh-hans"):
        text = "\n".join(yearend.summary_lines(build(county)))
    assert "资助家庭经济困难学生 5 人次" in text and "0.27666 万元" in text
    assert "签订生源地信用贷款合同 4 份" in text
    assert "送教上门" in text


def test_figures_say_what_they_were_computed_from(county, areas):
    sources = build(county)["sources"]
    assert sources["payments"] == len(paid_in_school_year(areas, county.year))
    assert sources["students"] == 11 and sources["poor_students"] == 7
    assert sources["loans"] == 4 and sources["out_of_county"] == len(areas.ledger)
    assert sources["dropout_cases"] == len(areas.cases) and sources["purchases"] == len(areas.purchases)
