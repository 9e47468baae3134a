"""Issue 15: a principal's home page worth opening. Students by stage and grade with the change since the
start of the school year, aid received this term by aid type and the children eligible but not yet aided,
open dropout cases and visits due, the nutrition pilot's money, gaps and failed checks; each figure links to
the rows it counts, and the term is named."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from reports import selectors
from subsidies.models import term_of

pytestmark = pytest.mark.django_db

JSON = reverse("reports:dashboard_json")


def test_the_home_page_names_the_term_and_draws_its_charts_on_the_server(county, areas, principal_a_client):
    school_year, term = term_of(timezone.localdate())
    year = school_year if term == "autumn" else school_year + 1
    season = "秋季学期" if term == "autumn" else "春季学期"
    page = principal_a_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert f"{year}年{season}" in html, html[html.find("<main") :][:1500]
    assert "本学期" not in html.replace("本学期尚无", "")
    assert "<svg" in html and '<script src="http' not in html
    assert 'id="home-tiles"' in html


def test_students_by_grade_count_the_register_now_and_at_the_start_of_the_year(
    county, areas, principal_a_client, school_a
):
    data = principal_a_client.get(JSON).json()
    rows = {(r["stage"], r["grade"]): r for r in data["by_grade"]}
    # School A's four enrolled children (the suspended one is not on the register as enrolled).
    assert sum(r["now"] for r in rows.values()) == data["tiles"][0]["value"] == 4
    for row in rows.values():
        assert row["change"] == row["now"] - row["start"]
        listed = principal_a_client.get(row["url"])
        assert listed.context["page"].paginator.count == row["now"], row


def test_a_child_who_left_after_the_start_of_the_year_shows_as_a_change(
    county, areas, principal_a_client, school_a
):
    from students.models import Enrollment

    period = selectors.figures.running_period()
    if period.today == period.start:
        pytest.skip("the first day of the school year has no change yet")
    spell = Enrollment.objects.filter(school=school_a, stage="primary", grade=1).on(period.today).get()
    Enrollment.objects.filter(pk=spell.pk).update(valid_from=period.start)
    Enrollment.objects.filter(student=spell.student).exclude(pk=spell.pk).delete()
    Enrollment.objects.filter(pk=spell.pk).update(valid_to=period.today - timedelta(days=1))
    data = principal_a_client.get(JSON).json()
    row = next(r for r in data["by_grade"] if (r["stage"], r["grade"]) == ("primary", 1))
    assert (row["now"], row["start"], row["change"]) == (0, 1, -1)


def test_aid_this_term_by_type_and_the_eligible_not_aided_open_their_rows(
    county, areas, principal_a_client, school_a
):
    data = principal_a_client.get(JSON).json()
    assert data["aid_term"]["person_times"] == sum(r["person_times"] for r in data["aid_term"]["rows"])
    unaided = data["unaided"]
    page = principal_a_client.get(unaided["url"])
    assert page.status_code == 200
    assert len({r["student_id"] for r in page.context["rows"]}) == unaided["children"]
    assert len(page.context["rows"]) == sum(r["value"] for r in unaided["by_aid_type"])


def test_a_payment_of_the_aid_takes_the_child_off_the_not_aided_list(county, areas, bureau, school_a):
    from decimal import Decimal

    from subsidies.models import DisbursementBatch, Payment

    term_name, lines = selectors.school_unaided(bureau, school_a)
    if not lines:
        pytest.skip("the rule book grants nothing unpaid at school A")
    first = lines[0]
    school_year, term = term_of(timezone.localdate())
    batch = DisbursementBatch.objects.create(
        aid_type=first.aid_type,
        school_year=school_year,
        term=term,
        eligibility_date=timezone.localdate(),
        created_by=bureau,
    )
    Payment.objects.create(
        batch=batch,
        student_id=first.student_id,
        aid_type=first.aid_type,
        school_year=school_year,
        term=term,
        school=school_a,
        stage=first.decision.state.stage,
        policy=first.decision.policy,
        amount=first.decision.amount_per_term or Decimal("1.00"),
        payee=first.decision.payee,
    )
    _term, after = selectors.school_unaided(bureau, school_a)
    assert (first.student_id, first.aid_type) not in {(line.student_id, line.aid_type) for line in after}
    assert len(after) < len(lines)


def test_another_school_is_not_a_principals_unaided_list(county, areas, principal_a_client, school_b):
    assert principal_a_client.get(reverse("reports:unaided"), {"school": school_b.pk}).status_code == 404


def test_visits_due_open_exactly_the_cases_counted(county, areas, principal_b_client, principal_a_client):
    for client in (principal_a_client, principal_b_client):
        dropout = client.get(JSON).json()["dropout"]
        listed = client.get(dropout["visits_due_url"])
        assert listed.context["page"].paginator.count == dropout["visits_due"]
        listed = client.get(dropout["open_url"])
        assert listed.context["page"].paginator.count == dropout["open"]
    assert principal_b_client.get(JSON).json()["dropout"]["visits_due"] == 1


def test_the_pilot_shows_money_flags_gaps_and_failed_checks_not_followed_up(
    county, areas, principal_a_client
):
    from nutrition.models import SafetyCheck

    pilot = areas.pilots[0]
    today = timezone.localdate()
    SafetyCheck.objects.create(
        pilot=pilot,
        kind="storage",
        day=today,
        checked_by="王",
        passed=False,
        follow_up="冰柜温度过高，已报修",
    )
    nutrition = principal_a_client.get(JSON).json()["nutrition"]
    assert nutrition["spent"] == "12345.67"
    assert {f["key"] for f in nutrition["flags"]} >= {"overspend"}
    assert len(nutrition["days_without_companion"]) == nutrition["accompanied_gaps"]
    assert [c["follow_up"] for c in nutrition["failed_checks"]] == ["冰柜温度过高，已报修"]
    for flag in nutrition["flags"]:
        listed = principal_a_client.get(flag["url"])
        assert listed.context["page"].paginator.count == 1
    # A later passed check of the same kind follows it up.
    SafetyCheck.objects.create(pilot=pilot, kind="storage", day=today + timedelta(days=1), checked_by="王")
    from django.core.cache import cache

    cache.clear()
    assert principal_a_client.get(JSON).json()["nutrition"]["failed_checks"] == []
    with translation.override("zh-hans"):
        html = principal_a_client.get(reverse("home")).content.decode()
    assert "12,345.67" in html
