"""The principal's home page gives nutrition to-dos for the term running today only, never for a term that
closed (the demo's 2022 autumn term ended 2023-01-13), and says so when no term runs (issue 15). The demo
seeds the running term at the principal's school, so the principal has current work."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from nutrition.models import PilotSchool
from tests.portal.conftest import client_of, demo_county, demo_database  # noqa: F401


def test_the_principals_to_dos_are_of_the_running_term_only(client_of):  # noqa: F811
    page = client_of("principal").get("/").content.decode()
    today = timezone.localdate()
    pilots = [int(pk) for pk in re.findall(r'href="/nutrition/pilots/(\d+)/', page)]
    assert pilots or "没有进行中的学期" in page
    for pilot in PilotSchool.objects.filter(pk__in=pilots).select_related("term"):
        assert pilot.term.start <= today <= pilot.term.end, pilot.term


def test_a_principal_is_told_when_no_term_runs(principal_a_client):
    from nutrition.models import NutritionTerm

    today = timezone.localdate()
    # Nothing runs today: a running term (and its pilots) ended yesterday.
    NutritionTerm.objects.filter(start__lte=today, end__gte=today).update(
        start=today - timedelta(days=2), end=today - timedelta(days=1)
    )
    cache.clear()  # the home figures are cached
    page = principal_a_client.get("/").content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "营养改善计划没有进行中的学期" in text
    assert "请登记校长陪餐" not in text
