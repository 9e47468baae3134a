"""Student-source credit loans (生源地信用助学贷款).

The caps are dated policy rows (AidPolicy of aid types credit_loan and loan_top_up, by level), read by
services.loan_create: 12,000 a year before autumn 2023, then 16,000 (20,000 for postgraduates); not a
constant here nor a check constraint, so that a new year's cap is entered, not programmed.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.access import ScopedQuerySet
from portal.tracking import track_changes
from students import id_numbers
from students.models import SCHOOL_YEAR_VALIDATORS, Township
from subsidies.models.common import MONEY, PolicyStage


class CreditLoanQuerySet(ScopedQuerySet):
    scope_townships = ("home_township",)


@track_changes()
class CreditLoan(id_numbers.MaskedIdNumberMixin, models.Model):
    """A 生源地信用助学贷款 contract of one university student for one school year."""

    class Level(models.TextChoices):
        # The values are the policy table's stages, whose caps apply.
        UNDERGRADUATE = PolicyStage.HIGHER.value, _("Undergraduate or junior college")
        POSTGRADUATE = PolicyStage.POSTGRADUATE.value, _("Postgraduate")

    id_number = models.CharField(_("ID number"), max_length=18, validators=[id_numbers.validate_id_number])
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    home_township = models.ForeignKey(
        Township,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=pgettext_lazy("household registration", "home township"),
    )
    university = models.CharField(_("university"), max_length=100)
    school_year = models.PositiveSmallIntegerField(_("school year"), validators=SCHOOL_YEAR_VALIDATORS)
    contract_number = models.CharField(_("contract number"), max_length=40, blank=True)
    contract_date = models.DateField(_("contract date"))
    level = models.CharField(
        _("level of study"), max_length=12, choices=Level.choices, default=Level.UNDERGRADUATE
    )
    fees = models.DecimalField(
        _("tuition and accommodation fees"),
        **MONEY,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_(
            "The year's tuition plus accommodation: the loan is at most this sum, and at most the cap."
        ),
    )
    amount = models.DecimalField(_("national loan"), **MONEY, validators=[MinValueValidator(0)])
    top_up = models.DecimalField(
        _("municipal top-up"),
        **MONEY,
        default=Decimal("0.00"),
        validators=[MinValueValidator(0)],
        help_text=_(
            "Only for students of poverty-alleviated households whose national loan is at its cap and whose "
            "fees exceed it."
        ),
    )
    poverty_alleviated = models.BooleanField(_("poverty-alleviated household"), default=False)

    objects = CreditLoanQuerySet.as_manager()

    class Meta:
        verbose_name = _("credit loan")
        verbose_name_plural = _("credit loans")
        ordering = ["-school_year", "name"]
        constraints = [
            models.UniqueConstraint(fields=["id_number", "school_year"], name="one_loan_per_student_year"),
            # The caps are dated policy rows checked by services.loan_create; the table keeps what never changes.
            models.CheckConstraint(name="loan_not_negative", condition=Q(amount__gte=0, top_up__gte=0)),
            models.CheckConstraint(
                name="loan_top_up_poverty_alleviated", condition=Q(top_up=0) | Q(poverty_alleviated=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.school_year}: {self.amount + self.top_up}"

    @property
    def total(self) -> Decimal:
        return self.amount + self.top_up
