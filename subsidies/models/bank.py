"""The bank's side of a batch: how each bank writes its result file, and which payments went in which file.

`BankResultFormat` is data the county enters for each bank it pays through (Django admin, or
/api/subsidies/bank-result-formats/): the column titles of the bank's result file and the exact status values
that mean paid and failed. Nothing is guessed: a value in neither list refuses its row. The data migration
seeds the standard format (成功 paid; 失败 and 不成功 failed), which is the default.

`BankFile` is one payroll file made for a batch (numbered 1, 2, ... within it), `BankFileLine` one payment in
it, with the account it went to (masked) and what the bank answered. A payment is paid by a bank result only
if it is in a file and awaiting that result.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.access import ScopedQuerySet
from portal.tracking import track_changes
from subsidies.models.batches import BankAccount, DisbursementBatch, Payment
from subsidies.models.common import MONEY


class BankResultFormatQuerySet(ScopedQuerySet):
    # Reference data every signed-in user may read; bureau staff keep it.
    scope_county_wide = True

    def default(self) -> BankResultFormat:
        """The county's default format; the standard one (unsaved) while the county has set none."""
        return self.filter(is_default=True).first() or BankResultFormat(**STANDARD_FORMAT)


# The format of the payroll file's own columns, read back: 成功 is paid; 失败 and 不成功 are failed. Seeded by
# migration 0008 as the default; a county whose bank writes other values or codes adds its own format.
STANDARD_FORMAT = {
    "name": "标准格式（成功/失败）",
    "reference_column": "参考号",
    "status_column": "状态",
    "reason_column": "失败原因",
    "amount_column": "金额",
    "success_values": ["成功"],
    "failure_values": ["失败", "不成功"],
    "is_default": True,
    "note": "参考号为代发文件中的参考号（P00000123-2：支付号与代发文件号）；状态只认上列取值，其他取值整行拒收。",
}


def _values(values) -> list[str]:
    return [v.strip() for v in values or [] if v and v.strip()]


@track_changes()
class BankResultFormat(models.Model):
    """How one bank writes its result file: column titles and the exact values for paid and failed."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    reference_column = models.CharField(
        _("reference column"),
        max_length=40,
        default="参考号",
        help_text=_(
            "Title of the column holding the reference (P00000123-2: payment and bank file) sent in the "
            "payroll file."
        ),
    )
    status_column = models.CharField(_("status column"), max_length=40, default="状态")
    reason_column = models.CharField(
        _("reason column"),
        max_length=40,
        blank=True,
        default="失败原因",
        help_text=_("Empty if the bank gives none."),
    )
    amount_column = models.CharField(
        _("amount column"),
        max_length=40,
        default="金额",
        help_text=_(
            "Title of the column holding the amount the bank paid; it must be exactly the amount sent."
        ),
    )
    success_values = ArrayField(
        models.CharField(max_length=40),
        verbose_name=_("values meaning paid"),
        help_text=_("Exact values of the status column (or the bank's codes) that mean the money arrived."),
    )
    failure_values = ArrayField(
        models.CharField(max_length=40),
        verbose_name=_("values meaning failed"),
        help_text=_("Exact values of the status column (or the bank's codes) that mean the transfer failed."),
    )
    is_default = models.BooleanField(_("default format"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = BankResultFormatQuerySet.as_manager()

    class Meta:
        verbose_name = _("bank result format")
        verbose_name_plural = _("bank result formats")
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_bank_result_format"
            ),
            models.CheckConstraint(
                name="bank_result_values_apart",
                condition=~Q(success_values__overlap=F("failure_values")),
                violation_error_message=_("A value cannot mean both paid and failed."),
            ),
            models.CheckConstraint(
                name="bank_result_values_given",
                condition=Q(success_values__len__gt=0) & Q(failure_values__len__gt=0),
                violation_error_message=_("Give at least one value for paid and one for failed."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        self.success_values = _values(self.success_values)
        self.failure_values = _values(self.failure_values)
        both = sorted(set(self.success_values) & set(self.failure_values))
        if both:
            raise ValidationError(
                {
                    "failure_values": _("A value cannot mean both paid and failed: %(values)s")
                    % {"values": "、".join(both)}
                }
            )

    def outcome(self, value: str) -> str | None:
        """Payment.Status.PAID or FAILED for an exact value of the status column (spaces around it aside),
        None for any other value."""
        value = (value or "").strip()
        if value in self.success_values:
            return Payment.Status.PAID
        if value in self.failure_values:
            return Payment.Status.FAILED
        return None


class BankPayrollLayoutQuerySet(ScopedQuerySet):
    # Reference data every signed-in user may read; bureau staff keep it.
    scope_county_wide = True

    def default(self) -> BankPayrollLayout:
        """The county's default layout; the standard one (unsaved) while the county has set none."""
        return self.filter(is_default=True).first() or BankPayrollLayout(**STANDARD_LAYOUT)


# What a payroll column may hold: key -> what it is (the layout names the column's title itself).
PAYROLL_FIELDS = {
    "seq": _("Line number"),
    "holder_name": _("Account holder"),
    "holder_id_number": _("Account holder's ID number (the child's when the holder is the child)"),
    "account_number": _("Account or card number"),
    "bank_name": _("Bank"),
    "amount": _("Amount"),
    "reference": _("Reference (read back from the bank's result file)"),
    "remark": _("Remark: student, aid and term"),
    "student_name": _("Student"),
    "student_id_number": _("Student's ID number"),
    "school": _("School"),
    "card_type": _("Card type (bank card or 一卡通)"),
    "subsidy_item": _("Subsidy item (the aid; 惠民惠农财政补贴 on a 一卡通)"),
}
# Without these the bank cannot pay a line (banks require the holder's ID number for 代发), or its answer
# cannot be read back.
PAYROLL_REQUIRED = ("holder_name", "holder_id_number", "account_number", "amount", "reference")
# Today's payroll file, plus the ID number column banks require for 代发 (last: the older columns keep their
# places). The default while the county has set none.
STANDARD_LAYOUT = {
    "bank": "标准格式",
    "columns": [
        ["seq", "序号"],
        ["holder_name", "户名"],
        ["account_number", "账号"],
        ["bank_name", "开户银行"],
        ["amount", "金额"],
        ["reference", "参考号"],
        ["remark", "备注"],
        ["holder_id_number", "身份证号"],
    ],
    "card_format": "bank_card",
    "sheet_title": "代发",
    "is_default": True,
    "note": "",
}


# What Excel refuses in a sheet's name (openpyxl raises ValueError, so no file could be made).
SHEET_TITLE_FORBIDDEN = set("/\\?*:[]")


@track_changes()
class BankPayrollLayout(models.Model):
    """How one bank wants its 代发 payroll file: which columns, in which order, under which titles, and the
    card the money goes to (a bank card, or the 惠民惠农财政补贴 一卡通). One layout per bank."""

    class CardFormat(models.TextChoices):
        BANK_CARD = "bank_card", _("Bank card")
        ONE_CARD = "one_card", _("一卡通 (惠民惠农财政补贴)")

    bank = models.CharField(_("bank"), max_length=60, unique=True)
    columns = models.JSONField(
        _("columns"),
        help_text=_(
            'The file\'s columns in order, each [what it holds, its title], e.g. [["holder_name", "户名"], '
            '["holder_id_number", "身份证号"], ["account_number", "卡号"], ["amount", "金额"], '
            '["reference", "参考号"]].'
        ),
    )
    card_format = models.CharField(
        _("card format"), max_length=12, choices=CardFormat.choices, default=CardFormat.BANK_CARD
    )
    sheet_title = models.CharField(_("sheet title"), max_length=31, default="代发")
    is_default = models.BooleanField(_("default layout"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = BankPayrollLayoutQuerySet.as_manager()

    class Meta:
        verbose_name = _("bank payroll layout")
        verbose_name_plural = _("bank payroll layouts")
        ordering = ["-is_default", "bank"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_bank_payroll_layout"
            ),
        ]

    def __str__(self) -> str:
        return self.bank

    def clean(self):
        self._clean_columns()
        self._clean_card_and_sheet()

    def _clean_card_and_sheet(self):
        """A sheet title Excel can hold (no file could be made in the layout otherwise), and on a 一卡通 the
        subsidy item (补贴项目) the 一卡通 system books the money under."""
        title = (self.sheet_title or "").strip()
        bad = sorted({c for c in title if c in SHEET_TITLE_FORBIDDEN})
        if not title or bad or title.startswith("'") or title.endswith("'") or title.lower() == "history":
            raise ValidationError(
                {
                    "sheet_title": _(
                        "Excel cannot name a sheet “%(title)s”: give a title without / \\ ? * : [ ] (%(bad)s), "
                        "not starting or ending with an apostrophe, and not “History”."
                    )
                    % {"title": title, "bad": "".join(bad) or "—"}
                }
            )
        self.sheet_title = title
        keys = {key for key, _title in self.columns}
        if self.card_format == self.CardFormat.ONE_CARD and "subsidy_item" not in keys:
            raise ValidationError(
                {
                    "columns": _(
                        "A 一卡通 file must name the subsidy item (补贴项目) the money is booked under: add the "
                        "column %(column)s."
                    )
                    % {"column": f"“{PAYROLL_FIELDS['subsidy_item']}”"}
                }
            )

    def _clean_columns(self):
        columns = self.columns
        if not isinstance(columns, list) or not all(
            isinstance(c, list | tuple) and len(c) == 2 and all(isinstance(x, str) for x in c)
            for c in columns
        ):
            raise ValidationError(
                {"columns": _("Give the columns as a list of [what it holds, its title] pairs.")}
            )
        self.columns = [[key.strip(), title.strip()] for key, title in columns]
        unknown = sorted({key for key, _title in self.columns if key not in PAYROLL_FIELDS})
        if unknown:
            raise ValidationError(
                {
                    "columns": _("Unknown column contents: %(keys)s. Use: %(known)s.")
                    % {"keys": "、".join(unknown), "known": "、".join(PAYROLL_FIELDS)}
                }
            )
        missing = [key for key in PAYROLL_REQUIRED if key not in {k for k, _t in self.columns}]
        if missing:
            raise ValidationError(
                {
                    "columns": _("The bank needs these columns: %(keys)s.")
                    % {"keys": "、".join(str(PAYROLL_FIELDS[k]) for k in missing)}
                }
            )
        titles = [title for _key, title in self.columns]
        if any(not title for title in titles):
            raise ValidationError({"columns": _("Every column needs a title.")})
        doubled = sorted({t for t in titles if titles.count(t) > 1})
        keys = [key for key, _title in self.columns]
        doubled_keys = sorted({k for k in keys if keys.count(k) > 1})
        if doubled or doubled_keys:
            raise ValidationError(
                {
                    "columns": _("A column is given twice: %(titles)s.")
                    % {"titles": "、".join(doubled + doubled_keys)}
                }
            )


@track_changes()
class BankFile(models.Model):
    """One payroll file made for the bank: its payments are its lines."""

    batch = models.ForeignKey(DisbursementBatch, on_delete=models.PROTECT, related_name="bank_files")
    number = models.PositiveSmallIntegerField(_("file number"))
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    made_at = models.DateTimeField(_("made at"), auto_now_add=True)
    payments = models.ManyToManyField(Payment, through="BankFileLine", related_name="bank_files")
    # The layout the file was made in (None: the standard one), so that a download again is the same file.
    layout = models.ForeignKey(
        BankPayrollLayout,
        verbose_name=_("bank payroll layout"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The layout exactly as the file was made in it (bank, columns, card format, sheet title): a layout
    # edited later does not change a file already sent when it is downloaded again.
    layout_used = models.JSONField(_("layout used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("bank file")
        verbose_name_plural = _("bank files")
        ordering = ["batch_id", "number"]
        constraints = [models.UniqueConstraint(fields=["batch", "number"], name="one_bank_file_number")]

    def __str__(self) -> str:
        return f"{self.batch} #{self.number}"


@track_changes()
class BankFileLine(models.Model):
    """One payment in a bank file, the account it went to (masked) and the bank's answer."""

    class Outcome(models.TextChoices):
        SENT = "sent", _("Awaiting the bank's result")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    bank_file = models.ForeignKey(BankFile, on_delete=models.PROTECT, related_name="lines")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="bank_lines")
    # The account the money was sent to (kept: a file can be downloaded again as it was made).
    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("amount"), **MONEY)
    account_masked = models.CharField(_("account"), max_length=40)
    # The cells as sent (a download again is the file the bank got, even after the child's name or ID number,
    # the school's name or the account's holder was corrected): what `subsidies.bank` writes for the line.
    holder_name = models.CharField(_("account holder"), max_length=50, blank=True, default="", db_default="")
    holder_id_number = models.CharField(
        _("account holder's ID number"), max_length=18, blank=True, default="", db_default=""
    )
    bank_name = models.CharField(_("bank"), max_length=60, blank=True, default="", db_default="")
    student_name = models.CharField(_("student"), max_length=50, blank=True, default="", db_default="")
    student_id_number = models.CharField(
        _("student's ID number"), max_length=18, blank=True, default="", db_default=""
    )
    school_name = models.CharField(_("school"), max_length=100, blank=True, default="", db_default="")
    outcome = models.CharField(
        pgettext_lazy("bank result", "outcome"), max_length=8, choices=Outcome.choices, default=Outcome.SENT
    )
    failure_reason = models.CharField(_("failure reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("bank file line")
        verbose_name_plural = _("bank file lines")
        ordering = ["bank_file_id", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["bank_file", "payment"], name="one_line_per_payment_and_file"),
            # A payment awaits one bank result at a time.
            models.UniqueConstraint(
                fields=["payment"], condition=Q(outcome="sent"), name="one_bank_line_awaiting_result"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank_file} {self.payment_id}: {self.outcome}"

    @property
    def reference(self) -> str:
        """The line's reference in the payroll file and in the bank's answer: payment and file number."""
        return f"P{self.payment_id:08d}-{self.bank_file.number}"
