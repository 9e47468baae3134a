"""The county's university students (生源地大学生) and the aid the county pays them (issue 14).

A university student studies outside the county's schools and is on no school's roll, so the register's
payments (which need a school and a term batch) cannot carry their aid: the one-off travel grant for freshmen
(新生入学路费资助, Jianshi 2019: 17 万元 / 292 人), the tuition aid for students of poverty-alleviated households
(大学生学费资助) and other university aid are dated grants of this roster. Loans stay in `loans`.
Scoped like the loans: by the student's home township (township officers see their township's; principals see
none); bureau staff keep them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.access import ScopedQuerySet
from portal.tracking import track_changes
from students import id_numbers
from students.models import SCHOOL_YEAR_VALIDATORS, Township
from subsidies.models.common import MONEY, Category


class UniversityStudentQuerySet(ScopedQuerySet):
    scope_townships = ("home_township",)


@track_changes()
class UniversityStudent(id_numbers.MaskedIdNumberMixin, models.Model):
    """A university student registered in the county (生源地), on no school's roll."""

    id_number = models.CharField(
        _("ID number"), max_length=18, unique=True, validators=[id_numbers.validate_id_number]
    )
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    university = models.CharField(_("university"), max_length=100)
    enrolment_year = models.PositiveSmallIntegerField(
        _("year of enrolment"),
        validators=SCHOOL_YEAR_VALIDATORS,
        help_text=_("The year the student entered university (2024 for the 2024-2025 freshmen)."),
    )
    home_township = models.ForeignKey(
        Township,
        on_delete=models.PROTECT,
        verbose_name=pgettext_lazy("household registration", "home township"),
    )
    category = models.CharField(
        _("family category"), max_length=24, choices=Category.choices, blank=True, default=""
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = UniversityStudentQuerySet.as_manager()

    class Meta:
        verbose_name = _("university student")
        verbose_name_plural = _("university students")
        ordering = ["-enrolment_year", "name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.university})"


class UniversityAidQuerySet(ScopedQuerySet):
    scope_townships = ("student__home_township",)


@track_changes()
class UniversityAid(models.Model):
    """One grant paid to a university student, on its date (the figures read the paid date)."""

    class Kind(models.TextChoices):
        FRESHMAN_TRAVEL = "freshman_travel", _("Freshman travel grant")
        TUITION = "tuition", _("University tuition aid")
        OTHER = "other", _("Other university aid")

    student = models.ForeignKey(
        UniversityStudent, on_delete=models.PROTECT, related_name="aid", verbose_name=_("university student")
    )
    kind = models.CharField(_("aid"), max_length=20, choices=Kind.choices)
    school_year = models.PositiveSmallIntegerField(_("school year"), validators=SCHOOL_YEAR_VALIDATORS)
    amount = models.DecimalField(pgettext_lazy("money paid", "amount"), **MONEY)
    paid_on = models.DateField(_("paid on"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = UniversityAidQuerySet.as_manager()

    class Meta:
        verbose_name = _("university student aid")
        verbose_name_plural = _("university student aid")
        ordering = ["-paid_on", "pk"]
        constraints = [
            # One grant of a kind per student and school year; the service pays the travel grant only in the
            # year of enrolment, so once.
            models.UniqueConstraint(
                fields=["student", "kind", "school_year"], name="one_university_aid_per_kind_year"
            ),
            models.CheckConstraint(name="university_aid_positive", condition=Q(amount__gt=0)),
        ]
        indexes = [models.Index(fields=["paid_on"], name="university_aid_paid_idx")]

    def __str__(self) -> str:
        return f"{self.student.name} {self.get_kind_display()} {self.amount}"
