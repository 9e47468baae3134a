from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
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

    def current(self, *, year: int, basis: str, county_code: str | None = None):
        """The snapshot readers see: the newest complete one. A rebuild in progress is invisible until done."""
        return (
            self.ready()
            .filter(year=year, basis=basis, county_code=county_code or settings.HOME_COUNTY_CODE)
            .order_by("-finished_at", "-pk")
            .first()
        )


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
