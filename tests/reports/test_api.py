"""/api/reports/: snapshots and their figures, download, rebuild for bureau staff."""

from __future__ import annotations

import pytest

from reports.models import YearEndSnapshot
from tests.refusals import nothing_written
from tests.reports.helpers import built_snapshot, line, read_workbook

pytestmark = pytest.mark.django_db

LIST = "/api/reports/snapshots/"


def test_bureau_lists_snapshots_without_figures_and_reads_one_with_figures(county, bureau, bureau_client):
    snapshot = built_snapshot(county.year, bureau)
    listed = bureau_client.get(LIST).json()["results"]
    assert [s["id"] for s in listed] == [snapshot.pk]
    assert "figures" not in listed[0] and listed[0]["status"] == "ready"
    assert listed[0]["download_url"] == f"{LIST}{snapshot.pk}/download/"
    detail = bureau_client.get(f"{LIST}{snapshot.pk}/").json()
    assert detail["figures"]["sections"]["teachers"]["total"]["teachers"] == 188


def test_current_snapshot_of_a_year(county, bureau, official_client):
    snapshot = built_snapshot(county.year, bureau)
    response = official_client.get(f"{LIST}current/", {"year": county.year, "basis": "school"})
    assert response.json()["id"] == snapshot.pk
    missing = official_client.get(f"{LIST}current/", {"year": 2001, "basis": "school"})
    assert missing.status_code == 404 and "尚未生成" in missing.json()["detail"]


def test_bureau_triggers_a_rebuild(county, bureau_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = bureau_client.post(
            LIST + "rebuild/", {"year": county.year, "basis": "school"}, content_type="application/json"
        )
    assert response.status_code == 202
    assert YearEndSnapshot.objects.get(pk=response.json()["id"]).status == "ready"


@pytest.mark.parametrize("who", ["official_client", "principal_a_client", "township_client"])
def test_other_roles_cannot_trigger_a_rebuild(who, request):
    client = request.getfixturevalue(who)
    with nothing_written():
        response = client.post(
            LIST + "rebuild/", {"year": 2022, "basis": "school"}, content_type="application/json"
        )
    assert response.status_code == 403


def test_rebuild_refusals_have_clear_messages(bureau, bureau_client):
    with nothing_written():
        bad = bureau_client.post(LIST + "rebuild/", {"year": 1800}, content_type="application/json")
    assert bad.status_code == 400 and "year" in bad.json()
    building = YearEndSnapshot.objects.create(county_code="360730", year=2022, basis="school")
    with nothing_written(building):
        busy = bureau_client.post(
            LIST + "rebuild/", {"year": 2022, "basis": "school"}, content_type="application/json"
        )
    assert busy.status_code == 400 and "正在生成中" in str(busy.json())


@pytest.mark.parametrize("who", ["principal_a_client", "township_client"])
def test_school_and_township_roles_get_403_for_snapshots(county, bureau, who, request):
    snapshot = built_snapshot(county.year, bureau)
    client = request.getfixturevalue(who)
    assert client.get(LIST).status_code == 403
    assert client.get(f"{LIST}{snapshot.pk}/").status_code == 403
    assert client.get(f"{LIST}{snapshot.pk}/download/").status_code == 403


def test_download_through_the_api(county, bureau, official_client):
    snapshot = built_snapshot(county.year, bureau)
    response = official_client.get(f"{LIST}{snapshot.pk}/download/")
    assert response.status_code == 200
    assert line(read_workbook(response)["分学段学生数"], "合计")[1] == 11


def test_download_of_a_building_snapshot_is_409(bureau_client):
    snapshot = YearEndSnapshot.objects.create(county_code="360730", year=2022, basis="school")
    response = bureau_client.get(f"{LIST}{snapshot.pk}/download/")
    assert response.status_code == 409 and "仍在生成中" in response.json()["detail"]


def test_unknown_snapshot_is_404(bureau_client):
    assert bureau_client.get(f"{LIST}424242/").status_code == 404
