"""The policy table (rules as data) and the yearly quotas.

Money is Decimal yuan with fen.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pgtrigger
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.access import ScopedQuerySet
from portal.tracking import track_changes
from students.models import SCHOOL_YEAR_VALIDATORS
from subsidies.models.batches import Payment
from subsidies.models.common import (
    FEN,
    MONEY,
    AidType,
    Category,
    IdentificationLevel,
    PolicyStage,
    Term,
    term_label,
)


class AidPolicyQuerySet(ScopedQuerySet):
    # The rule book is reference data every signed-in user may read; only bureau staff edit it.
    scope_county_wide = True

    def valid_on(self, day: date):
        return self.filter(Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gte=day)))


@track_changes()
class AidPolicy(models.Model):
    """One row of the aid policy table: who qualifies for which aid, at which stage, for how much, when."""

    class Boarding(models.TextChoices):
        ANY = "any", _("Boarders and non-boarders")
        BOARDER = "boarder", _("Boarders only")
        NON_BOARDER = "non_boarder", _("Non-boarders only")

    class Unit(models.TextChoices):
        PER_YEAR = "per_year", _("Per year")
        PER_DAY = "per_day", _("Per day")

    class Payee(models.TextChoices):
        PERSON = "person", _("The student's family")
        SCHOOL = "school", _("The school")
        CANTEEN = "canteen", _("The school canteen")
        SCHOOL_IF_MEALS = "school_if_meals", _("The school if it serves meals, else the family")

    aid_type = models.CharField(_("aid type"), max_length=24, choices=AidType.choices)
    stage = models.CharField(_("stage"), max_length=12, choices=PolicyStage.choices)
    tier = models.PositiveSmallIntegerField(
        _("tier"), default=0, help_text=_("0 for a single standard; 1, 2 for the tiers of a national grant.")
    )
    categories = ArrayField(
        models.CharField(max_length=24, choices=Category.choices),
        verbose_name=_("qualifying categories"),
        default=list,
        blank=True,
        help_text=_("A student with any of these categories qualifies; empty means every student."),
    )
    excluded_categories = ArrayField(
        models.CharField(max_length=24, choices=Category.choices),
        verbose_name=_("excluded categories"),
        default=list,
        blank=True,
        help_text=_("A student with any of these categories does not qualify under this row."),
    )
    levels = ArrayField(
        models.CharField(max_length=12, choices=IdentificationLevel.choices),
        verbose_name=_("qualifying identified levels"),
        default=list,
        blank=True,
        help_text=_(
            "A student the school identified at one of these levels (confirmed by the county) qualifies as "
            "well; with no categories and no levels, every student does."
        ),
    )
    boarding = models.CharField(
        _("boarding condition"), max_length=12, choices=Boarding.choices, default="any"
    )
    rural_only = models.BooleanField(_("rural schools only"), default=False)
    inclusive_only = models.BooleanField(
        _("inclusive kindergartens only"),
        default=False,
        help_text=_("Only in kindergartens marked inclusive (普惠) in the school register."),
    )
    agricultural_only = models.BooleanField(
        _("agricultural majors only"),
        default=False,
        help_text=_("Only for students of an agricultural major (涉农专业)."),
    )
    grade_min = models.PositiveSmallIntegerField(_("from grade"), null=True, blank=True)
    grade_max = models.PositiveSmallIntegerField(_("to grade"), null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices, default=Unit.PER_YEAR)
    amount = models.DecimalField(
        _("amount"),
        **MONEY,
        null=True,
        blank=True,
        help_text=_(
            "Yuan per year, or per day. Empty when the paper gives no figure: no batch can draw the aid "
            "until the county enters it."
        ),
    )
    fee_capped = models.BooleanField(
        _("actual fee, up to the amount"),
        default=False,
        help_text=_("The aid is the school's actual preschool fee (保教费), at most the amount."),
    )
    days_per_year = models.PositiveSmallIntegerField(_("days per year"), null=True, blank=True)
    payee = models.CharField(_("paid to"), max_length=16, choices=Payee.choices, default=Payee.PERSON)
    max_terms = models.PositiveSmallIntegerField(
        _("at most terms"),
        null=True,
        blank=True,
        help_text=_("Duration limit in terms (2.5 years = 5 terms); empty for no limit."),
    )
    supersedes = ArrayField(
        models.CharField(max_length=24, choices=AidType.choices),
        verbose_name=_("replaces"),
        default=list,
        blank=True,
        help_text=_(
            "Aid types this aid replaces when a student qualifies for both (the higher standard applies)."
        ),
    )
    valid_from = models.DateField(pgettext_lazy("policy", "valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    source = models.CharField(pgettext_lazy("policy", "source"), max_length=200, blank=True)

    objects = AidPolicyQuerySet.as_manager()

    class Meta:
        verbose_name = _("aid policy")
        verbose_name_plural = _("aid policies")
        ordering = ["stage", "aid_type", "tier", "valid_from"]
        constraints = [
            models.CheckConstraint(
                name="aid_policy_amount_not_negative",
                condition=Q(amount__gte=0),
                violation_error_message=_("The amount may not be negative."),
            ),
            models.CheckConstraint(
                name="aid_policy_dates_ordered",
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                violation_error_message=_("The end date is before the start date."),
            ),
            models.CheckConstraint(
                name="aid_policy_per_day_has_days",
                condition=~Q(unit="per_day") | Q(days_per_year__gt=0),
                violation_error_message=_("A per-day standard needs the number of days per year."),
            ),
        ]
        triggers = [
            # Two standards for the same aid, stage and tier may never apply to the same grade on the same day
            # (special-education rows split grades 1-6 and 7-9 between the primary and junior standards). A trigger
            # rather than an exclusion constraint: that needs the btree_gist extension, which the embedded
            # PostgreSQL of `make run` lacks. The advisory lock serialises writers of the same aid, stage
            # and tier, so that two overlapping rows written at once cannot both pass the check.
            pgtrigger.Trigger(
                name="aid_policy_no_overlap",
                operation=pgtrigger.Insert | pgtrigger.Update,
                when=pgtrigger.Before,
                func=pgtrigger.Func(
                    """
                    PERFORM pg_advisory_xact_lock(hashtext('aid_policy:' || NEW.aid_type || ':' || NEW.stage));
                    IF EXISTS (
                        SELECT 1 FROM {meta.db_table} p
                        WHERE p.id <> NEW.id AND p.aid_type = NEW.aid_type AND p.stage = NEW.stage
                          AND p.tier = NEW.tier
                          AND daterange(p.valid_from, p.valid_to, '[]') && daterange(NEW.valid_from, NEW.valid_to, '[]')
                          AND int4range(coalesce(p.grade_min, 0), coalesce(p.grade_max, 99), '[]')
                              && int4range(coalesce(NEW.grade_min, 0), coalesce(NEW.grade_max, 99), '[]')
                    ) THEN
                        RAISE EXCEPTION 'aid_policy_no_overlap: another standard for this aid, stage, tier and grades'
                            USING ERRCODE = 'exclusion_violation';
                    END IF;
                    RETURN NEW;
                    """
                ),
            ),
        ]

    def __str__(self) -> str:
        # Enum lookups rather than get_FOO_display(), which hashes the whole choice list on every call:
        # a batch names its rule once per student.
        tier = f" {self.tier}" if self.tier else ""
        return f"{PolicyStage(self.stage).label} {AidType(self.aid_type).label}{tier}"

    @property
    def category_labels(self) -> list[str]:
        return [str(Category(c).label) for c in self.categories]

    @property
    def level_labels(self) -> list[str]:
        return [str(IdentificationLevel(v).label) for v in self.levels]

    @property
    def excluded_labels(self) -> list[str]:
        return [str(Category(c).label) for c in self.excluded_categories]

    @property
    def amount_per_year(self) -> Decimal | None:
        """None while the county has not entered the amount."""
        if self.amount is None:
            return None
        if self.unit == self.Unit.PER_DAY:
            return (self.amount * (self.days_per_year or 0)).quantize(FEN)
        return self.amount

    @property
    def amount_per_term(self) -> Decimal | None:
        per_year = self.amount_per_year
        return None if per_year is None else (per_year / 2).quantize(FEN)


class AidExclusionGroupQuerySet(ScopedQuerySet):
    scope_county_wide = True

    def sharing_with(self, aid_type: str):
        return self.filter(aid_types__contains=[aid_type])


@track_changes()
class AidExclusionGroup(models.Model):
    """Aid types of which a student receives at most one in a term (boarder allowance, non-boarder allowance
    and free lunch; the free lunch and the nutrition plan it includes; ...). The database refuses a second
    paid, pending or failed payment of one group for a student and term (trigger on Payment); held
    payments do not count."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    aid_types = ArrayField(
        models.CharField(max_length=24, choices=AidType.choices), verbose_name=_("aid types"), size=None
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = AidExclusionGroupQuerySet.as_manager()

    class Meta:
        verbose_name = _("exclusion group")
        verbose_name_plural = _("exclusion groups")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                name="exclusion_group_has_two_aids",
                condition=Q(aid_types__len__gte=2),
                violation_error_message=_("An exclusion group names at least two aid types."),
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def aid_labels(self) -> list[str]:
        return [str(AidType(t).label) for t in self.aid_types]


class AidQuotaQuerySet(ScopedQuerySet):
    scope_county_wide = True

    def with_drawn(self):
        """Each quota with `drawn`: the payable payments of its aid type and term, summed by one subquery
        (the same payments `selectors.quota_status` counts), so a list of quotas costs one query."""
        drawn = (
            Payment.objects.payable()
            .filter(aid_type=OuterRef("aid_type"), school_year=OuterRef("school_year"), term=OuterRef("term"))
            .order_by()
            .values("aid_type")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        return self.annotate(
            drawn=Coalesce(Subquery(drawn, output_field=models.DecimalField(**MONEY)), Value(Decimal("0.00")))
        )


@track_changes()
class AidQuota(models.Model):
    """A term's quota (指标) for one aid type, handed down by the province."""

    aid_type = models.CharField(_("aid type"), max_length=24, choices=AidType.choices)
    school_year = models.PositiveSmallIntegerField(_("school year"), validators=SCHOOL_YEAR_VALIDATORS)
    term = models.CharField(_("term"), max_length=8, choices=Term.choices)
    amount = models.DecimalField(_("allocated amount"), **MONEY, validators=[MinValueValidator(0)])
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = AidQuotaQuerySet.as_manager()

    class Meta:
        verbose_name = _("aid quota")
        verbose_name_plural = _("aid quotas")
        constraints = [
            models.UniqueConstraint(
                fields=["aid_type", "school_year", "term"], name="one_quota_per_aid_term"
            ),
            models.CheckConstraint(name="aid_quota_not_negative", condition=Q(amount__gte=0)),
        ]

    def __str__(self) -> str:
        return f"{self.get_aid_type_display()} {term_label(self.school_year, self.term)}"
