"""Needy-student identification (家庭经济困难学生认定, issue 17): the school's own judgement each school year.

A family applies (申请表: members, income, hardship reasons, the guardian's declaration); the class review group
assesses it (民主评议: its members and result); the school publishes the list for at least the county's period
(公示, no ID number, no reason named) and records objections and their outcome; the school decides a level
(特别困难 / 困难 / 一般困难) and the county confirms it. A change during the year (a sudden hardship) is a new
identification of the same year, effective from its date. Students of other departments' lists (脱贫户, 低保 …)
count as identified without applying: `subsidies.selectors.identified_students` gives both routes as one list.
"""

from __future__ import annotations

from datetime import date

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.access import ScopedQuerySet
from portal.tracking import track_changes
from students.models import SCHOOL_YEAR_VALIDATORS, School, Student
from subsidies.models.common import MONEY, IdentificationLevel


def school_year_bounds(school_year: int) -> tuple[date, date]:
    return date(school_year, 9, 1), date(school_year + 1, 8, 31)


class IdentificationRoundQuerySet(ScopedQuerySet):
    # The county's setting for a school year: every signed-in user reads it, bureau staff set it.
    scope_county_wide = True


@track_changes()
class IdentificationRound(models.Model):
    """The county's setting of a school year's identification: how long a school's 公示 must last at least."""

    school_year = models.PositiveSmallIntegerField(
        _("school year"), unique=True, validators=SCHOOL_YEAR_VALIDATORS
    )
    publicity_days = models.PositiveSmallIntegerField(
        _("publicity days at least"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_("A school's 公示 lasts at least this many days, counting the first and the last."),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = IdentificationRoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("identification round")
        verbose_name_plural = _("identification rounds")
        ordering = ["-school_year"]
        constraints = [
            models.CheckConstraint(
                name="identification_round_days_positive", condition=Q(publicity_days__gte=1)
            )
        ]

    def __str__(self) -> str:
        return f"{self.school_year}-{self.school_year + 1}"


# When a school year has no round yet, its 公示 lasts at least this many days.
DEFAULT_PUBLICITY_DAYS = 5


def publicity_days_of(school_year: int) -> int:
    found = IdentificationRound.objects.filter(school_year=school_year).values_list(
        "publicity_days", flat=True
    )
    return next(iter(found), DEFAULT_PUBLICITY_DAYS)


class IdentificationQuerySet(ScopedQuerySet):
    scope_school = "school"
    scope_townships = ("school__township",)

    def of_year(self, school_year: int):
        return self.filter(school_year=school_year)

    def confirmed(self):
        return self.filter(status=Identification.Status.CONFIRMED)


@track_changes()
class Identification(models.Model):
    """One family's application and its identification for a school year (or, in-year, from a date)."""

    class Kind(models.TextChoices):
        ANNUAL = "annual", _("Annual identification")
        IN_YEAR = "in_year", _("In-year change")

    class Status(models.TextChoices):
        APPLIED = "applied", pgettext_lazy("identification", "Applied")
        REVIEWED = "reviewed", _("Reviewed by the class group")
        DECIDED = "decided", _("Level decided by the school")
        CONFIRMED = "confirmed", _("Confirmed by the county")
        NOT_IDENTIFIED = "not_identified", _("Not identified")
        # The child left the school before the county confirmed: the new school runs its own identification.
        ENDED = "ended", _("Ended: the child left the school")

    class ReviewResult(models.TextChoices):
        SPECIAL = IdentificationLevel.SPECIAL.value, IdentificationLevel.SPECIAL.label
        DIFFICULT = IdentificationLevel.DIFFICULT.value, IdentificationLevel.DIFFICULT.label
        GENERAL = IdentificationLevel.GENERAL.value, IdentificationLevel.GENERAL.label
        NOT_DIFFICULT = "not_difficult", _("Not in financial difficulty")

    student = models.ForeignKey(
        Student, on_delete=models.PROTECT, related_name="identifications", verbose_name=_("student")
    )
    # The school that runs it (the child's school when the family applied): whose principal, whose township.
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+", verbose_name=_("school"))
    school_year = models.PositiveSmallIntegerField(_("school year"), validators=SCHOOL_YEAR_VALIDATORS)
    kind = models.CharField(
        pgettext_lazy("identification", "kind"), max_length=8, choices=Kind.choices, default=Kind.ANNUAL
    )
    effective_from = models.DateField(_("effective from"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.APPLIED)
    # 申请表: the family's situation. Never on the 公示 nor in a list.
    applied_on = models.DateField(_("applied on"))
    family_members = models.PositiveSmallIntegerField(
        _("family members"), validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    family_income = models.DecimalField(
        _("family income last year (yuan)"), **MONEY, validators=[MinValueValidator(0)]
    )
    hardship_reasons = models.TextField(_("hardship reasons"), max_length=2000)
    guardian_name = models.CharField(_("guardian"), max_length=50)
    guardian_declared = models.BooleanField(
        _("guardian's declaration signed"),
        default=False,
        help_text=_("The guardian declared the application true and complete (承诺书)."),
    )
    # 民主评议
    review_members = models.CharField(_("review group members"), max_length=300, blank=True)
    review_result = models.CharField(
        _("review result"), max_length=16, choices=ReviewResult.choices, blank=True
    )
    reviewed_on = models.DateField(_("reviewed on"), null=True, blank=True)
    # 公示
    publicity_from = models.DateField(_("publicity from"), null=True, blank=True)
    publicity_to = models.DateField(_("publicity to"), null=True, blank=True)
    # The level the 公示 showed (the school's level, or the class review's before the school decided): the county
    # confirms that level and no other; a level decided since goes on a new 公示 first.
    publicity_level = models.CharField(
        _("level on the 公示"), max_length=16, choices=ReviewResult.choices, blank=True
    )
    # The school's level, and the county's.
    school_level = models.CharField(
        _("school's level"), max_length=12, choices=IdentificationLevel.choices, blank=True
    )
    decided_on = models.DateField(pgettext_lazy("identification", "decided on"), null=True, blank=True)
    confirmed_level = models.CharField(
        _("confirmed level"), max_length=12, choices=IdentificationLevel.choices, blank=True
    )
    confirmed_on = models.DateField(_("confirmed on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = IdentificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("identification")
        verbose_name_plural = _("identifications")
        ordering = ["-school_year", "school_id", "pk"]
        constraints = [
            # One finding a day for a child at a school; an ended one (unfinished when the child moved) no
            # longer counts. The new school may start from the day a former school's started when the move dates
            # from it: of two findings of one day the later one is in force (`subsidies.facts.levels_on`).
            models.UniqueConstraint(
                fields=["student", "school_year", "school", "effective_from"],
                condition=~Q(status="ended"),
                name="one_identification_per_student_day",
            ),
            # Each school the child attends in a year may run its annual identification (a transferred child's
            # new school runs its own, from the day the child came).
            models.UniqueConstraint(
                fields=["student", "school_year", "school"],
                condition=Q(kind="annual"),
                name="one_annual_identification_per_student_school_year",
            ),
            models.CheckConstraint(
                name="identification_confirmed_has_level",
                # A confirmed finding of "no longer in difficulty" (a withdrawal: an in-year change, or a moved
                # child's new school's annual identification) has no level.
                condition=~Q(status="confirmed") | ~Q(confirmed_level="") | Q(review_result="not_difficult"),
            ),
            models.CheckConstraint(
                name="identification_publicity_ordered",
                condition=Q(publicity_from__isnull=True) | Q(publicity_to__gte=models.F("publicity_from")),
            ),
        ]
        indexes = [
            # The list page and the identified-students selector: a school year's identifications by status.
            models.Index(fields=["school_year", "status"], name="identification_year_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.student.name} {self.school_year}-{self.school_year + 1}"

    @property
    def level(self) -> str:
        """The level now: the county's once confirmed, else the school's."""
        return self.confirmed_level or self.school_level

    @property
    def proposed_level(self) -> str:
        """The level a 公示 of the row shows now: the school's, else the class review's (a level)."""
        if self.school_level:
            return self.school_level
        return self.review_result if self.review_result in IdentificationLevel.values else ""

    @property
    def needs_publicity_again(self) -> bool:
        """Published, but with another level than the one proposed now (the school decided otherwise since)."""
        return self.publicity_from is not None and self.publicity_level != self.proposed_level


def proposed_level_sql():
    """`Identification.proposed_level` as a database expression (for set-based updates and filters)."""
    return models.Case(
        models.When(~Q(school_level=""), then=models.F("school_level")),
        models.When(review_result__in=IdentificationLevel.values, then=models.F("review_result")),
        default=models.Value(""),
    )


class IdentificationObjectionQuerySet(ScopedQuerySet):
    scope_school = "identification__school"
    scope_townships = ("identification__school__township",)

    def open(self):
        return self.filter(outcome=IdentificationObjection.Outcome.OPEN)


@track_changes()
class IdentificationObjection(models.Model):
    """An objection raised during the 公示, and what the school found."""

    class Outcome(models.TextChoices):
        OPEN = "open", pgettext_lazy("objection", "Open")
        UPHELD = "upheld", pgettext_lazy("objection", "Upheld")
        DISMISSED = "dismissed", pgettext_lazy("objection", "Dismissed")

    # What an objection's outcome may be set to.
    RESOLVED_CHOICES = [
        (Outcome.UPHELD.value, Outcome.UPHELD.label),
        (Outcome.DISMISSED.value, Outcome.DISMISSED.label),
    ]

    identification = models.ForeignKey(
        Identification, on_delete=models.CASCADE, related_name="objections", verbose_name=_("identification")
    )
    raised_on = models.DateField(_("raised on"))
    content = models.TextField(_("objection"), max_length=2000)
    outcome = models.CharField(
        pgettext_lazy("objection", "outcome"), max_length=10, choices=Outcome.choices, default=Outcome.OPEN
    )
    outcome_note = models.CharField(pgettext_lazy("objection", "finding"), max_length=500, blank=True)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)

    objects = IdentificationObjectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        ordering = ["raised_on", "pk"]
        constraints = [
            models.CheckConstraint(
                name="objection_resolved_has_date",
                condition=Q(outcome="open", resolved_on__isnull=True)
                | (~Q(outcome="open") & Q(resolved_on__isnull=False)),
            )
        ]

    def __str__(self) -> str:
        return f"{self.identification} {self.raised_on}"
