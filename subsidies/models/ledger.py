"""The out-of-county ledger: children of this county studying elsewhere."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.access import ScopedQuerySet
from portal.tracking import track_changes
from students import id_numbers
from students.models import SCHOOL_YEAR_VALIDATORS, Stage, Township
from subsidies.models.common import Category


class OutOfCountyQuerySet(ScopedQuerySet):
    scope_townships = ("home_township",)


@track_changes()
class OutOfCountyStudent(id_numbers.MaskedIdNumberMixin, models.Model):
    """A county-registered student studying in another county (县外就读), followed up by a formal letter."""

    class FollowUp(models.TextChoices):
        PENDING = "pending", _("Letter not yet sent")
        SENT = "sent", _("Letter sent")
        CONFIRMED = "confirmed", _("Aid confirmed by the other county")
        CLOSED = "closed", _("Closed")

    id_number = models.CharField(_("ID number"), max_length=18, validators=[id_numbers.validate_id_number])
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    home_township = models.ForeignKey(
        Township,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=pgettext_lazy("household registration", "home township"),
    )
    destination_county_code = models.CharField(_("destination county code"), max_length=6)
    destination_county = models.CharField(_("destination county"), max_length=50)
    destination_school = models.CharField(_("school attended"), max_length=100)
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices)
    category = models.CharField(_("category"), max_length=24, choices=Category.choices, blank=True)
    school_year = models.PositiveSmallIntegerField(_("school year"), validators=SCHOOL_YEAR_VALIDATORS)
    follow_up = models.CharField(_("follow-up"), max_length=10, choices=FollowUp.choices, default="pending")
    letter_sent_on = models.DateField(_("letter sent on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = OutOfCountyQuerySet.as_manager()

    class Meta:
        verbose_name = _("out-of-county student")
        verbose_name_plural = _("out-of-county students")
        ordering = ["destination_county_code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["id_number", "school_year"], name="one_ledger_line_per_year")
        ]
        indexes = [
            # The letter to one destination county lists its students of a year.
            models.Index(fields=["destination_county_code", "school_year"], name="ooc_destination_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.destination_county}"
