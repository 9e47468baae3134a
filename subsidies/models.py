"""Student aid: the policy table (rules as data), term batches and their payments, bank accounts, quotas,
data matching runs, the out-of-county ledger, credit loans and the public lookup log.

Money is Decimal yuan with fen. A payment copies its amount when the batch is drawn, so a later change of
the standard never changes what was paid.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from portal.access import ScopedQuerySet
from portal.tracking import track_changes
from students import id_numbers
from students.models import SCHOOL_YEAR_VALIDATORS, School, Stage, Student, StudentCategory, Township

Category = StudentCategory.Category
MONEY = {"max_digits": 14, "decimal_places": 2}
FEN = Decimal("0.01")


class AidType(models.TextChoices):
    PRESCHOOL_FEE_WAIVER = "preschool_fee_waiver", _("Preschool fee waiver")
    PRESCHOOL_LIVING = "preschool_living", _("Preschool living allowance")
    PRESCHOOL_NUTRITION = "preschool_nutrition", _("Preschool nutrition plan")
    BOARDER_ALLOWANCE = "boarder_allowance", _("Boarder living allowance")
    NON_BOARDER_ALLOWANCE = "non_boarder_allowance", _("Non-boarder living allowance")
    FREE_LUNCH = "free_lunch", _("Free lunch")
    NUTRITION_PLAN = "nutrition_plan", _("Rural nutrition plan")
    TUITION_WAIVER = "tuition_waiver", _("Tuition waiver")
    TEXTBOOK_WAIVER = "textbook_waiver", _("Textbook waiver")
    ACCOMMODATION_WAIVER = "accommodation_waiver", _("Accommodation waiver")
    NATIONAL_GRANT = "national_grant", _("National grant")
    TUITION_AID = "tuition_aid", _("University tuition aid")
    FRESHMAN_TRAVEL = "freshman_travel", _("Freshman travel grant")


class PolicyStage(models.TextChoices):
    """The registry's stages, plus university (loans, tuition aid: students not in our schools)."""

    PRESCHOOL = Stage.PRESCHOOL.value, Stage.PRESCHOOL.label
    PRIMARY = Stage.PRIMARY.value, Stage.PRIMARY.label
    JUNIOR = Stage.JUNIOR.value, Stage.JUNIOR.label
    SENIOR = Stage.SENIOR.value, Stage.SENIOR.label
    VOCATIONAL = Stage.VOCATIONAL.value, Stage.VOCATIONAL.label
    SPECIAL = Stage.SPECIAL.value, Stage.SPECIAL.label
    HIGHER = "higher", _("Higher education")


class Term(models.TextChoices):
    AUTUMN = "autumn", _("Autumn term")
    SPRING = "spring", _("Spring term")


def term_start(school_year: int, term: str) -> date:
    """Autumn term starts 1 September of the school year, spring term 1 March of the next calendar year."""
    return date(school_year, 9, 1) if term == Term.AUTUMN else date(school_year + 1, 3, 1)


def term_label(school_year: int, term: str) -> str:
    return f"{school_year}-{school_year + 1} {Term(term).label}"


class PayeeKind(models.TextChoices):
    PERSON = "person", _("The student's family")
    SCHOOL = "school", _("The school")
    CANTEEN = "canteen", _("The school canteen")


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
    boarding = models.CharField(
        _("boarding condition"), max_length=12, choices=Boarding.choices, default="any"
    )
    rural_only = models.BooleanField(_("rural schools only"), default=False)
    grade_min = models.PositiveSmallIntegerField(_("from grade"), null=True, blank=True)
    grade_max = models.PositiveSmallIntegerField(_("to grade"), null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices, default=Unit.PER_YEAR)
    amount = models.DecimalField(_("amount"), **MONEY, help_text=_("Yuan per year, or per day."))
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
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)

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
            # Two standards for the same aid, stage and tier may never apply on the same day. A trigger
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
                    ) THEN
                        RAISE EXCEPTION 'aid_policy_no_overlap: another standard for this aid, stage and tier'
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
    def excluded_labels(self) -> list[str]:
        return [str(Category(c).label) for c in self.excluded_categories]

    @property
    def amount_per_year(self) -> Decimal:
        if self.unit == self.Unit.PER_DAY:
            return (self.amount * (self.days_per_year or 0)).quantize(FEN)
        return self.amount

    @property
    def amount_per_term(self) -> Decimal:
        return (self.amount_per_year / 2).quantize(FEN)


class AidQuotaQuerySet(ScopedQuerySet):
    scope_county_wide = True

    def with_drawn(self):
        """Each quota with `drawn`: the payable payments of its aid type and term, summed by one subquery
        (the same payments `services.quota_status` counts), so a list of quotas costs one query."""
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


class BatchQuerySet(ScopedQuerySet):
    # Every role sees the batch headers; what a principal or township sees inside is scoped on Payment.
    scope_county_wide = True

    def with_totals(self, payments):
        """Person-times and amount of each batch over `payments` (the user's visible part), held ones left out."""
        # Correlated subqueries, evaluated for the page's batches only (through the payments' batch index);
        # a join with GROUP BY summed every payment of the county before the page was cut (0.5 s at
        # Ningdu scale).
        payable = (
            payments.exclude(status=Payment.Status.HELD)
            .filter(batch=OuterRef("pk"))
            .order_by()
            .values("batch")
        )
        return self.annotate(
            person_times=Coalesce(Subquery(payable.annotate(n=models.Count("pk")).values("n")), 0),
            amount=Subquery(payable.annotate(total=Sum("amount")).values("total")),
        )


@track_changes()
class DisbursementBatch(models.Model):
    """The payments of one aid type for one term: drawn from eligibility, reviewed, approved, paid."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft (under review)")
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid")

    # States move forward only.
    NEXT = {Status.DRAFT: Status.APPROVED, Status.APPROVED: Status.PAID}

    aid_type = models.CharField(_("aid type"), max_length=24, choices=AidType.choices)
    school_year = models.PositiveSmallIntegerField(
        _("school year"),
        help_text=_("The year the school year starts, e.g. 2022 for 2022-2023."),
        validators=SCHOOL_YEAR_VALIDATORS,
    )
    term = models.CharField(_("term"), max_length=8, choices=Term.choices)
    eligibility_date = models.DateField(_("eligibility date"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    bank_reference = models.CharField(_("bank reference"), max_length=60, blank=True)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("disbursement batch")
        verbose_name_plural = _("disbursement batches")
        ordering = ["-school_year", "term", "aid_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["aid_type", "school_year", "term"], name="one_batch_per_aid_term"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_aid_type_display()} {term_label(self.school_year, self.term)}"

    @property
    def term_label(self) -> str:
        return term_label(self.school_year, self.term)


class BatchEventQuerySet(ScopedQuerySet):
    """A step about one student is the student's (scoped like the student); the batch's own steps (no
    student: generated, approved, paid) go with the batch, which its own queryset scopes."""

    scope_school = "student__school"
    scope_townships = ("student__school__township", "student__home_township")
    scope_shared_when_null = "student"


class BatchEvent(models.Model):
    """Every step of a batch, with who and when: generation, additions and removals (with the reason),
    approval, payment, bank files."""

    class Action(models.TextChoices):
        GENERATED = "generated", _("Generated")
        ADDED = "added", _("Student added")
        REMOVED = "removed", _("Student removed")
        APPROVED = "approved", _("Approved")
        FLAGGED = "flagged", _("Held: no longer eligible")
        RELEASED = "released", _("Released after check")
        EXPORTED = "exported", _("Bank file exported")
        RESULT_IMPORTED = "result_imported", _("Bank result imported")
        PAID = "paid", _("Marked paid")
        REPAID = "repaid", _("Failed payment re-paid")

    batch = models.ForeignKey(DisbursementBatch, on_delete=models.CASCADE, related_name="steps")
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=10, blank=True)
    to_status = models.CharField(_("to"), max_length=10, blank=True)
    student = models.ForeignKey(Student, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("when"), auto_now_add=True)

    objects = BatchEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("batch event")
        verbose_name_plural = _("batch events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.at:%Y-%m-%d %H:%M}"


class PaymentQuerySet(ScopedQuerySet):
    scope_school = "school"
    scope_townships = ("school__township",)

    def paid(self):
        return self.filter(status=Payment.Status.PAID)

    def payable(self):
        """Payments that count in a batch's total: everything but those held for a lapsed category."""
        return self.exclude(status=Payment.Status.HELD)

    def in_year(self, year: int):
        """Payments of the terms that fall in a calendar year: spring of year-1/year, autumn of year/year+1."""
        return self.filter(Q(school_year=year - 1, term=Term.SPRING) | Q(school_year=year, term=Term.AUTUMN))

    def in_term(self, school_year: int, term: str):
        return self.filter(school_year=school_year, term=term)

    def total(self) -> Decimal:
        return self.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


@track_changes()
class Payment(models.Model):
    """One student's aid for one term, in a batch; paid to the family, the school or the canteen."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        HELD = "held", _("Held: no longer eligible")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    batch = models.ForeignKey(DisbursementBatch, on_delete=models.PROTECT, related_name="payments")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="aid_payments")
    # Copied from the batch so that the database itself forbids paying one aid twice in a term.
    aid_type = models.CharField(_("aid type"), max_length=24, choices=AidType.choices)
    school_year = models.PositiveSmallIntegerField(_("school year"), validators=SCHOOL_YEAR_VALIDATORS)
    term = models.CharField(_("term"), max_length=8, choices=Term.choices)
    # The student's school and stage when the batch was drawn (a later transfer does not move the money).
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="aid_payments")
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices)
    policy = models.ForeignKey(AidPolicy, on_delete=models.PROTECT, related_name="payments")
    category = models.CharField(_("qualifying category"), max_length=24, choices=Category.choices, blank=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    payee = models.CharField(_("paid to"), max_length=8, choices=PayeeKind.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("why"), max_length=300, blank=True)
    flag_reason = models.CharField(_("why held"), max_length=300, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=60, blank=True)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["batch_id", "school_id", "student_id"]
        constraints = [
            # 不重复资助: one aid, one term, one payment per student.
            models.UniqueConstraint(
                fields=["student", "aid_type", "school_year", "term"],
                name="no_double_payment",
                violation_error_message=_("This student is already paid this aid for this term."),
            ),
            models.CheckConstraint(name="payment_amount_positive", condition=Q(amount__gt=0)),
        ]
        indexes = [
            # Year-end report and data matching: the paid payments of a term by aid type.
            models.Index(fields=["school_year", "term", "aid_type", "status"], name="payment_term_idx"),
            # A batch's part for one school (principal's review, totals by school).
            models.Index(fields=["batch", "school"], name="payment_batch_school_idx"),
            # The payment list (/api/subsidies/payments/): newest term first, read in this order, so the
            # first page is read off the index instead of sorting every payment of the county.
            models.Index(fields=["-school_year", "term", "aid_type", "id"], name="payment_list_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} {self.aid_type} {self.school_year}{self.term}: {self.amount}"

    @property
    def term_label(self) -> str:
        return term_label(self.school_year, self.term)

    @property
    def reference(self) -> str:
        """Carried in the bank file's remark column so that the result file finds its payment."""
        return f"P{self.pk:08d}"


def mask_account(number: str) -> str:
    """`6217001234567890123` -> `6217 **** **** 0123`: enough to recognise an account, not to use it."""
    number = (number or "").replace(" ", "")
    if len(number) <= 8:
        return "*" * len(number)
    return f"{number[:4]} **** **** {number[-4:]}"


class BankAccountQuerySet(ScopedQuerySet):
    scope_school = "student__school"
    scope_townships = ("student__school__township", "student__home_township")

    def active(self):
        return self.filter(is_active=True)


@track_changes()
class BankAccount(models.Model):
    """The account a student's aid is paid into (the student's or a guardian's). Masked everywhere except
    in the bank's payroll file."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="bank_accounts")
    holder_name = models.CharField(_("account holder"), max_length=50)
    relation = models.CharField(_("holder is"), max_length=20, blank=True, help_text=_("e.g. father, self."))
    bank_name = models.CharField(_("bank"), max_length=60)
    account_number = models.CharField(
        _("account number"),
        max_length=32,
        validators=[RegexValidator(r"^\d{12,30}$", _("An account number has 12 to 30 digits."))],
    )
    is_active = models.BooleanField(_("in use"), default=True)

    objects = BankAccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("bank account")
        verbose_name_plural = _("bank accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["student"], condition=Q(is_active=True), name="one_active_account_per_student"
            )
        ]

    def __str__(self) -> str:
        return f"{self.holder_name} {self.masked_number}"

    @property
    def masked_number(self) -> str:
        return mask_account(self.account_number)


class MatchRunQuerySet(ScopedQuerySet):
    scope_county_wide = True

    def with_counts(self):
        """Each run with its number of results of each kind (`unaided`, `unconfirmed`, ...), in one query."""
        return self.annotate(
            **{
                kind: models.Count("results", filter=Q(results__kind=kind))
                for kind in MatchResult.Kind.values
            }
        )


class MatchRun(models.Model):
    """One uploaded list of another department, matched against students for one category and term."""

    class Source(models.TextChoices):
        RURAL_REVITALISATION = "rural", _("Rural revitalisation bureau")
        CIVIL_AFFAIRS = "civil", _("Civil affairs bureau")
        DISABLED_FEDERATION = "disabled", _("Disabled persons' federation")

    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    category = models.CharField(_("category confirmed by the list"), max_length=24, choices=Category.choices)
    school_year = models.PositiveSmallIntegerField(_("school year"), validators=SCHOOL_YEAR_VALIDATORS)
    term = models.CharField(_("term"), max_length=8, choices=Term.choices)
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    list_rows = models.PositiveIntegerField(_("rows in the list"), default=0)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    objects = MatchRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("data matching run")
        verbose_name_plural = _("data matching runs")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.get_category_display()} {term_label(self.school_year, self.term)}"


class MatchResult(models.Model):
    class Kind(models.TextChoices):
        UNAIDED = "unaided", _("On the list but not aided this term")
        UNCONFIRMED = "unconfirmed", _("Aided under a category the list does not confirm")
        NOT_FOUND = "not_found", _("On the list, no student in the county")
        INVALID = "invalid", _("Row refused")

    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="results")
    kind = models.CharField(_("result"), max_length=12, choices=Kind.choices)
    student = models.ForeignKey(Student, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    id_number = models.CharField(_("ID number"), max_length=40, blank=True)
    name = models.CharField(_("name"), max_length=50, blank=True)
    row_number = models.PositiveIntegerField(_("row"), null=True, blank=True)
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

    @property
    def masked_id_number(self) -> str:
        return id_numbers.mask(self.id_number)


class OutOfCountyQuerySet(ScopedQuerySet):
    scope_townships = ("home_township",)


@track_changes()
class OutOfCountyStudent(models.Model):
    """A county-registered student studying in another county (县外就读), followed up by a formal letter."""

    class FollowUp(models.TextChoices):
        PENDING = "pending", _("Letter not yet sent")
        SENT = "sent", _("Letter sent")
        CONFIRMED = "confirmed", _("Aid confirmed by the other county")
        CLOSED = "closed", _("Closed")

    id_number = models.CharField(_("ID number"), max_length=18, validators=[id_numbers.validate_id_number])
    name = models.CharField(_("name"), max_length=50)
    home_township = models.ForeignKey(
        Township, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("home township")
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

    @property
    def masked_id_number(self) -> str:
        return id_numbers.mask(self.id_number)


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


class LookupLog(models.Model):
    """Every public lookup by ID number: who asked (client address), for what, and what came of it."""

    class Outcome(models.TextChoices):
        SHOWN = "shown", _("Aid shown")
        NO_MATCH = "no_match", _("ID number and name do not match")
        LIMITED = "limited", _("Too many lookups")
        INVALID = "invalid", _("Invalid input")

    at = models.DateTimeField(auto_now_add=True)
    client = models.CharField(max_length=64)
    id_number_masked = models.CharField(max_length=18, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)

    class Meta:
        verbose_name = _("lookup log entry")
        verbose_name_plural = _("lookup log")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.client} {self.outcome}"
