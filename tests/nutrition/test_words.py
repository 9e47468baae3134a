"""The nutrition page opens on the running term and says so when none runs; date fields show their defaults
(issue 15)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from django.urls import reverse
from django.utils import timezone

from nutrition import services
from nutrition.models import NutritionTerm, PilotSchool


def _running_term(bureau) -> NutritionTerm:
    today = timezone.localdate()
    return services.term_create(
        school_year=today.year,
        season=NutritionTerm.Season.AUTUMN if today.month >= 8 else NutritionTerm.Season.SPRING,
        start=today - timedelta(days=60),
        end=today + timedelta(days=30),
        by=bureau,
    )


def test_the_page_opens_on_the_running_term_not_an_old_one(bureau, bureau_client, term):
    running = _running_term(bureau)
    today = timezone.localdate()
    services.term_create(
        school_year=today.year + 1,
        season=NutritionTerm.Season.SPRING,
        start=today + timedelta(days=90),
        end=today + timedelta(days=200),
        by=bureau,
    )
    page = bureau_client.get(reverse("nutrition:index")).content.decode()
    assert f"<h1>营养改善计划 · {running}</h1>" in page
    assert f'<option value="{running.pk}" selected>{running} (进行中)</option>' in page
    assert f'<option value="{term.pk}">{term}</option>' in page  # the old term is not called running
    assert 'id="no-running-term"' not in page


def test_between_terms_the_page_says_no_term_is_running(bureau_client, term):
    page = bureau_client.get(reverse("nutrition:index")).content.decode()
    assert 'id="no-running-term"' in page
    assert "今天" in page and "没有进行中的学期" in page
    terms = bureau_client.get(reverse("nutrition:terms")).content.decode()
    assert "已结束，未结账" in terms and "进行中" not in terms


def test_date_fields_show_their_default_in_iso_form(bureau, bureau_client, school_a):
    running = _running_term(bureau)
    pilot = services.pilot_enrol(
        term=running, school=school_a, supply_mode=PilotSchool.SupplyMode.CANTEEN, by=bureau
    )
    page = bureau_client.get(reverse("nutrition:pilot_detail", args=[pilot.pk])).content.decode()
    values = re.findall(r'<input type="date" name="\w+" value="([^"]*)"', page)
    assert values and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) for v in values), values
    assert timezone.localdate().isoformat() in values


def test_a_past_term_is_not_shown_as_running(bureau_client, term):
    assert term.end < date.today()
    page = bureau_client.get(reverse("nutrition:index")).content.decode()
    assert "(进行中)" not in page
