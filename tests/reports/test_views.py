"""Report pages and the JSON endpoint, for each role."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reports.models import YearEndSnapshot
from tests.refusals import nothing_written
from tests.reports.helpers import built_snapshot

pytestmark = pytest.mark.django_db


def test_bureau_rebuilds_from_the_page_and_sees_the_report(
    county, bureau_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = bureau_client.post(
            reverse("reports:snapshot_rebuild"), {"year": county.year, "basis": "school"}
        )
    snapshot = YearEndSnapshot.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "reports:snapshot_detail", args=[snapshot.pk]
    )
    page = bureau_client.get(response.url).content.decode()
    assert "已生成" in page and "全县共有各级各类学校 5 所" in page
    assert reverse("reports:snapshot_download", args=[snapshot.pk]) in page


@pytest.mark.parametrize("who", ["official_client", "principal_a_client", "township_client"])
def test_other_roles_cannot_rebuild_and_nothing_is_written(who, request):
    client = request.getfixturevalue(who)
    with nothing_written():
        response = client.post(reverse("reports:snapshot_rebuild"), {"year": 2022, "basis": "school"})
    assert response.status_code == 403


def test_rebuild_with_a_bad_year_shows_a_message_and_writes_nothing(bureau_client):
    response = bureau_client.post(
        reverse("reports:snapshot_rebuild"), {"year": "abc", "basis": "school"}, follow=True
    )
    assert "请输入" in response.content.decode() or "整数" in response.content.decode()
    assert not YearEndSnapshot.objects.exists()


def test_second_rebuild_while_building_is_refused_with_a_message(bureau, bureau_client):
    YearEndSnapshot.objects.create(county_code="360730", year=2022, basis="school", built_by=bureau)
    response = bureau_client.post(
        reverse("reports:snapshot_rebuild"), {"year": 2022, "basis": "school"}, follow=True
    )
    assert "该年度报表正在生成中" in response.content.decode()
    assert YearEndSnapshot.objects.count() == 1


def test_download_of_a_snapshot_still_building_is_refused(bureau, bureau_client):
    snapshot = YearEndSnapshot.objects.create(
        county_code="360730", year=2022, basis="school", built_by=bureau
    )
    response = bureau_client.get(reverse("reports:snapshot_download", args=[snapshot.pk]), follow=True)
    assert "仍在生成中" in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("reports:snapshot_detail", args=[snapshot.pk])
    assert "生成中" in response.content.decode()


def test_building_snapshot_page_shows_progress_and_refreshes(bureau, bureau_client):
    snapshot = YearEndSnapshot.objects.create(county_code="360730", year=2022, basis="school", progress=40)
    page = bureau_client.get(reverse("reports:snapshot_detail", args=[snapshot.pk])).content.decode()
    assert '<progress max="100" value="40">' in page and 'http-equiv="refresh"' in page


def test_official_reads_and_downloads(county, bureau, official_client):
    snapshot = built_snapshot(county.year, bureau)
    assert official_client.get(reverse("reports:snapshot_list")).status_code == 200
    assert "rebuild-form" not in official_client.get(reverse("reports:snapshot_list")).content.decode()
    assert official_client.get(reverse("reports:snapshot_download", args=[snapshot.pk])).status_code == 200


@pytest.mark.parametrize("who", ["principal_a_client", "township_client"])
def test_school_and_township_roles_cannot_see_county_snapshots(county, bureau, who, request):
    client = request.getfixturevalue(who)
    snapshot = built_snapshot(county.year, bureau)
    for url in (
        reverse("reports:snapshot_list"),
        reverse("reports:snapshot_detail", args=[snapshot.pk]),
        reverse("reports:snapshot_download", args=[snapshot.pk]),
        reverse("reports:snapshot_section", args=[snapshot.pk, "students"]),
    ):
        assert client.get(url).status_code == 403, url


def test_drill_down_from_township_to_school_to_the_list(county, bureau, bureau_client, township_a, school_a):
    snapshot = built_snapshot(county.year, bureau)
    url = reverse("reports:snapshot_section", args=[snapshot.pk, "students"])
    page = bureau_client.get(url).content.decode()
    assert "甲镇" in page and f"?township={township_a.pk}" in page
    page = bureau_client.get(url, {"township": township_a.pk}).content.decode()
    assert school_a.name in page and "乙镇中心小学" not in page
    assert f"school={school_a.pk}" in page and reverse("students:student_list") in page


def test_drill_down_of_an_unknown_section_or_township_is_404(county, bureau, bureau_client):
    snapshot = built_snapshot(county.year, bureau)
    assert (
        bureau_client.get(reverse("reports:snapshot_section", args=[snapshot.pk, "nope"])).status_code == 404
    )
    url = reverse("reports:snapshot_section", args=[snapshot.pk, "students"])
    assert bureau_client.get(url, {"township": 999999}).status_code == 404


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("reports:index"))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_building_snapshot_shows_its_steps_on_the_page_the_list_and_the_api(
    bureau, bureau_client, client_for
):
    snapshot = YearEndSnapshot.objects.create(
        county_code="360730", year=2022, basis="school", progress=47, steps_done=6, steps_total=12
    )
    page = bureau_client.get(reverse("reports:snapshot_detail", args=[snapshot.pk])).content.decode()
    assert "第 6 / 12 步" in page and '<progress max="100" value="47">' in page
    listing = bureau_client.get(reverse("reports:snapshot_list")).content.decode()
    assert "第 6 / 12 步" in listing and 'http-equiv="refresh"' in listing
    data = client_for(bureau).get(f"/api/reports/snapshots/{snapshot.pk}/").json()
    assert (data["progress"], data["steps_done"], data["steps_total"]) == (47, 6, 12)


def test_the_list_does_not_refresh_when_nothing_is_building(county, bureau, bureau_client):
    built_snapshot(county.year, bureau)
    assert 'http-equiv="refresh"' not in bureau_client.get(reverse("reports:snapshot_list")).content.decode()
