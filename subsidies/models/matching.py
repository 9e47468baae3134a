"""Data matching runs: other departments lists set against the county children."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.access import ScopedQuerySet, can_run_data_matching
from students import id_numbers
from students.models import SCHOOL_YEAR_VALIDATORS, Student, StudentCategory
from subsidies.models.common import AidType, Category, Term, term_label


class MatchRunQuerySet(ScopedQuerySet):
    # County-wide lists of other departments: the bureau's own work, not read by officials, townships or schools.
    scope_requires = staticmethod(can_run_data_matching)

    def with_counts(self):
        """Each run with its number of results of each kind (`unaided`, `unconfirmed`, ...), in one query."""
        return self.annotate(
            **{
                kind: models.Count("results", filter=Q(results__kind=kind))
                for kind in MatchResult.Kind.values
            }
        )


# The households the 雨露计划 list can confirm: 脱贫户 and the monitored ones (防止返贫监测对象).
YULU_PLAN_CATEGORIES = (Category.POVERTY_ALLEVIATED, *StudentCategory.MONITORED)


class MatchRun(models.Model):
    """One uploaded list of another department, matched against students for one category and term."""

    class Source(models.TextChoices):
        RURAL_REVITALISATION = "rural", _("Rural revitalisation bureau")
        CIVIL_AFFAIRS = "civil", _("Civil affairs bureau")
        DISABLED_FEDERATION = "disabled", _("Disabled persons' federation")
        # The rural-revitalisation bureau's list of the 雨露计划's students: it confirms their households'
        # category (脱贫户 or monitored), and finds who was not paid the plan's grant.
        YULU_PLAN = "yulu", _("Yulu Plan list (rural revitalisation bureau)")

    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    category = models.CharField(_("category confirmed by the list"), max_length=24, choices=Category.choices)
    school_year = models.PositiveSmallIntegerField(_("school year"), validators=SCHOOL_YEAR_VALIDATORS)
    term = models.CharField(_("term"), max_length=8, choices=Term.choices)
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    list_rows = models.PositiveIntegerField(_("rows in the list"), default=0)
    note = models.CharField(
        _("note"),
        max_length=500,
        blank=True,
        help_text=_("Aids of the category that could not be checked (their amount is not set)."),
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    objects = MatchRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("data matching run")
        verbose_name_plural = _("data matching runs")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.get_category_display()} {term_label(self.school_year, self.term)}"

    def clean(self):
        # The 雨露计划 covers vocational students of 脱贫户 and monitored households only: its list confirms
        # no other category (a 低保 or 残疾 child is not on it as such).
        if self.source == self.Source.YULU_PLAN and self.category not in YULU_PLAN_CATEGORIES:
            raise ValidationError(
                {
                    "category": _(
                        "The Yulu Plan list covers only poverty-alleviated and monitored households (%(covered)s); "
                        "it cannot confirm “%(category)s”."
                    )
                    % {
                        "covered": "、".join(str(Category(c).label) for c in YULU_PLAN_CATEGORIES),
                        "category": self.get_category_display(),
                    }
                }
            )


class MatchResult(id_numbers.MaskedIdNumberMixin, models.Model):
    class Kind(models.TextChoices):
        UNAIDED = "unaided", _("On the list but not aided this term")
        UNCONFIRMED = "unconfirmed", _("Aided under a category the list does not confirm")
        NOT_FOUND = "not_found", _("On the list, no student in the county")
        INVALID = "invalid", _("Row refused")

    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="results")
    kind = models.CharField(_("result"), max_length=12, choices=Kind.choices)
    student = models.ForeignKey(Student, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    id_number = models.CharField(_("ID number"), max_length=40, blank=True)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50, blank=True)
    row_number = models.PositiveIntegerField(_("row"), null=True, blank=True)
    # Unaided: the aid the list's category qualifies the child for that was not paid (one result per aid).
    aid_type = models.CharField(_("aid type"), max_length=24, choices=AidType.choices, blank=True)
    message = models.CharField(_("message"), max_length=300, blank=True)
    applied = models.BooleanField(_("category added"), default=False)

    class Meta:
        verbose_name = _("matching result")
        verbose_name_plural = _("matching results")
        ordering = ["kind", "row_number", "pk"]
        indexes = [
            # The result page lists one run's results by kind.
            models.Index(fields=["run", "kind"], name="match_result_run_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"
