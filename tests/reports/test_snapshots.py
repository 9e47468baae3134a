"""Requesting and building snapshots: who may, one build at a time, readers see only complete figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone

from reports import services, yearend
from reports.models import YearEndSnapshot
from tests.refusals import nothing_written

pytestmark = pytest.mark.django_db


def test_bureau_request_opens_a_building_snapshot_and_the_task_builds_it(
    county, bureau, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        snapshot = services.snapshot_request(year=county.year, basis="school", by=bureau)
    snapshot.refresh_from_db()
    assert snapshot.status == YearEndSnapshot.Status.READY
    assert snapshot.progress == 100
    assert snapshot.built_by == bureau
    assert snapshot.figures["sections"]["students"]["total"]["students"] == 11
    assert snapshot.data_cutoff is not None and snapshot.finished_at >= snapshot.data_cutoff
    assert snapshot.seconds is not None and snapshot.seconds >= 0


@pytest.mark.parametrize("who", ["principal_a", "official", "township_officer"])
def test_only_bureau_staff_may_rebuild(who, request):
    user = request.getfixturevalue(who)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.snapshot_request(year=2022, basis="school", by=user)
    assert not YearEndSnapshot.objects.exists()


@pytest.mark.parametrize(("year", "basis"), [(1999, "school"), (2101, "school"), (2022, "weekly")])
def test_bad_year_or_basis_is_refused(bureau, year, basis):
    with nothing_written(), pytest.raises(ValidationError):
        services.snapshot_request(year=year, basis=basis, by=bureau)
    assert not YearEndSnapshot.objects.exists()


def test_a_second_rebuild_while_one_runs_is_refused(bureau):
    first = services.snapshot_request(year=2022, basis="school", by=bureau)  # on_commit never fires here
    with nothing_written(), pytest.raises(ValidationError, match="正在生成中"):
        services.snapshot_request(year=2022, basis="school", by=bureau)
    assert list(YearEndSnapshot.objects.values_list("pk", flat=True)) == [first.pk]
    # Another year or basis is another report.
    services.snapshot_request(year=2022, basis="calendar", by=bureau)


def test_the_database_refuses_two_building_rows_of_one_year():
    YearEndSnapshot.objects.create(county_code="360730", year=2022, basis="school")
    with pytest.raises(IntegrityError), transaction.atomic():
        YearEndSnapshot.objects.create(county_code="360730", year=2022, basis="school")


def test_a_stale_build_no_longer_blocks_a_new_one(bureau):
    stale = YearEndSnapshot.objects.create(county_code="360730", year=2022, basis="school")
    YearEndSnapshot.objects.filter(pk=stale.pk).update(started_at=timezone.now() - timedelta(hours=3))
    fresh = services.snapshot_request(year=2022, basis="school", by=bureau)
    stale.refresh_from_db()
    assert stale.status == YearEndSnapshot.Status.FAILED and fresh.status == YearEndSnapshot.Status.BUILDING


def test_a_build_whose_worker_died_no_longer_blocks_a_new_one(bureau):
    """Picked up by a worker (progress above 0) and its advisory lock held by no one: the worker is gone (its
    connection ended), so the build is failed at once, not after STALE_AFTER."""
    lost = YearEndSnapshot.objects.create(county_code="360730", year=2022, basis="school", progress=37)
    fresh = services.snapshot_request(year=2022, basis="school", by=bureau)
    lost.refresh_from_db()
    assert lost.status == YearEndSnapshot.Status.FAILED and "重新生成" in lost.error
    assert fresh.status == YearEndSnapshot.Status.BUILDING


def test_a_build_a_live_worker_holds_still_blocks_a_new_one(bureau):
    running = YearEndSnapshot.objects.create(county_code="360730", year=2022, basis="school", progress=37)
    worker = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with worker.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [services.LOCK_NAMESPACE, running.pk])
        with nothing_written(), pytest.raises(ValidationError, match="正在生成中"):
            services.snapshot_request(year=2022, basis="school", by=bureau)
        running.refresh_from_db()
        assert running.status == YearEndSnapshot.Status.BUILDING
    finally:
        worker.close()


def test_a_build_marks_itself_picked_up(county, bureau):
    snapshot = services.snapshot_request(year=county.year, basis="school", by=bureau)
    assert snapshot.progress == 0  # queued: only STALE_AFTER expires it
    built = services.snapshot_build(snapshot_id=snapshot.pk)
    assert built.status == YearEndSnapshot.Status.READY and built.progress == 100


def test_readers_see_the_old_snapshot_until_the_new_one_is_complete(county, bureau, monkeypatch):
    old = services.snapshot_request(year=county.year, basis="school", by=bureau)
    services.snapshot_build(snapshot_id=old.pk)
    new = services.snapshot_request(year=county.year, basis="school", by=bureau)
    seen_during_build = []
    real_build = yearend.build_figures

    def spying_build(**kwargs):
        figures = real_build(**kwargs)
        seen_during_build.append(YearEndSnapshot.objects.current(year=county.year, basis="school").pk)
        return figures

    monkeypatch.setattr(yearend, "build_figures", spying_build)
    services.snapshot_build(snapshot_id=new.pk)
    assert seen_during_build == [old.pk]
    assert YearEndSnapshot.objects.current(year=county.year, basis="school").pk == new.pk


def test_a_failed_build_keeps_the_previous_snapshot_current(county, bureau, monkeypatch):
    old = services.snapshot_request(year=county.year, basis="school", by=bureau)
    services.snapshot_build(snapshot_id=old.pk)
    new = services.snapshot_request(year=county.year, basis="school", by=bureau)

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(yearend, "build_figures", broken)
    with pytest.raises(RuntimeError):
        services.snapshot_build(snapshot_id=new.pk)
    new.refresh_from_db()
    assert new.status == YearEndSnapshot.Status.FAILED and "disk full" in new.error
    assert new.figures == {}
    assert YearEndSnapshot.objects.current(year=county.year, basis="school").pk == old.pk
    # The failed row no longer blocks a rebuild.
    services.snapshot_request(year=county.year, basis="school", by=bureau)


def test_building_twice_is_idempotent(county, bureau):
    snapshot = services.snapshot_request(year=county.year, basis="school", by=bureau)
    first = services.snapshot_build(snapshot_id=snapshot.pk)
    again = services.snapshot_build(snapshot_id=snapshot.pk)
    assert again.finished_at == first.finished_at and again.figures == first.figures


def test_a_snapshot_locked_by_another_worker_is_left_alone(county, bureau):
    from django.db import connections

    snapshot = services.snapshot_request(year=county.year, basis="school", by=bureau)
    other = connections.create_connection("default")
    other.ensure_connection()
    try:
        with other.connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [services.LOCK_NAMESPACE, snapshot.pk])
        result = services.snapshot_build(snapshot_id=snapshot.pk)
        assert result.status == YearEndSnapshot.Status.BUILDING
    finally:
        with other.connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [services.LOCK_NAMESPACE, snapshot.pk])
        other.connection.close()
    assert services.snapshot_build(snapshot_id=snapshot.pk).status == YearEndSnapshot.Status.READY


def test_nightly_rebuild_opens_the_running_school_and_calendar_year(
    county, django_capture_on_commit_callbacks
):
    from reports.tasks import rebuild_yearend_nightly

    with django_capture_on_commit_callbacks(execute=True):
        opened = rebuild_yearend_nightly()
    snapshots = YearEndSnapshot.objects.filter(pk__in=opened)
    assert {(s.basis, s.status, s.built_by_id) for s in snapshots} == {
        ("school", "ready", None),
        ("calendar", "ready", None),
    }


def test_nightly_schedule_is_registered_with_beat():
    from portal.celery import app

    entry = app.conf.beat_schedule["reports-yearend-nightly"]
    assert entry["task"] == "reports.tasks.rebuild_yearend_nightly"
    assert app.tasks[entry["task"]] is not None
