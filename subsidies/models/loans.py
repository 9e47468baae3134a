"""Student-source credit loans (生源地信用助学贷款)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.access import ScopedQuerySet
from portal.tracking import track_changes
from students import id_numbers
from students.models import SCHOOL_YEAR_VALIDATORS, Township
from subsidies.models.common import MONEY

LOAN_CAP = Decimal("12000.00")
LOAN_TOP_UP_CAP = Decimal("8000.00")


class CreditLoanQuerySet(ScopedQuerySet):
    scope_townships = ("home_township",)


@track_changes()
class CreditLoan(models.Model):
    """A 生源地信用助学贷款 contract of one university student for one school year."""

    id_number = models.CharField(_("ID number"), max_length=18, validators=[id_numbers.validate_id_number])
    name = models.CharField(_("name"), max_length=50)
    home_township = models.ForeignKey(
        Township, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("home township")
    )
    university = models.CharField(_("university"), max_length=100)
    school_year = models.PositiveSmallIntegerField(_("school year"), validators=SCHOOL_YEAR_VALIDATORS)
    contract_number = models.CharField(_("contract number"), max_length=40, blank=True)
    contract_date = models.DateField(_("contract date"))
    amount = models.DecimalField(
        _("national loan"), **MONEY, validators=[MinValueValidator(0), MaxValueValidator(LOAN_CAP)]
    )
    top_up = models.DecimalField(
        _("municipal top-up"),
        **MONEY,
        default=Decimal("0.00"),
        validators=[MinValueValidator(0), MaxValueValidator(LOAN_TOP_UP_CAP)],
        help_text=_("Only for students of poverty-alleviated households."),
    )
    poverty_alleviated = models.BooleanField(_("poverty-alleviated household"), default=False)

    objects = CreditLoanQuerySet.as_manager()

    class Meta:
        verbose_name = _("credit loan")
        verbose_name_plural = _("credit loans")
        ordering = ["-school_year", "name"]
        constraints = [
            models.UniqueConstraint(fields=["id_number", "school_year"], name="one_loan_per_student_year"),
            models.CheckConstraint(name="loan_within_cap", condition=Q(amount__gte=0, amount__lte=LOAN_CAP)),
            models.CheckConstraint(
                name="loan_top_up_within_cap",
                condition=Q(top_up__gte=0, top_up__lte=LOAN_TOP_UP_CAP)
                & (Q(top_up=0) | Q(poverty_alleviated=True)),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.school_year}: {self.amount + self.top_up}"

    @property
    def masked_id_number(self) -> str:
        return id_numbers.mask(self.id_number)

    @property
    def total(self) -> Decimal:
        return self.amount + self.top_up
