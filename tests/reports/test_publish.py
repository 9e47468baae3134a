"""Publishing a year's report (定稿): the published version is what readers get and no rebuild changes it; a
later build is a draft shown beside it with every differing figure; replacing it is deliberate and logged."""

from __future__ import annotations

import copy
import shutil
from datetime import date
from pathlib import Path

import pghistory.models
import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from reports import services, tasks, yearend
from reports.models import SnapshotPublication, YearEndSnapshot
from students.models import Stage
from tests.factories import StudentFactory, make_id_number
from tests.refusals import nothing_written
from tests.reports.helpers import built_snapshot, line, read_workbook, rows_of

pytestmark = pytest.mark.django_db

API = "/api/reports/snapshots/"
PRIMARY_STUDENTS = "分学段学生数 · 小学 · 学生"


def _new_pupil(school):
    """A pupil enrolled after the report was published: the register the next build reads has one more."""
    return StudentFactory(
        school=school,
        stage=Stage.PRIMARY,
        grade=1,
        id_number=make_id_number(date(2016, 3, 1)),
        status="enrolled",
    )


def _rebuild_nightly(django_capture_on_commit_callbacks) -> YearEndSnapshot:
    """The nightly job as beat runs it: it opens the running years' rebuilds and their tasks build them."""
    with django_capture_on_commit_callbacks(execute=True):
        opened = tasks.rebuild_yearend_nightly()
    school = YearEndSnapshot.objects.filter(pk__in=opened, basis="school").get()
    assert school.status == YearEndSnapshot.Status.READY
    return school


def _workbook_cells(client, url) -> list[tuple[str, list]]:
    """Every sheet's rows of a freshly written workbook (the cached files are removed first, so the
    workbook is written again from the snapshot rather than served from the first download)."""
    shutil.rmtree(Path(settings.MEDIA_ROOT) / "reports", ignore_errors=True)
    response = client.get(url)
    assert response.status_code == 200
    workbook = read_workbook(response)
    return [(ws.title, rows_of(ws)) for ws in workbook.worksheets]


def test_bureau_publishes_a_ready_snapshot_and_readers_get_it(county, bureau):
    snapshot = built_snapshot(county.year, bureau)
    publication = services.snapshot_publish(snapshot=snapshot, by=bureau)
    assert publication.snapshot == snapshot and publication.published_by == bureau
    assert publication.published_at is not None and publication.replaces is None
    assert YearEndSnapshot.objects.current(year=county.year, basis="school") == snapshot
    assert snapshot.publication == "published"
    # The change history names who published.
    events = pghistory.models.Events.objects.tracks(publication)
    assert [e.pgh_label for e in events] == ["insert"]
    assert int(events[0].pgh_context["user"]) == bureau.pk


def test_a_rebuild_after_the_data_changed_leaves_the_published_report_and_its_download_alone(
    county, bureau, official_client, school_a, django_capture_on_commit_callbacks
):
    published = built_snapshot(county.year, bureau)
    services.snapshot_publish(snapshot=published, by=bureau)
    figures_before = copy.deepcopy(published.figures)
    current = official_client.get(f"{API}current/", {"year": county.year, "basis": "school"}).json()
    download_url = current["download_url"]
    assert current["id"] == published.pk and current["publication"] == "published"
    workbook_before = _workbook_cells(official_client, download_url)

    _new_pupil(school_a)
    draft = _rebuild_nightly(django_capture_on_commit_callbacks)
    assert draft.figures["sections"]["students"]["total"]["students"] == 12

    published.refresh_from_db()
    assert published.figures == figures_before and published.status == YearEndSnapshot.Status.READY
    assert YearEndSnapshot.objects.current(year=county.year, basis="school") == published
    current = official_client.get(f"{API}current/", {"year": county.year, "basis": "school"}).json()
    assert current["id"] == published.pk and current["download_url"] == download_url
    assert current["figures"]["sections"]["students"]["total"]["students"] == 11
    # Read back: every cell of every sheet as before the rebuild.
    assert _workbook_cells(official_client, download_url) == workbook_before
    # The draft beside it lists the figure that changed, by its Chinese name, with both values.
    assert current["draft"]["id"] == draft.pk and current["draft"]["publication"] == "draft"
    differences = {d["figure"]: d for d in current["draft"]["differences"]}
    assert differences[PRIMARY_STUDENTS]["published"] == 5 and differences[PRIMARY_STUDENTS]["draft"] == 6
    assert differences["分学段学生数 · 全县 · 在校学生"]["draft"] == 12
    assert differences[f"分学段学生数 · {school_a.name} · 在校学生"]["kind"] == "int"
    # Nothing that did not change is listed.
    assert not any("教师数" in name for name in differences)


def test_the_differences_are_every_figure_that_changed_and_only_those(county, bureau, school_a):
    first = built_snapshot(county.year, bureau)
    assert yearend.differences(first.figures, copy.deepcopy(first.figures)) == []
    services.snapshot_publish(snapshot=first, by=bureau)
    _new_pupil(school_a)
    second = built_snapshot(county.year, bureau)
    rows = yearend.differences(first.figures, second.figures)
    by_name = {d["figure"]: (d["published"], d["draft"]) for d in rows}
    assert by_name[PRIMARY_STUDENTS] == (5, 6)
    assert by_name["分学段学生数 · 合计 · 学生"] == (11, 12)
    assert by_name["数据来源 · 在籍学生记录"] == (11, 12)
    # Every listed figure really differs, and a figure the new pupil does not touch is not listed.
    assert all(old != new for old, new in by_name.values())
    assert not any("教师" in name for name in by_name)


def test_the_workbook_says_published_with_its_date_or_draft(county, bureau, bureau_client, school_a):
    snapshot = built_snapshot(county.year, bureau)
    url = reverse("reports:snapshot_download", args=[snapshot.pk])
    draft_cover = read_workbook(bureau_client.get(url))["基本情况"]
    assert line(draft_cover, "版本")[1].startswith("草稿")
    assert rows_of(draft_cover)[1][0].startswith("草稿")
    publication = services.snapshot_publish(snapshot=snapshot, by=bureau)
    response = bureau_client.get(url)
    assert "草稿" not in response["Content-Disposition"]
    workbook = read_workbook(response)
    published_on = timezone.localtime(publication.published_at).strftime("%Y-%m-%d")
    assert line(workbook["基本情况"], "版本")[1] == f"定稿，{published_on} 发布"
    # Every sheet's stamp line says so too.
    assert all(rows_of(ws)[1][0].startswith(f"定稿，{published_on} 发布") for ws in workbook.worksheets)


@pytest.mark.parametrize(
    ("status", "message"), [("building", "正在生成"), ("failed", "生成失败")], ids=["building", "failed"]
)
def test_a_snapshot_still_building_or_failed_cannot_be_published(bureau, bureau_client, status, message):
    snapshot = YearEndSnapshot.objects.create(county_code="360730", year=2022, basis="school", status=status)
    with nothing_written(snapshot), pytest.raises(ValidationError, match=message):
        services.snapshot_publish(snapshot=snapshot, by=bureau)
    with nothing_written(snapshot):
        response = bureau_client.post(f"{API}{snapshot.pk}/publish/", {}, content_type="application/json")
    assert response.status_code == 400 and message in str(response.json())
    with nothing_written(snapshot):
        page = bureau_client.post(reverse("reports:snapshot_publish", args=[snapshot.pk]), follow=True)
    assert message in page.content.decode()


@pytest.mark.parametrize("who", ["official", "principal_a", "township_officer"])
def test_only_bureau_staff_publish(county, bureau, who, request, client_for):
    snapshot = built_snapshot(county.year, bureau)
    user = request.getfixturevalue(who)
    client = client_for(user)
    with nothing_written(snapshot), pytest.raises(PermissionDenied):
        services.snapshot_publish(snapshot=snapshot, by=user)
    with nothing_written(snapshot):
        api = client.post(f"{API}{snapshot.pk}/publish/", {}, content_type="application/json")
        page = client.post(reverse("reports:snapshot_publish", args=[snapshot.pk]))
    assert (api.status_code, page.status_code) == (403, 403)
    assert not SnapshotPublication.objects.exists()


def test_the_official_reads_the_year_page_without_a_publish_form(county, bureau, official_client):
    snapshot = built_snapshot(county.year, bureau)
    page = official_client.get(
        reverse("reports:snapshot_year", args=[county.year, "school"])
    ).content.decode()
    assert "草稿" in page and "publish-form" not in page
    detail = official_client.get(reverse("reports:snapshot_detail", args=[snapshot.pk])).content.decode()
    assert "publish-form" not in detail


INVISIBLE_REASONS = ["\u200b", " \u200c\u200d ", "\ufeff", "\u3000\u3000", "\u200b\u3000\ufeff\n\t"]


@pytest.mark.parametrize("reason", INVISIBLE_REASONS, ids=["zwsp", "zwnj-zwj", "bom", "ideographic", "mixed"])
def test_a_republication_reason_of_invisible_characters_is_no_reason(
    county, bureau, bureau_client, school_a, reason
):
    first = built_snapshot(county.year, bureau)
    services.snapshot_publish(snapshot=first, reason="首次定稿", by=bureau)
    _new_pupil(school_a)
    second = built_snapshot(county.year, bureau)
    with nothing_written(first, second), pytest.raises(ValidationError) as refused:
        services.snapshot_publish(snapshot=second, reason=reason, by=bureau)
    assert "说明" in refused.value.message_dict["reason"][0]
    with nothing_written(first, second):
        response = bureau_client.post(
            f"{API}{second.pk}/publish/", {"reason": reason}, content_type="application/json"
        )
    assert response.status_code == 400 and "reason" in response.json()
    with nothing_written(first, second):
        page = bureau_client.post(
            reverse("reports:snapshot_publish", args=[second.pk]), {"reason": reason}, follow=True
        )
    assert "说明" in page.content.decode()


def test_a_republication_reason_is_kept_as_written_without_its_surrounding_blanks(county, bureau, school_a):
    first = built_snapshot(county.year, bureau)
    services.snapshot_publish(snapshot=first, reason="首次定稿", by=bureau)
    _new_pupil(school_a)
    second = built_snapshot(county.year, bureau)
    publication = services.snapshot_publish(snapshot=second, reason="\u3000补录一名学生\u200b ", by=bureau)
    assert publication.reason == "补录一名学生"


def test_replacing_the_published_version_needs_a_reason_and_is_logged(
    county, bureau, bureau_client, school_a
):
    first = built_snapshot(county.year, bureau)
    original = services.snapshot_publish(snapshot=first, reason="首次定稿", by=bureau)
    _new_pupil(school_a)
    second = built_snapshot(county.year, bureau)
    with nothing_written(first, second), pytest.raises(ValidationError) as refused:
        services.snapshot_publish(snapshot=second, by=bureau)
    assert "reason" in refused.value.message_dict and "说明" in refused.value.message_dict["reason"][0]
    with nothing_written(first, second):
        response = bureau_client.post(
            f"{API}{second.pk}/publish/", {"reason": "  "}, content_type="application/json"
        )
    assert response.status_code == 400 and "reason" in response.json()
    with nothing_written(first, second):
        page = bureau_client.post(reverse("reports:snapshot_publish", args=[second.pk]), follow=True)
    assert "说明" in page.content.decode()

    response = bureau_client.post(
        f"{API}{second.pk}/publish/", {"reason": "补录一名漏报学生"}, content_type="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (
        body["snapshot"] == second.pk
        and body["replaces"] == original.pk
        and body["published_by"] == bureau.username
    )
    assert YearEndSnapshot.objects.current(year=county.year, basis="school") == second
    assert (first.publication, second.publication) == ("superseded", "published")
    log = list(SnapshotPublication.objects.of_year(year=county.year, basis="school").order_by("published_at"))
    assert [(p.snapshot_id, p.reason) for p in log] == [
        (first.pk, "首次定稿"),
        (second.pk, "补录一名漏报学生"),
    ]
    page = bureau_client.get(reverse("reports:snapshot_year", args=[county.year, "school"])).content.decode()
    log_html = page[page.index('id="publications"') :]
    assert "补录一名漏报学生" in log_html and "首次定稿" in log_html and bureau.username in log_html
    # Publishing the published version again is refused.
    with nothing_written(second), pytest.raises(ValidationError, match="已是"):
        services.snapshot_publish(snapshot=second, reason="再来一次", by=bureau)
    # Going back to the first version is a publication of its own, from its page, with its reason.
    detail = bureau_client.get(reverse("reports:snapshot_detail", args=[first.pk])).content.decode()
    assert "已被替换" in detail and "publish-form" in detail
    bureau_client.post(reverse("reports:snapshot_publish", args=[first.pk]), {"reason": "恢复原定稿"})
    assert YearEndSnapshot.objects.current(year=county.year, basis="school") == first
    latest = SnapshotPublication.objects.latest_of(year=county.year, basis="school")
    assert (latest.snapshot_id, latest.reason, latest.replaces.snapshot_id) == (
        first.pk,
        "恢复原定稿",
        second.pk,
    )


def test_two_first_publications_of_a_year_cannot_both_get_in(county, bureau):
    one = built_snapshot(county.year, bureau)
    two = built_snapshot(county.year, bureau)
    SnapshotPublication.objects.create(
        county_code=one.county_code, year=one.year, basis=one.basis, snapshot=one, published_by=bureau
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        SnapshotPublication.objects.create(
            county_code=two.county_code, year=two.year, basis=two.basis, snapshot=two, published_by=bureau
        )


def test_the_database_keeps_a_published_snapshot_and_the_log_as_they_are(county, bureau):
    published = built_snapshot(county.year, bureau)
    publication = services.snapshot_publish(snapshot=published, by=bureau)
    draft = built_snapshot(county.year, bureau)
    changed = {**published.figures, "has_data": False}
    for values in ({"figures": changed}, {"status": "failed"}, {"finished_at": None}):
        with pytest.raises(IntegrityError, match="published"), transaction.atomic():
            YearEndSnapshot.objects.filter(pk=published.pk).update(**values)
    # A draft is not guarded (nothing changes drafts either, but the guard is the published version's).
    YearEndSnapshot.objects.filter(pk=draft.pk).update(error="x")
    YearEndSnapshot.objects.filter(pk=published.pk).update(progress=100)  # no figure of it
    with pytest.raises(DatabaseError), transaction.atomic():
        SnapshotPublication.objects.filter(pk=publication.pk).update(reason="改写")
    with pytest.raises(DatabaseError), transaction.atomic():
        SnapshotPublication.objects.filter(pk=publication.pk).delete()


def test_a_published_snapshot_cannot_be_deleted(county, bureau):
    snapshot = built_snapshot(county.year, bureau)
    services.snapshot_publish(snapshot=snapshot, by=bureau)
    with pytest.raises(IntegrityError), transaction.atomic():
        YearEndSnapshot.objects.filter(pk=snapshot.pk).delete()


def test_the_year_page_shows_the_published_figures_and_the_draft_with_its_differences(
    county, bureau, bureau_client, school_a
):
    published = built_snapshot(county.year, bureau)
    url = reverse("reports:snapshot_year", args=[county.year, "school"])
    before = bureau_client.get(url).content.decode()
    assert "尚未定稿" in before and "publish-form" in before
    bureau_client.post(reverse("reports:snapshot_publish", args=[published.pk]))
    _new_pupil(school_a)
    draft = built_snapshot(county.year, bureau)
    page = bureau_client.get(url).content.decode()
    published_card = page[page.index('id="published"') : page.index('id="draft"')]
    assert (
        "定稿" in published_card and reverse("reports:snapshot_detail", args=[published.pk]) in published_card
    )
    draft_card = page[page.index('id="draft"') : page.index('id="publish"')]
    assert reverse("reports:snapshot_detail", args=[draft.pk]) in draft_card
    differences = draft_card[draft_card.index('id="differences"') :]
    assert "小学" in differences and '<td class="num">11</td><td class="num">12</td>' in differences
    # The figures shown are the published ones (11 students), the download is the published workbook.
    assert "在校在园学生 11 人" in page[page.index('id="summary"') :]
    assert reverse("reports:snapshot_download", args=[published.pk]) in page
    # The draft's own page says it is a draft and offers to publish it in place of the published one.
    detail = bureau_client.get(reverse("reports:snapshot_detail", args=[draft.pk])).content.decode()
    assert "草稿" in detail and "publish-form" in detail and "说明" in detail


def test_the_list_marks_the_published_version(county, bureau, bureau_client):
    first = built_snapshot(county.year, bureau)
    services.snapshot_publish(snapshot=first, by=bureau)
    built_snapshot(county.year, bureau)
    page = bureau_client.get(reverse("reports:snapshot_list")).content.decode()
    assert page.count('badge ok">定稿') == 1 and "草稿" in page
    assert reverse("reports:snapshot_year", args=[county.year, "school"]) in page
    listed = {s["id"]: s["publication"] for s in bureau_client.get(API).json()["results"]}
    assert listed[first.pk] == "published" and sorted(listed.values()) == ["draft", "published"]


def test_publish_is_in_the_openapi_schema_with_request_and_response(bureau_client):
    schema = bureau_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/reports/snapshots/{id}/publish/"]["post"]
    request_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "reason" in schema["components"]["schemas"][request_ref.rsplit("/", 1)[1]]["properties"]
    response_ref = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert {"published_at", "published_by", "reason", "replaces"} <= set(
        schema["components"]["schemas"][response_ref.rsplit("/", 1)[1]]["properties"]
    )
    current = schema["paths"]["/api/reports/snapshots/current/"]["get"]
    current_ref = current["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert {"draft", "publications", "publication"} <= set(
        schema["components"]["schemas"][current_ref.rsplit("/", 1)[1]]["properties"]
    )
