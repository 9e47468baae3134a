"""The rural compulsory-education nutrition improvement plan (营养改善计划): terms, pilot schools, meals,
funds, the principal's accompanied meals and food-safety checks.

Every row below a pilot school reaches a school through `pilot__school`, so one scope declaration per
queryset gives principals their own school, township officers their township and the bureau the county.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.access import NO_SCOPE, ScopedQuerySet, scope_of
from portal.tracking import track_changes
from students.models import SCHOOL_YEAR_VALIDATORS, School, Stage

MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


class NutritionTermQuerySet(ScopedQuerySet):
    # Terms and their holidays are reference data: everyone signed in reads them, the bureau writes them.
    scope_county_wide = True


@track_changes()
class NutritionTerm(models.Model):
    """A term of the plan (春季/秋季学期): its school days are the weekdays from start to end less holidays."""

    class Season(models.TextChoices):
        SPRING = "spring", _("Spring term")
        AUTUMN = "autumn", _("Autumn term")

    school_year = models.PositiveSmallIntegerField(
        _("year"), help_text=_("Calendar year the term starts in."), validators=SCHOOL_YEAR_VALIDATORS
    )
    season = models.CharField(_("term"), max_length=8, choices=Season.choices)
    start = models.DateField(_("first school day"))
    end = models.DateField(_("last school day"))
    is_closed = models.BooleanField(
        _("closed"), default=False, help_text=_("A closed term's accounts are final: nothing may be changed.")
    )

    objects = NutritionTermQuerySet.as_manager()

    class Meta:
        verbose_name = _("nutrition term")
        verbose_name_plural = _("nutrition terms")
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(fields=["school_year", "season"], name="nutrition_one_term_per_season"),
            models.CheckConstraint(
                name="nutrition_term_dates_ordered",
                condition=Q(end__gte=F("start")),
                violation_error_message=_("The last school day is before the first."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_year} {self.get_season_display()}"

    def contains(self, day) -> bool:
        return self.start <= day <= self.end


class TermHolidayQuerySet(ScopedQuerySet):
    scope_county_wide = True


@track_changes()
class TermHoliday(models.Model):
    """A weekday inside the term with no school (public holiday, exam break): no meals may be recorded."""

    term = models.ForeignKey(
        NutritionTerm, verbose_name=_("term"), on_delete=models.CASCADE, related_name="holidays"
    )
    day = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=100, blank=True)

    objects = TermHolidayQuerySet.as_manager()

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["term", "day"], name="nutrition_one_holiday_per_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.reason}"


class PilotSchoolQuerySet(ScopedQuerySet):
    scope_school = "school"
    scope_townships = ("school__township",)

    def with_totals(self):
        """Money and meal totals per pilot in one query (subqueries, so the sums do not multiply)."""

        def total(model, field, **filters):
            output = models.IntegerField() if field == "meals" else models.DecimalField(**MONEY)
            rows = (
                model.objects.filter(pilot=models.OuterRef("pk"), **filters)
                .order_by()
                .values("pilot")
                .annotate(s=models.Sum(field))
                .values("s")
            )
            return Coalesce(models.Subquery(rows, output_field=output), models.Value(0), output_field=output)

        return self.annotate(
            total_received=total(FundReceipt, "amount"),
            total_spent=total(Purchase, "amount"),
            total_forbidden=total(Purchase, "amount", category__in=Purchase.FORBIDDEN_CATEGORIES),
            compulsory_meals=total(MealRecord, "meals", stage__in=(Stage.PRIMARY, Stage.JUNIOR)),
            preschool_meals=total(MealRecord, "meals", stage=Stage.PRESCHOOL),
        )

    def with_accompanied_days(self, until):
        """How many days up to `until` had an accompanied meal (the dashboard's "days without 陪餐")."""
        days = (
            AccompaniedMeal.objects.filter(pilot=models.OuterRef("pk"), day__lte=until)
            .order_by()
            .values("pilot")
            .annotate(n=models.Count("day", distinct=True))
            .values("n")
        )
        return self.annotate(
            accompanied_days=Coalesce(
                models.Subquery(days, output_field=models.IntegerField()), models.Value(0)
            )
        )


@track_changes()
class PilotSchool(models.Model):
    """A school in the plan for one term.

    Covered pupils are counted from the registry when the school is enrolled (and on an explicit refresh),
    then kept as a snapshot: the term's figures must not drift while pupils move during the term, and the
    counts are never typed in.
    """

    class SupplyMode(models.TextChoices):
        CANTEEN = "canteen", _("Canteen supply")
        CATERED = "catered", _("Catered by a company")
        MIXED = "mixed", _("Mixed supply")

    term = models.ForeignKey(
        NutritionTerm, verbose_name=_("term"), on_delete=models.PROTECT, related_name="pilots"
    )
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="nutrition_pilots"
    )
    supply_mode = models.CharField(_("supply mode"), max_length=8, choices=SupplyMode.choices)
    daily_standard = models.DecimalField(
        _("daily standard (yuan)"),
        default=Decimal("5.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Yuan per pupil per school day for compulsory-education pupils."),
        **MONEY,
    )
    preschool_plan = models.BooleanField(
        _("preschool plan"), default=False, help_text=_("The preschool nutrition plan runs at this school.")
    )
    preschool_yearly_standard = models.DecimalField(
        _("preschool standard (yuan a year)"),
        default=Decimal("800.00"),
        validators=[MinValueValidator(Decimal("0.00"))],
        **MONEY,
    )
    planned_days = models.PositiveSmallIntegerField(
        _("planned meal days"), default=100, help_text=_("Meal days planned this term (200 a year).")
    )
    covered_preschool = models.PositiveIntegerField(_("preschool pupils covered"), default=0)
    covered_primary = models.PositiveIntegerField(_("primary pupils covered"), default=0)
    covered_junior = models.PositiveIntegerField(_("junior pupils covered"), default=0)
    covered_counted_on = models.DateField(_("pupils counted on"), null=True, blank=True)

    objects = PilotSchoolQuerySet.as_manager()

    class Meta:
        verbose_name = _("pilot school")
        verbose_name_plural = _("pilot schools")
        ordering = ["-term__start", "school__township__code", "school__code"]
        constraints = [
            models.UniqueConstraint(fields=["term", "school"], name="nutrition_one_pilot_per_term"),
            models.CheckConstraint(name="nutrition_standard_positive", condition=Q(daily_standard__gt=0)),
        ]
        indexes = [
            # County figures and the dashboard: pilots of a term by supply mode.
            models.Index(fields=["term", "supply_mode"], name="nutrition_pilot_term_mode_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.school} · {self.term}"

    @property
    def covered_compulsory(self) -> int:
        return self.covered_primary + self.covered_junior

    def covered_for(self, stage: str) -> int:
        return {
            Stage.PRESCHOOL: self.covered_preschool if self.preschool_plan else 0,
            Stage.PRIMARY: self.covered_primary,
            Stage.JUNIOR: self.covered_junior,
        }.get(stage, 0)


class PilotRowQuerySet(ScopedQuerySet):
    scope_school = "pilot__school"
    scope_townships = ("pilot__school__township",)


# The stages the plan feeds: compulsory pupils, and preschool pupils where the preschool plan runs.
MEAL_STAGES = [(s.value, s.label) for s in (Stage.PRESCHOOL, Stage.PRIMARY, Stage.JUNIOR)]


@track_changes()
class MealRecord(models.Model):
    """Meals served at a pilot school on one school day to one stage."""

    pilot = models.ForeignKey(
        PilotSchool, verbose_name=_("pilot school"), on_delete=models.CASCADE, related_name="meals"
    )
    day = models.DateField(_("date"))
    stage = models.CharField(_("stage"), max_length=12, choices=MEAL_STAGES)
    meals = models.PositiveIntegerField(_("meals served"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    objects = PilotRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("meal record")
        verbose_name_plural = _("meal records")
        ordering = ["-day", "pilot_id", "stage"]
        constraints = [
            models.UniqueConstraint(
                fields=["pilot", "day", "stage"], name="nutrition_one_meal_record_per_day"
            ),
        ]
        indexes = [
            # Meal list of a month and the county's meals by date range.
            models.Index(fields=["day"], name="nutrition_meal_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.pilot_id} {self.day} {self.stage}: {self.meals}"


@track_changes()
class FundReceipt(models.Model):
    """Central special funds (中央专项资金) received by a pilot school for the term."""

    pilot = models.ForeignKey(
        PilotSchool, verbose_name=_("pilot school"), on_delete=models.CASCADE, related_name="receipts"
    )
    received_on = models.DateField(_("received on"))
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    document = models.CharField(_("document number"), max_length=100, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PilotRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("fund receipt")
        verbose_name_plural = _("fund receipts")
        ordering = ["-received_on", "-pk"]
        constraints = [models.CheckConstraint(name="nutrition_receipt_positive", condition=Q(amount__gt=0))]

    def __str__(self) -> str:
        return f"{self.received_on} {self.amount}"


@track_changes()
class Purchase(models.Model):
    """Money spent from the plan's funds. Some categories are not food for pupils: the rules flag them."""

    class Category(models.TextChoices):
        MEAT = "meat", _("Meat")
        EGGS = "eggs", _("Eggs")
        MILK = "milk", _("Milk")
        VEGETABLES = "vegetables", _("Vegetables")
        GRAIN = "grain", _("Grain and oil")
        OTHER = "other", _("Other food")
        STAFF_MEALS = "staff_meals", _("Staff meals")
        EQUIPMENT = "equipment", _("Equipment")
        NON_FOOD = "non_food", _("Other non-food")

    # Not food for pupils: recorded (the books must be complete) and flagged as diversion (挤占挪用).
    FORBIDDEN_CATEGORIES = (Category.STAFF_MEALS, Category.EQUIPMENT, Category.NON_FOOD)

    pilot = models.ForeignKey(
        PilotSchool, verbose_name=_("pilot school"), on_delete=models.CASCADE, related_name="purchases"
    )
    purchased_on = models.DateField(_("date"))
    supplier = models.CharField(_("supplier"), max_length=100)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    note = models.CharField(_("note"), max_length=200, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PilotRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        ordering = ["-purchased_on", "-pk"]
        constraints = [models.CheckConstraint(name="nutrition_purchase_positive", condition=Q(amount__gt=0))]
        indexes = [
            # Funds used in a date range (county figures for a calendar year) and the purchase list.
            models.Index(fields=["purchased_on"], name="nutrition_purchase_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.purchased_on} {self.supplier} {self.amount}"


@track_changes()
class AccompaniedMeal(models.Model):
    """The principal (or another school leader) ate with the pupils that day (校长陪餐)."""

    pilot = models.ForeignKey(
        PilotSchool, verbose_name=_("pilot school"), on_delete=models.CASCADE, related_name="accompanied"
    )
    day = models.DateField(_("date"))
    person = models.CharField(_("who ate with the pupils"), max_length=50)
    remark = models.CharField(_("remark"), max_length=300, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    objects = PilotRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("accompanied meal")
        verbose_name_plural = _("accompanied meals")
        ordering = ["-day", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["pilot", "day", "person"], name="nutrition_one_accompanied_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.person}"


@track_changes()
class SafetyCheck(models.Model):
    """A food-safety check: purchase acceptance (验收), storage check, or sample retention (留样)."""

    class Kind(models.TextChoices):
        ACCEPTANCE = "acceptance", _("Purchase acceptance")
        STORAGE = "storage", _("Storage check")
        SAMPLE = "sample", _("Sample retention")

    pilot = models.ForeignKey(
        PilotSchool, verbose_name=_("pilot school"), on_delete=models.CASCADE, related_name="safety_checks"
    )
    kind = models.CharField(pgettext_lazy("safety check", "kind"), max_length=12, choices=Kind.choices)
    day = models.DateField(_("date"))
    checked_by = models.CharField(_("checked by"), max_length=50)
    supplier = models.CharField(_("supplier"), max_length=100, blank=True)
    items = models.CharField(_("items"), max_length=300, blank=True)
    passed = models.BooleanField(_("passed"), default=True)
    follow_up = models.TextField(pgettext_lazy("safety check", "follow-up"), blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    objects = PilotRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("food-safety check")
        verbose_name_plural = _("food-safety checks")
        ordering = ["-day", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="nutrition_failed_check_has_follow_up",
                condition=Q(passed=True) | ~Q(follow_up=""),
                violation_error_message=_("A failed check needs a follow-up note."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.get_kind_display()}"


class MealImportQuerySet(ScopedQuerySet):
    def _for_scope(self, scope):
        # County roles see every import; others only their own (filtered in visible_to, which knows the user).
        return self.all() if scope.county else self.none()

    def visible_to(self, user):
        scope = scope_of(user)
        if scope.county or scope == NO_SCOPE:
            return self._for_scope(scope)
        return self.filter(uploaded_by=user)


class MealImport(models.Model):
    """One upload of a month of meals: every row checked, then all written in one transaction or none.

    A large file (a county's month: ~10,000 rows) is checked and written by a Celery task; its page and the
    API show the progress (`processed_rows` of `total_rows`)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        CHECKING = "checking", _("Checking rows")
        WRITING = "writing", _("Writing")
        DONE = "done", _("Imported")
        REJECTED = "rejected", _("Refused: nothing was imported")
        FAILED = "failed", _("Failed: nothing was imported")

    FINISHED = (Status.DONE, Status.REJECTED, Status.FAILED)

    term = models.ForeignKey(
        NutritionTerm, verbose_name=_("term"), on_delete=models.PROTECT, related_name="+"
    )
    month = models.DateField(_("month"))
    # Kept only while the import runs as a task; deleted when it ends.
    file = models.FileField(upload_to="meals/%Y/%m/", blank=True)
    file_name = models.CharField(_("file"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(_("meal records written"), default=0)
    # The refusal's reasons, one line per bad row ("第3行：…").
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(_("result"), blank=True)
    seconds = models.FloatField(null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = MealImportQuerySet.as_manager()

    class Meta:
        verbose_name = _("meal import")
        verbose_name_plural = _("meal imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.is_finished else 0
        return min(100, int(self.processed_rows * 100 / self.total_rows))
