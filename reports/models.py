from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.access import NO_SCOPE, ScopedQuerySet, scope_of
from portal.tracking import track_changes
from students.models import SCHOOL_YEAR_VALIDATORS


class SnapshotQuerySet(ScopedQuerySet):
    """Year-end snapshots are county figures: bureau staff and officials read them, nobody else."""

    def _for_scope(self, scope):
        return self.all() if scope.county else self.none()

    def visible_to(self, user):
        scope = scope_of(user)
        return self.none() if scope == NO_SCOPE else self._for_scope(scope)

    def ready(self):
        return self.filter(status=YearEndSnapshot.Status.READY)

    def with_publication(self):
        """Each snapshot with what `publication_state` needs for a list (two subqueries, no query per row):
        the snapshot id of its year's latest publication, and whether it was ever published."""
        of_year = SnapshotPublication.objects.filter(
            county_code=OuterRef("county_code"), year=OuterRef("year"), basis=OuterRef("basis")
        ).in_force()
        return self.annotate(
            year_published_id=Subquery(of_year.values("snapshot_id")[:1]),
            ever_published=Exists(SnapshotPublication.objects.filter(snapshot=OuterRef("pk"))),
        )

    def newest_ready(self, *, year: int, basis: str, county_code: str | None = None):
        """The newest complete build of a year. A rebuild in progress is invisible until done."""
        return (
            self.ready()
            .filter(year=year, basis=basis, county_code=county_code or settings.HOME_COUNTY_CODE)
            .order_by("-finished_at", "-pk")
            .first()
        )

    def published(self, *, year: int, basis: str, county_code: str | None = None):
        """The year's published version (定稿): the snapshot of its latest publication, or None."""
        publication = SnapshotPublication.objects.latest_of(year=year, basis=basis, county_code=county_code)
        if publication is None:
            return None
        return self.filter(pk=publication.snapshot_id).first()

    def current(self, *, year: int, basis: str, county_code: str | None = None):
        """The snapshot readers see: the published version (定稿) once there is one, which no rebuild
        replaces; before that the newest complete build (a draft)."""
        return self.published(year=year, basis=basis, county_code=county_code) or self.newest_ready(
            year=year, basis=basis, county_code=county_code
        )

    def draft_beside(self, published: YearEndSnapshot):
        """The newest complete build of a published snapshot's year, when it is newer than the published
        version: the draft shown beside it with its differences (None when there is none)."""
        newest = self.newest_ready(
            year=published.year, basis=published.basis, county_code=published.county_code
        )
        if newest is None or newest.pk == published.pk or newest.finished_at <= published.finished_at:
            return None
        return newest


class YearEndSnapshot(models.Model):
    """One build of the year-end summary: figures computed from records, with when, from what and how long.

    A rebuild writes a new row (status "building") and only marks it "ready", figures and all, in one
    UPDATE at the end; readers keep seeing the previous ready row until then. At most one row per county,
    year and basis may be building at once (the partial unique constraint below), so two rebuilds requested
    together cannot interleave: the second is refused.
    """

    class Basis(models.TextChoices):
        SCHOOL = "school", _("School year")
        CALENDAR = "calendar", _("Calendar year")

    class Status(models.TextChoices):
        BUILDING = "building", _("Being built")
        READY = "ready", _("Report ready")
        FAILED = "failed", _("Build failed")

    county_code = models.CharField(_("county"), max_length=6)
    year = models.PositiveSmallIntegerField(
        pgettext_lazy("report", "year"),
        help_text=_("A calendar year, or the year a school year starts (2022 for 2022-2023)."),
        validators=SCHOOL_YEAR_VALIDATORS,
    )
    basis = models.CharField(_("basis"), max_length=8, choices=Basis.choices, default=Basis.SCHOOL)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.BUILDING)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    # The build's steps (one per section of the summary), for "step 5 of 12" beside the percentage.
    steps_done = models.PositiveSmallIntegerField(_("steps done"), default=0)
    steps_total = models.PositiveSmallIntegerField(_("steps in all"), default=0)
    figures = models.JSONField(_("figures"), default=dict, blank=True)
    # When the records were read: figures reflect the data as it stood at this moment.
    data_cutoff = models.DateTimeField(_("data cut-off"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    seconds = models.FloatField(_("seconds taken"), null=True, blank=True)
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty for the nightly rebuild."),
    )
    error = models.TextField(_("error"), blank=True)

    objects = SnapshotQuerySet.as_manager()

    class Meta:
        verbose_name = _("year-end snapshot")
        verbose_name_plural = _("year-end snapshots")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["county_code", "year", "basis"],
                condition=Q(status="building"),
                name="one_building_snapshot_per_year",
                violation_error_message=_("A rebuild of this year's report is already running."),
            ),
            models.CheckConstraint(name="snapshot_progress_percent", condition=Q(progress__lte=100)),
        ]
        triggers = [
            # A version once published (定稿) keeps its figures whatever writes the table: the services
            # never update a ready row, and this is the guarantee that no job or hand-made UPDATE can.
            pgtrigger.Trigger(
                name="published_snapshot_unchanged",
                operation=pgtrigger.Update,
                when=pgtrigger.Before,
                condition=pgtrigger.Q(old__status="ready"),
                func=pgtrigger.Func(
                    """
                    IF (NEW.figures IS DISTINCT FROM OLD.figures OR NEW.status IS DISTINCT FROM OLD.status
                        OR NEW.year IS DISTINCT FROM OLD.year OR NEW.basis IS DISTINCT FROM OLD.basis
                        OR NEW.county_code IS DISTINCT FROM OLD.county_code
                        OR NEW.finished_at IS DISTINCT FROM OLD.finished_at
                        OR NEW.data_cutoff IS DISTINCT FROM OLD.data_cutoff)
                       AND EXISTS (SELECT 1 FROM reports_snapshotpublication p WHERE p.snapshot_id = OLD.id) THEN
                        RAISE EXCEPTION 'year-end snapshot % was published: its figures never change', OLD.id
                            USING ERRCODE = 'integrity_constraint_violation';
                    END IF;
                    RETURN NEW;
                    """
                ),
            ),
        ]
        indexes = [
            # SnapshotQuerySet.current(): the newest ready snapshot of a year and basis.
            models.Index(
                fields=["county_code", "year", "basis", "status", "-finished_at"], name="snapshot_current_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period_label} ({self.get_status_display()})"

    @property
    def period_label(self) -> str:
        if self.basis == self.Basis.SCHOOL:
            return _("School year %(start)s-%(end)s") % {"start": self.year, "end": self.year + 1}
        return _("Year %(year)s") % {"year": self.year}

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

    @property
    def publication(self) -> str:
        """published (the year's 定稿) / superseded (published once, replaced since) / draft: from the
        annotations of `SnapshotQuerySet.with_publication` when present, else one query or two."""
        if hasattr(self, "year_published_id"):
            if self.year_published_id == self.pk:
                return PUBLISHED
            return SUPERSEDED if self.ever_published else DRAFT
        return self.publication_state()[0]

    def publication_state(self) -> tuple[str, SnapshotPublication | None]:
        """("published", its publication) for the year's 定稿; ("superseded", its last publication) for a
        version published once and replaced since; ("draft", None) for any other build."""
        latest = SnapshotPublication.objects.latest_of(
            year=self.year, basis=self.basis, county_code=self.county_code
        )
        if latest is not None and latest.snapshot_id == self.pk:
            return PUBLISHED, latest
        own = self.publications.order_by("-published_at", "-pk").first()
        return (SUPERSEDED, own) if own is not None else (DRAFT, None)


PUBLISHED, SUPERSEDED, DRAFT = "published", "superseded", "draft"


class PublicationQuerySet(ScopedQuerySet):
    """Publications of the year-end report: county figures, read by bureau staff and officials."""

    def _for_scope(self, scope):
        return self.all() if scope.county else self.none()

    def visible_to(self, user):
        scope = scope_of(user)
        return self.none() if scope == NO_SCOPE else self._for_scope(scope)

    def of_year(self, *, year: int, basis: str, county_code: str | None = None):
        return self.filter(year=year, basis=basis, county_code=county_code or settings.HOME_COUNTY_CODE)

    def latest_of(self, *, year: int, basis: str, county_code: str | None = None):
        """The year's publication in force: the head of its chain, the one no later publication replaced."""
        return self.of_year(year=year, basis=basis, county_code=county_code).in_force().first()

    def in_force(self):
        return self.filter(replaced_by__isnull=True)


@track_changes()
class SnapshotPublication(models.Model):
    """One publication (定稿) of a year's report: which build, by whom, when, and why it replaced the one
    before. The rows of a year form one chain: the first has no predecessor (at most one such row per year
    and basis), every later one names the publication it replaces (each replaced at most once), so two
    publications made at the same moment cannot both get through. Rows are never changed or deleted: they
    are the year's publication log."""

    county_code = models.CharField(_("county"), max_length=6)
    year = models.PositiveSmallIntegerField(
        pgettext_lazy("report", "year"), validators=SCHOOL_YEAR_VALIDATORS
    )
    basis = models.CharField(_("basis"), max_length=8, choices=YearEndSnapshot.Basis.choices)
    snapshot = models.ForeignKey(
        YearEndSnapshot,
        verbose_name=_("year-end snapshot"),
        on_delete=models.PROTECT,
        related_name="publications",
    )
    published_at = models.DateTimeField(_("published at"), auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("published by"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(
        _("reason"), blank=True, help_text=_("Why this version replaces the one published before.")
    )
    replaces = models.OneToOneField(
        "self",
        verbose_name=_("replaces"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
    )

    objects = PublicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("publication of the year-end report")
        verbose_name_plural = _("publications of the year-end report")
        ordering = ["-published_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["county_code", "year", "basis"],
                condition=Q(replaces__isnull=True),
                name="one_first_publication_per_year",
                violation_error_message=_("This year's report has just been published by someone else."),
            ),
            models.CheckConstraint(
                name="republication_has_a_reason",
                condition=Q(replaces__isnull=True) | ~Q(reason=""),
            ),
        ]
        indexes = [
            models.Index(
                fields=["county_code", "year", "basis", "-published_at"], name="publication_year_idx"
            )
        ]
        triggers = [
            # The publication log is appended to, never rewritten.
            pgtrigger.Protect(
                name="publication_log_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
        ]

    def __str__(self) -> str:
        return f"{self.snapshot.period_label} ({self.published_at:%Y-%m-%d %H:%M})"


class PopulationQuerySet(ScopedQuerySet):
    """Age-group populations are county figures, like the snapshots they feed: bureau staff and officials."""

    def _for_scope(self, scope):
        return self.all() if scope.county else self.none()


@track_changes()
class AgePopulation(models.Model):
    """The population of an age group in a county for a school year: the denominator of the gross enrolment
    rates (毛入园率 over children aged 3–5, 高中阶段毛入学率 over those aged 15–17), entered by bureau staff
    from the statistics bureau's or the public-security figures. Changes are kept in the history."""

    class Band(models.TextChoices):
        PRESCHOOL = "3-5", _("Aged 3–5 (preschool)")
        SENIOR = "15-17", _("Aged 15–17 (senior secondary)")

    # Ages (completed years, on 31 August of the school year's first year) of each band.
    AGES = {Band.PRESCHOOL: (3, 5), Band.SENIOR: (15, 17)}

    county = models.ForeignKey(
        "students.County", verbose_name=_("county"), on_delete=models.PROTECT, related_name="populations"
    )
    school_year = models.PositiveSmallIntegerField(
        _("school year"),
        help_text=_("The year the school year starts, e.g. 2022 for 2022-2023."),
        validators=SCHOOL_YEAR_VALIDATORS,
    )
    band = models.CharField(_("age group"), max_length=5, choices=Band.choices)
    population = models.PositiveIntegerField(_("population"))
    note = models.CharField(
        _("source of the figure"),
        max_length=200,
        blank=True,
        help_text=_("Where the figure comes from, e.g. the statistics bureau's yearbook."),
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PopulationQuerySet.as_manager()

    class Meta:
        verbose_name = _("age-group population")
        verbose_name_plural = _("age-group populations")
        ordering = ["-school_year", "band"]
        constraints = [
            models.UniqueConstraint(fields=["county", "school_year", "band"], name="one_population_per_band"),
            models.CheckConstraint(name="population_positive", condition=Q(population__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.county} {self.school_year} {self.band}: {self.population}"
