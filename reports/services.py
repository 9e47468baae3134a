"""Writes of the reports app: requesting and building year-end snapshots, publishing one (定稿); the age-group
populations."""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.access import is_bureau_staff
from portal.services import service
from portal.text import required_text
from reports import yearend
from reports.models import AgePopulation, SnapshotPublication, YearEndSnapshot
from reports.tasks import rebuild_yearend
from students.models import County, school_year_of

# A build no worker has picked up in this long was lost with its task: it no longer blocks a new one. (A build
# a worker picked up is known dead at once, by its advisory lock: _expire_stale.)
STALE_AFTER = timedelta(hours=2)
MIN_YEAR, MAX_YEAR = 2000, 2100
# Namespace of the PostgreSQL advisory locks taken while a snapshot is built (the second key is its id).
LOCK_NAMESPACE = 7306


@service(allowed=is_bureau_staff, refusal=gettext_lazy("Only bureau staff can rebuild the year-end report."))
def snapshot_request(*, year: int, basis: str, by) -> YearEndSnapshot:
    """Open a rebuild that a bureau clerk asked for (see _snapshot_open)."""
    return _snapshot_open(year=year, basis=basis, by=by)


@service  # the system's nightly work: no acting user
def snapshot_request_nightly(*, year: int, basis: str) -> YearEndSnapshot:
    """Open the nightly rebuild of a year (see _snapshot_open)."""
    return _snapshot_open(year=year, basis=basis, by=None)


def _snapshot_open(*, year: int, basis: str, by) -> YearEndSnapshot:
    """A new snapshot row in state "building", and its Celery task once that row is committed.

    Refused for a year out of range, and while a rebuild of the same year is running (one building row per
    year is guaranteed by a partial unique constraint, so two clicks at once cannot both get through).
    """
    if basis not in YearEndSnapshot.Basis.values:
        raise ValidationError({"basis": _("Choose school year or calendar year.")})
    if not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(
            {"year": _("Enter a year between %(min)s and %(max)s.") % {"min": MIN_YEAR, "max": MAX_YEAR}}
        )
    county_code = settings.HOME_COUNTY_CODE
    try:
        with transaction.atomic():
            _expire_stale(county_code=county_code, year=year, basis=basis)
            snapshot = YearEndSnapshot.objects.create(
                county_code=county_code, year=year, basis=basis, built_by=by
            )
    except IntegrityError as exc:
        raise ValidationError(
            _("A rebuild of this year's report is already running. Wait for it to finish.")
        ) from exc
    transaction.on_commit(lambda: rebuild_yearend.delay(snapshot.pk))
    return snapshot


@service(allowed=is_bureau_staff, refusal=gettext_lazy("Only bureau staff can publish the year-end report."))
def snapshot_publish(*, snapshot: YearEndSnapshot, reason: str = "", by) -> SnapshotPublication:
    """Publish a complete build as its year's report (定稿): what readers get from then on, whatever is
    rebuilt later. Replacing a version published before is deliberate: it needs a reason, and the new
    publication names the one it replaces (the year's publication log).

    Refused for a build that is still running or failed, for the version already published, and for a
    replacement without a reason; two publications at the same moment cannot both get through (the
    publication chain's unique constraints).
    """
    snapshot = YearEndSnapshot.objects.select_for_update().get(pk=snapshot.pk)
    if snapshot.status == YearEndSnapshot.Status.BUILDING:
        raise ValidationError(_("This report is still being built: publish it once it is ready."))
    if snapshot.status != YearEndSnapshot.Status.READY:
        raise ValidationError(_("This build failed: only a complete report can be published."))
    reason = required_text(reason)
    latest = SnapshotPublication.objects.latest_of(
        year=snapshot.year, basis=snapshot.basis, county_code=snapshot.county_code
    )
    if latest is not None and latest.snapshot_id == snapshot.pk:
        raise ValidationError(_("This version is already the published report of its year."))
    if latest is not None and not reason:
        raise ValidationError(
            {
                "reason": _(
                    "A version of this year's report was published on %(date)s: say why this one replaces it."
                )
                % {"date": timezone.localtime(latest.published_at).strftime("%Y-%m-%d %H:%M")}
            }
        )
    try:
        with transaction.atomic():
            return SnapshotPublication.objects.create(
                county_code=snapshot.county_code,
                year=snapshot.year,
                basis=snapshot.basis,
                snapshot=snapshot,
                published_by=by,
                reason=reason,
                replaces=latest,
            )
    except IntegrityError as exc:
        raise ValidationError(
            _("This year's report has just been published by someone else: reload the page and check it.")
        ) from exc


def _expire_stale(*, county_code: str, year: int, basis: str) -> None:
    """Fail the year's build that can no longer finish, so that it stops blocking a new one: one whose worker
    picked it up (progress above 0) and no longer holds its advisory lock (a session lock: PostgreSQL frees it
    the moment the worker's connection ends, however the worker died), or one older than STALE_AFTER (a task
    lost before any worker picked it up)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE reports_yearendsnapshot s SET status = %(failed)s, error = %(error)s, finished_at = now()
            WHERE s.county_code = %(county)s AND s.year = %(year)s AND s.basis = %(basis)s
              AND s.status = %(building)s
              AND (s.started_at < %(stale)s OR (s.progress > 0 AND NOT EXISTS (
                  SELECT 1 FROM pg_locks l
                  WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %(namespace)s::oid
                    AND l.objid = s.id::oid AND l.objsubid = 2)))
            """,
            {
                "failed": YearEndSnapshot.Status.FAILED,
                "building": YearEndSnapshot.Status.BUILDING,
                "error": str(_("The build stopped before it finished (its worker ended): rebuild it.")),
                "county": county_code,
                "year": year,
                "basis": basis,
                "stale": timezone.now() - STALE_AFTER,
                "namespace": LOCK_NAMESPACE,
            },
        )


def snapshot_build(*, snapshot_id: int) -> YearEndSnapshot:
    """Compute the figures of a building snapshot and publish them in one UPDATE (status, figures, times).

    Not a `@service`: the work of a snapshot already requested (by whom, the row says), and it must run
    outside any transaction: its reads take one REPEATABLE READ transaction of their own, its progress is
    committed on a second connection as it goes.

    Idempotent: a snapshot that is no longer building is returned as it is. A session advisory lock on the
    snapshot id keeps a redelivered task (acks_late) from building the same row twice at once.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, snapshot_id])
        (locked,) = cursor.fetchone()
    snapshot = YearEndSnapshot.objects.get(pk=snapshot_id)
    if not locked or snapshot.status != YearEndSnapshot.Status.BUILDING:
        if locked:
            _unlock(snapshot_id)
        return snapshot
    # Picked up: from now on the advisory lock says whether this build is alive (_expire_stale).
    YearEndSnapshot.objects.filter(pk=snapshot_id, progress=0).update(progress=1)
    progress, progress_connection = _progress_writer(snapshot_id)
    try:
        started = time.monotonic()
        try:
            with _consistent_read():
                cutoff = timezone.now()
                figures = yearend.build_figures(
                    county_code=snapshot.county_code,
                    year=snapshot.year,
                    basis=snapshot.basis,
                    today=timezone.localdate(cutoff),
                    progress=progress,
                )
        except Exception as exc:
            YearEndSnapshot.objects.filter(pk=snapshot_id).update(
                status=YearEndSnapshot.Status.FAILED,
                finished_at=timezone.now(),
                seconds=time.monotonic() - started,
                error=f"{type(exc).__name__}: {exc}"[:2000],
            )
            raise
        # The switch: until this single UPDATE commits, readers see the previous ready snapshot.
        YearEndSnapshot.objects.filter(pk=snapshot_id, status=YearEndSnapshot.Status.BUILDING).update(
            status=YearEndSnapshot.Status.READY,
            figures=figures,
            data_cutoff=cutoff,
            finished_at=timezone.now(),
            seconds=round(time.monotonic() - started, 3),
            progress=100,
        )
    finally:
        progress_connection.close()
        _unlock(snapshot_id)
    snapshot.refresh_from_db()
    return snapshot


@contextmanager
def _consistent_read():
    """Every section reads the same state of the database: one REPEATABLE READ, READ ONLY transaction, so
    that a payment or a case written during the build cannot appear in one section and not in another.
    Inside an outer transaction (tests) the build simply reads in it."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _progress_writer(snapshot_id: int):
    """Progress is written on a connection of its own, committed at once: the build's own transaction is
    read-only and would show nothing to the page polling the progress until the end."""
    progress_connection = connections.create_connection(DEFAULT_DB_ALIAS)

    def write(done: int, total: int) -> None:
        # The sections are 95% of the work; the last 5% (publishing the figures) shows as 100% when ready.
        percent = min(99, int(done * 95 / total)) if total else 0
        with progress_connection.cursor() as cursor:
            cursor.execute(
                "UPDATE reports_yearendsnapshot SET progress = GREATEST(progress, %s), steps_done = %s, "
                "steps_total = %s WHERE id = %s AND status = %s",
                [percent, done, total, snapshot_id, YearEndSnapshot.Status.BUILDING],
            )

    return write, progress_connection


def _unlock(snapshot_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, snapshot_id])


def nightly_years(today=None) -> list[tuple[int, str]]:
    """What the nightly rebuild refreshes: the running school year and the running calendar year."""
    today = today or timezone.localdate()
    school_year = school_year_of(today)
    return [(school_year, YearEndSnapshot.Basis.SCHOOL), (today.year, YearEndSnapshot.Basis.CALENDAR)]


# --- Age-group populations (the denominators of the gross enrolment rates) -----------------------------


# The smallest population of an age group (three years of births) a county can have: China's smallest
# counties have some ten thousand people and several hundred children in such a band. Below this the figure
# is a slip or was typed in 万/千 (1.2万 -> 1 or 12), and a rate over it would be nonsense.
MIN_POPULATION = 100
# Three years of births in the largest county are far fewer; a bigger figure is a typing error (and would not fit).
MAX_POPULATION = 5_000_000


@service(
    allowed=is_bureau_staff,
    refusal=gettext_lazy("Only bureau staff enter the populations of the age groups."),
)
def population_set(*, school_year: int, band: str, population: int, note: str = "", by) -> AgePopulation:
    """Enter (or correct) the county's population of an age group for a school year. The history keeps every
    earlier figure. A population of 0 is refused: a rate over no children is not a rate; below
    `MIN_POPULATION` it is no county's age group."""
    errors = {}
    if band not in AgePopulation.Band.values:
        errors["band"] = [_("Choose the age group: 3–5 or 15–17.")]
    if not isinstance(school_year, int) or not MIN_YEAR <= school_year <= MAX_YEAR:
        errors["school_year"] = [
            _("Enter a year between %(min)s and %(max)s.") % {"min": MIN_YEAR, "max": MAX_YEAR}
        ]
    if isinstance(population, bool) or not isinstance(population, int) or population <= 0:
        errors["population"] = [
            _(
                "Enter the number of children of the age group, above 0: a rate over a population of 0 "
                "cannot be computed. Leave the year without a figure if it is not known."
            )
        ]
    elif population < MIN_POPULATION:
        errors["population"] = [
            _(
                "%(n)s children is not the population of a county's age group (three years of births are "
                "at least %(min)s children even in the smallest county): enter the number of children, not "
                "a figure in 万 or 千."
            )
            % {"n": population, "min": MIN_POPULATION}
        ]
    elif population > MAX_POPULATION:
        errors["population"] = [
            _("%(n)s children is more than any county's age group (at most %(max)s): check the figure.")
            % {"n": population, "max": MAX_POPULATION}
        ]
    if errors:
        raise ValidationError(errors)
    county = County.objects.filter(code=settings.HOME_COUNTY_CODE).first()
    if county is None:
        raise ValidationError(_("The county this portal serves is not in the county list."))
    entry, _created = AgePopulation.objects.update_or_create(
        county=county,
        school_year=school_year,
        band=band,
        defaults={"population": population, "note": (note or "").strip()[:200], "entered_by": by},
    )
    return entry
