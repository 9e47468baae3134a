"""Term batches, their steps and payments, and the bank accounts they are paid to.

A payment copies its amount when the batch is drawn, so a later change of the standard never changes what
was paid. The database forbids paying one aid twice to a student in a term.
"""

from __future__ import annotations

from decimal import Decimal

import pgtrigger
from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from portal.access import ScopedQuerySet
from portal.tracking import track_changes
from students import id_numbers
from students.models import SCHOOL_YEAR_VALIDATORS, School, Stage, Student
from subsidies.models.common import MONEY, AidType, Category, PayeeKind, Term, term_label


class BatchQuerySet(ScopedQuerySet):
    # Every role sees the batch headers; what a principal or township sees inside is scoped on Payment.
    scope_county_wide = True

    def with_totals(self, user):
        """Person-times and amount drawn (`person_times`, `amount`: held ones left out) and paid
        (`paid_person_times`, `paid_amount`) of each batch, over the part of its payments `user` may see.
        Read from `BatchSchoolTotal` (the payments' counts and sums by batch, school and status, kept by the
        payment table's triggers), so the same figures as `totals_by_batch`, without reading a payment."""
        rows = (
            BatchSchoolTotal.objects.visible_to(user)
            .filter(batch=OuterRef("pk"), count__gt=0)
            .order_by()
            .values("batch")
        )
        payable = rows.exclude(status=Payment.Status.HELD)
        paid = rows.filter(status=Payment.Status.PAID)
        return self.annotate(
            person_times=Coalesce(Subquery(payable.annotate(n=Sum("count")).values("n")), 0),
            amount=Subquery(payable.annotate(total=Sum("amount")).values("total")),
            paid_person_times=Coalesce(Subquery(paid.annotate(n=Sum("count")).values("n")), 0),
            paid_amount=Subquery(paid.annotate(total=Sum("amount")).values("total")),
        )


def totals_by_batch(user, batches) -> dict[int, dict]:
    """`with_totals`'s figures of each of `batches` (a queryset, or batches already read) over the payments
    `user` may see, in one grouped read of `BatchSchoolTotal` (a few rows per batch and school, not the
    batch's ~18,000 payments at Ningdu scale): {batch id: {person_times, amount, paid_person_times,
    paid_amount}}. A batch with no payment the user may see is absent (or present with zeros)."""
    ids = batches.values("pk") if isinstance(batches, models.QuerySet) else [b.pk for b in batches]
    paid = Q(status=Payment.Status.PAID)
    rows = (
        BatchSchoolTotal.objects.visible_to(user)
        .exclude(status=Payment.Status.HELD)
        .filter(batch__in=ids, count__gt=0)
        .order_by()
        .values("batch")
        .annotate(
            drawn_n=Sum("count"),
            drawn_amount=Sum("amount"),
            paid_n=Coalesce(Sum("count", filter=paid), 0),
            paid_sum=Sum("amount", filter=paid),
        )
    )
    return {
        r["batch"]: {
            "person_times": r["drawn_n"],
            "amount": r["drawn_amount"] if r["drawn_n"] else None,
            "paid_person_times": r["paid_n"],
            "paid_amount": r["paid_sum"] if r["paid_n"] else None,
        }
        for r in rows
    }


def attach_totals(batches, totals: dict[int, dict]) -> None:
    """Set `with_totals`'s attributes on batches already read (a page), from `totals_by_batch`."""
    empty = {"person_times": 0, "amount": None, "paid_person_times": 0, "paid_amount": None}
    for batch in batches:
        for key, value in totals.get(batch.pk, empty).items():
            setattr(batch, key, value)


@track_changes()
class DisbursementBatch(models.Model):
    """The payments of one aid type for one term: drawn from eligibility, reviewed, approved, paid."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft (under review)")
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid")

    class Kind(models.TextChoices):
        DRAWN = "drawn", _("Drawn in the portal")
        IMPORTED = "imported", _("Imported from the national aid system")

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
    # An imported batch holds a term's payments that the national aid system (全国学生资助管理信息系统)
    # recorded before the county used the portal (`subsidies.past_payments`): paid when they arrive, never
    # drawn, reviewed, sent to the bank or re-paid here.
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.DRAWN)
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
    def is_imported(self) -> bool:
        return self.kind == self.Kind.IMPORTED

    @property
    def is_drawn(self) -> bool:
        """Its students have been drawn (a large draw runs in a Celery task after the batch is created)."""
        return self.steps.filter(action=BatchEvent.Action.GENERATED).exists()

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
        TRANSFERRED = "transferred", _("Transfer to schools and canteens recorded")
        PAID_BY_HAND = "paid_by_hand", _("One payment marked paid by hand")
        PAID = "paid", _("Batch paid in full")
        REPAID = "repaid", _("Failed payment put in the next bank file")
        WITHDRAWN = "withdrawn", _("Payment withdrawn, not paid this term")
        IMPORTED = "imported", _("Past payments imported from the national aid system")

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


# The body of the exclusion-group triggers on Payment; {changed} is the statement's rows to check (as `n`).
EXCLUSION_GROUP_CHECK = """
    PERFORM 1 FROM students_student s
    WHERE s.id IN (SELECT n.student_id FROM {changed} WHERE n.status <> 'held')
    ORDER BY s.id FOR NO KEY UPDATE;
    IF EXISTS (
        SELECT 1 FROM {changed}
        JOIN subsidies_aidexclusiongroup g ON n.aid_type = ANY (g.aid_types)
        JOIN subsidies_payment p
          ON p.student_id = n.student_id AND p.school_year = n.school_year AND p.term = n.term
         AND p.aid_type <> n.aid_type AND p.aid_type = ANY (g.aid_types) AND p.status <> 'held'
        WHERE n.status <> 'held'
    ) THEN
        RAISE EXCEPTION 'payment_one_per_exclusion_group: a student would have two aids of one exclusion group in a term'
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NULL;
"""


# The body of the triggers that keep `BatchSchoolTotal`: {rows} is a SELECT of (batch_id, school_id, status,
# count, amount) deltas of the statement; the sum by key is added to the summary row, created when missing.
# Keys are taken in order, so two transactions adding to the same rows lock them in the same order.
BATCH_TOTAL_UPSERT = """
    INSERT INTO subsidies_batchschooltotal AS t (batch_id, school_id, status, count, amount)
    SELECT d.batch_id, d.school_id, d.status, sum(d.count), sum(d.amount)
    FROM ({rows}) d
    GROUP BY d.batch_id, d.school_id, d.status
    HAVING sum(d.count) <> 0 OR sum(d.amount) <> 0
    ORDER BY d.batch_id, d.school_id, d.status
    ON CONFLICT (batch_id, school_id, status)
    DO UPDATE SET count = t.count + EXCLUDED.count, amount = t.amount + EXCLUDED.amount;
    RETURN NULL;
"""
PLUS = (
    "SELECT batch_id, school_id, status, count(*) AS count, sum(amount) AS amount FROM {t} GROUP BY 1, 2, 3"
)
MINUS = (
    "SELECT batch_id, school_id, status, -count(*) AS count, -sum(amount) AS amount FROM {t} GROUP BY 1, 2, 3"
)


class PaymentQuerySet(ScopedQuerySet):
    scope_school = "school"
    scope_townships = ("school__township",)

    def paid(self):
        return self.filter(status=Payment.Status.PAID)

    def payable(self):
        """Payments that count in a batch's total: everything but those held for a lapsed category."""
        return self.exclude(status=Payment.Status.HELD)

    def owed(self):
        """Aid granted and not (yet) received: payable, not paid, in a batch past its draft (a draft is still
        being reviewed: nothing in it is promised to a family, a letter or a report)."""
        return (
            self.payable()
            .exclude(status=Payment.Status.PAID)
            .exclude(batch__status=DisbursementBatch.Status.DRAFT)
        )

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
        """pending: not yet sent (in no bank file, no transfer); sent: in a bank file, the bank's result not
        yet back; paid: the bank (or the transfer to a school) paid it; failed: the bank returned it, until it
        is re-paid (back to pending, for the next file) or withdrawn; held: not counted (no longer eligible, or
        withdrawn unpaid, the reason in `flag_reason`)."""

        PENDING = "pending", _("Not yet sent")
        SENT = "sent", _("At the bank, result not yet back")
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
    # Empty only for a payment imported from the national aid system: that system decided it, not our table.
    policy = models.ForeignKey(
        "subsidies.AidPolicy", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    category = models.CharField(_("qualifying category"), max_length=24, choices=Category.choices, blank=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    payee = models.CharField(_("paid to"), max_length=8, choices=PayeeKind.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("why"), max_length=300, blank=True)
    flag_reason = models.CharField(_("why held"), max_length=300, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=60, blank=True)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=200, blank=True)
    # The national aid system's file a past payment came from (kept as it came).
    imported_from = models.ForeignKey(
        "subsidies.PastPaymentImport",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("imported from"),
    )
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
            # A payment is drawn by a row of the policy table, or imported with the file that recorded it.
            models.CheckConstraint(
                name="payment_policy_or_import",
                condition=Q(policy__isnull=False) | Q(imported_from__isnull=False),
            ),
        ]
        triggers = [
            # 不重复资助 across aid types: at most one aid of an exclusion group (AidExclusionGroup) per student
            # and term, counting every payment but the held ones. The services refuse first, in words; these
            # triggers are the guarantee whatever writes the table. Statement-level, with the statement's rows
            # as a table: one join per statement (a draw of 100,000 payments checks them in a few joins, not
            # 100,000 lookups). The students concerned are locked first (a row lock, in id order), so that two
            # transactions paying the same child at once are checked one after the other; under READ
            # COMMITTED the second then sees the first's rows. An update is checked only where it brings a
            # payment into play (held -> pending) or moves it to another student, aid or term, so that a
            # payment recorded before this rule can still be failed, re-paid or held.
            pgtrigger.Trigger(
                name="payment_one_per_group_insert",
                operation=pgtrigger.Insert,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(new="new_values"),
                func=pgtrigger.Func(EXCLUSION_GROUP_CHECK.replace("{changed}", "new_values n")),
            ),
            pgtrigger.Trigger(
                name="payment_one_per_group_update",
                operation=pgtrigger.Update,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(old="old_values", new="new_values"),
                func=pgtrigger.Func(
                    EXCLUSION_GROUP_CHECK.replace(
                        "{changed}",
                        """new_values n JOIN old_values o ON o.id = n.id
                           AND (o.status = 'held' OR o.student_id <> n.student_id OR o.aid_type <> n.aid_type
                                OR o.school_year <> n.school_year OR o.term <> n.term)""",
                    )
                ),
            ),
            # `BatchSchoolTotal`, the batch list's figures, kept from every write of the table.
            pgtrigger.Trigger(
                name="payment_batch_total_insert",
                operation=pgtrigger.Insert,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(new="new_values"),
                func=pgtrigger.Func(BATCH_TOTAL_UPSERT.replace("{rows}", PLUS.replace("{t}", "new_values"))),
            ),
            pgtrigger.Trigger(
                name="payment_batch_total_update",
                operation=pgtrigger.Update,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(old="old_values", new="new_values"),
                func=pgtrigger.Func(
                    BATCH_TOTAL_UPSERT.replace(
                        "{rows}",
                        PLUS.replace("{t}", "new_values")
                        + " UNION ALL "
                        + MINUS.replace("{t}", "old_values"),
                    )
                ),
            ),
            pgtrigger.Trigger(
                name="payment_batch_total_delete",
                operation=pgtrigger.Delete,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(old="old_values"),
                func=pgtrigger.Func(BATCH_TOTAL_UPSERT.replace("{rows}", MINUS.replace("{t}", "old_values"))),
            ),
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


class BatchSchoolTotalQuerySet(ScopedQuerySet):
    # Scoped as the payments it counts (`PaymentQuerySet`).
    scope_school = "school"
    scope_townships = ("school__township",)


class BatchSchoolTotal(models.Model):
    """How many payments of a batch, at a school, have a status, and their amount: kept by the payment
    table's statement triggers on every insert, update and delete, whatever writes it (a draw, a bank
    result, the admin, `update()`), in the writer's transaction. The batch list and the batch API read their
    figures from it (`totals_by_batch`, `BatchQuerySet.with_totals`) instead of summing every payment; the
    batch detail's totals and reconciliation still read the payments. Derived data: no change history (the
    payments have theirs), never written by the application."""

    batch = models.ForeignKey(DisbursementBatch, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+", db_index=False)
    status = models.CharField(max_length=8, choices=Payment.Status.choices)
    count = models.IntegerField(default=0)
    amount = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0.00"))

    objects = BatchSchoolTotalQuerySet.as_manager()

    class Meta:
        verbose_name = _("batch total by school")
        verbose_name_plural = _("batch totals by school")
        constraints = [
            models.UniqueConstraint(fields=["batch", "school", "status"], name="batch_school_total_key"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id} {self.school_id} {self.status}: {self.count} {self.amount}"


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
    # The bank's 代发 checks the holder's name, account and ID number together. Empty: the holder is the child
    # (relation 本人, or the child's name), whose ID number the payroll file then gives (subsidies.bank).
    holder_id_number = models.CharField(
        _("account holder's ID number"),
        max_length=18,
        blank=True,
        default="",
        db_default="",
        validators=[id_numbers.validate_id_number],
        help_text=_("Needed by the bank when the holder is not the student."),
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
