"""Capabilities are asked in one place and mean the same on every surface (issue 16, item 1)."""

import pytest
from django.urls import reverse

from subsidies.models import MatchRun

pytestmark = pytest.mark.django_db


def test_match_runs_are_the_bureaus_in_the_queryset_itself(bureau, official, township_officer, principal_a):
    run = MatchRun.objects.create(
        source="civil", category="dibao", school_year=2025, term="autumn", by=bureau
    )
    assert list(MatchRun.objects.visible_to(bureau)) == [run]
    for user in (official, township_officer, principal_a):
        assert not MatchRun.objects.visible_to(user).exists(), user
        assert not MatchRun.objects.editable_by(user).exists(), user


def test_page_api_and_menu_agree_on_match_runs(bureau_client, official_client, client_for, bureau, official):
    run = MatchRun.objects.create(
        source="civil", category="dibao", school_year=2025, term="autumn", by=bureau
    )
    assert bureau_client.get(reverse("subsidies:match_detail", args=[run.pk])).status_code == 200
    assert official_client.get(reverse("subsidies:match_detail", args=[run.pk])).status_code == 403
    assert client_for(official).get(f"/api/subsidies/matching-runs/{run.pk}/").status_code == 404
    assert client_for(bureau).get(f"/api/subsidies/matching-runs/{run.pk}/").status_code == 200
    link = reverse("subsidies:match_list")
    assert link in bureau_client.get(reverse("subsidies:index")).content.decode()
    assert link not in official_client.get(reverse("subsidies:index")).content.decode()


def test_templates_ask_capabilities_by_name(bureau, official, rf):
    from portal.navigation import Capabilities

    assert Capabilities(bureau).run_data_matching and Capabilities(bureau).bureau_staff
    assert not Capabilities(official).run_data_matching and not Capabilities(official).bureau_staff
    assert not Capabilities(None).read_access_log
    with pytest.raises(AttributeError):
        Capabilities(bureau).no_such_thing  # noqa: B018 - a typo in a template must not read as "allowed"
