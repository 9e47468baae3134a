"""Social aid (社会资助): donors' and charities' programmes and their grants to students (issue 14).

The papers print each programme on a line of its own and never add it to the government's aid (Jianshi 2019:
aid 2644.2375 万元 / 37,273 人次; apart from it, donations 80 万元 / 6,409 人次, 滋蕙计划 38.8 万元 / 194 人,
泛海助学 136.5 万元 / 273 人). A grant goes to a student of the register (at the school the register had them at
on the grant's date) or to a university student of the county's roster; it keeps its school and township, so a
past year reads as it was.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.access import ScopedQuerySet
from portal.tracking import track_changes
from students.models import School, Student, Township
from subsidies.models.common import MONEY
from subsidies.models.university import UniversityStudent


class SocialAidProgrammeQuerySet(ScopedQuerySet):
    # A programme's name and donor are read by everyone who reads its grants; bureau staff keep the list.
    scope_county_wide = True


@track_changes()
class SocialAidProgramme(models.Model):
    """A donor's or charity's programme (滋蕙计划, 泛海助学, an enterprise fund, the bureau's donations drive)."""

    name = models.CharField(_("programme"), max_length=100, unique=True)
    donor = models.CharField(_("donor"), max_length=100)
    target = models.CharField(
        _("stage or target"),
        max_length=100,
        blank=True,
        help_text=_("Whom the programme aids, as the donor says it (e.g. 高中在读脱贫户学生, 大学新生)."),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = SocialAidProgrammeQuerySet.as_manager()

    class Meta:
        verbose_name = _("social aid programme")
        verbose_name_plural = _("social aid programmes")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SocialAidGrantQuerySet(ScopedQuerySet):
    scope_school = "school"
    scope_townships = ("township",)


@track_changes()
class SocialAidGrant(models.Model):
    """One grant of a programme to one student (one 人次)."""

    programme = models.ForeignKey(
        SocialAidProgramme, on_delete=models.PROTECT, related_name="grants", verbose_name=_("programme")
    )
    student = models.ForeignKey(
        Student,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="social_aid",
        verbose_name=_("student"),
    )
    university_student = models.ForeignKey(
        UniversityStudent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="social_aid",
        verbose_name=_("university student"),
    )
    # Where the grant counts, as on its date: the register's school (and its township) of a student, the home
    # township of a university student (who is at no school).
    school = models.ForeignKey(
        School, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("school")
    )
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="+", verbose_name=_("township")
    )
    amount = models.DecimalField(pgettext_lazy("money paid", "amount"), **MONEY)
    granted_on = models.DateField(_("granted on"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = SocialAidGrantQuerySet.as_manager()

    class Meta:
        verbose_name = _("social aid grant")
        verbose_name_plural = _("social aid grants")
        ordering = ["-granted_on", "pk"]
        constraints = [
            models.CheckConstraint(name="social_grant_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(
                name="social_grant_one_recipient",
                condition=Q(student__isnull=False, university_student__isnull=True, school__isnull=False)
                | Q(student__isnull=True, university_student__isnull=False, school__isnull=True),
            ),
            models.UniqueConstraint(
                fields=["programme", "student", "granted_on"],
                condition=Q(student__isnull=False),
                name="one_social_grant_per_student_day",
            ),
            models.UniqueConstraint(
                fields=["programme", "university_student", "granted_on"],
                condition=Q(university_student__isnull=False),
                name="one_social_grant_per_university_student_day",
            ),
        ]
        indexes = [models.Index(fields=["granted_on"], name="social_grant_date_idx")]

    def __str__(self) -> str:
        return f"{self.programme} {self.recipient_name} {self.amount}"

    @property
    def recipient(self):
        return self.student if self.student_id else self.university_student

    @property
    def recipient_name(self) -> str:
        recipient = self.recipient
        return recipient.name if recipient is not None else ""
