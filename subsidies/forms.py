from __future__ import annotations

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.forms import ChooseLabelMixin, DateInput
from students import id_numbers
from students.models import SCHOOL_YEAR_VALIDATORS, School, Student, StudentCategory, Township, school_year_of
from subsidies.models import (
    AidPolicy,
    AidQuota,
    AidType,
    BankAccount,
    BankPayrollLayout,
    BankResultFormat,
    CreditLoan,
    Identification,
    IdentificationLevel,
    IdentificationObjection,
    MatchRun,
    OutOfCountyStudent,
    SocialAidProgramme,
    Term,
    UniversityAid,
    UniversityStudent,
)
from subsidies.models.bank import PAYROLL_FIELDS, STANDARD_LAYOUT
from subsidies.services import POLICY_FIELDS

# A payroll layout's own fields on the page (its columns are rows of their own).
LAYOUT_OWN_FIELDS = ("bank", "card_format", "sheet_title", "is_default", "note")


class PolicyForm(ChooseLabelMixin, forms.ModelForm):
    categories = forms.MultipleChoiceField(
        label=_("Qualifying categories"),
        choices=StudentCategory.Category.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Empty means every student of the stage."),
    )
    levels = forms.MultipleChoiceField(
        label=_("Qualifying identified levels"),
        choices=IdentificationLevel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Students the school identified at one of these levels, confirmed by the county."),
    )
    excluded_categories = forms.MultipleChoiceField(
        label=_("Excluded categories"),
        choices=StudentCategory.Category.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    supersedes = forms.MultipleChoiceField(
        label=_("Replaces"), choices=AidType.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = AidPolicy
        # The fields the policy services accept: the form offers exactly what they write.
        fields = list(POLICY_FIELDS)
        widgets = {"valid_from": DateInput(), "valid_to": DateInput()}

    def _post_clean(self):
        # The rules (overlaps, frozen paid rows) are the service's; the form only parses fields.
        pass


class GenerateForm(ChooseLabelMixin, forms.Form):
    aid_type = forms.ChoiceField(label=_("Aid type"), choices=AidType.choices)
    school_year = forms.IntegerField(
        label=_("School year"), min_value=2000, max_value=2100, initial=school_year_of
    )
    term = forms.ChoiceField(label=_("Term"), choices=Term.choices)


class ReasonForm(ChooseLabelMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class AddStudentForm(ReasonForm):
    id_number = forms.CharField(label=_("ID number"), max_length=20)

    def clean_id_number(self):
        return id_numbers.parse(self.cleaned_data["id_number"]).value


class ApproveForm(ChooseLabelMixin, forms.Form):
    allow_over_quota = forms.BooleanField(label=_("Approve above the quota"), required=False)
    # The figures the clerk was shown: the approval is refused if the batch no longer has them.
    expected_count = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    expected_amount = forms.DecimalField(widget=forms.HiddenInput, max_digits=14, decimal_places=2)
    expected_fingerprint = forms.CharField(widget=forms.HiddenInput, max_length=64)


class PaidForm(ChooseLabelMixin, forms.Form):
    bank_reference = forms.CharField(label=_("Bank reference"), max_length=60)
    paid_on = forms.DateField(label=_("Paid on"), widget=DateInput(), initial=date.today)


class PaidByHandForm(PaidForm):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class ResultUploadForm(ChooseLabelMixin, forms.Form):
    file = forms.FileField(label=_("Bank result file (.xlsx)"))
    paid_on = forms.DateField(label=_("Paid on"), widget=DateInput(), initial=date.today)
    result_format = forms.ModelChoiceField(
        label=_("Bank result format"),
        queryset=BankResultFormat.objects.all(),
        required=False,
        empty_label=None,
        help_text=_(
            "Which values of the status column mean paid and failed (set up per bank by the bureau)."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        default = BankResultFormat.objects.filter(is_default=True).first()
        if default is not None:
            self.fields["result_format"].initial = default.pk
        else:
            self.fields["result_format"].empty_label = BankResultFormat.objects.default().name


class PayrollLayoutChoiceForm(ChooseLabelMixin, forms.Form):
    layout = forms.ModelChoiceField(
        label=_("Bank payroll layout"),
        queryset=BankPayrollLayout.objects.all(),
        required=False,
        empty_label=None,
        help_text=_("The bank's columns and card format (set up per bank by the bureau)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        default = BankPayrollLayout.objects.filter(is_default=True).first()
        if default is not None:
            self.fields["layout"].initial = default.pk
        else:
            self.fields["layout"].empty_label = BankPayrollLayout.objects.default().bank


class BankPayrollLayoutForm(ChooseLabelMixin, forms.Form):
    """A bank's payroll layout on the page: the layout's own fields, and its columns as rows of (what it
    holds, its title) in file order; blank rows are left out. The columns are checked by the service
    (bank.payroll_layout_create/update), with the same messages as the API's."""

    ROWS = len(PAYROLL_FIELDS)

    def __init__(self, *args, layout: BankPayrollLayout | None = None, **kwargs):
        columns = layout.columns if layout is not None else STANDARD_LAYOUT["columns"]
        initial = {name: getattr(layout, name) for name in LAYOUT_OWN_FIELDS} if layout is not None else {}
        for i, (key, title) in enumerate(columns[: self.ROWS]):
            initial[f"key_{i}"], initial[f"title_{i}"] = key, title
        super().__init__(*args, initial=initial, **kwargs)
        for name in LAYOUT_OWN_FIELDS:
            self.fields[name] = BankPayrollLayout._meta.get_field(name).formfield()
        choices = [("", "—"), *PAYROLL_FIELDS.items()]
        for i in range(self.ROWS):
            holds, title = _("Column %(n)s holds") % {"n": i + 1}, _("Column %(n)s title") % {"n": i + 1}
            self.fields[f"key_{i}"] = forms.ChoiceField(
                label=holds, choices=choices, required=False, widget=forms.Select(attrs={"aria-label": holds})
            )
            self.fields[f"title_{i}"] = forms.CharField(
                label=title,
                max_length=40,
                required=False,
                widget=forms.TextInput(attrs={"aria-label": title}),
            )

    @property
    def column_rows(self) -> list[tuple]:
        return [(i + 1, self[f"key_{i}"], self[f"title_{i}"]) for i in range(self.ROWS)]

    def clean(self):
        data = super().clean()
        columns = []
        for i in range(self.ROWS):
            key, title = data.get(f"key_{i}", ""), (data.get(f"title_{i}") or "").strip()
            if title and not key:
                self.add_error(f"key_{i}", _("Choose what this column holds."))
            elif key:
                columns.append([key, title])
        data["columns"] = columns
        return data

    @property
    def layout_fields(self) -> dict:
        """What the service writes: the layout's fields and its columns."""
        return {name: self.cleaned_data[name] for name in (*LAYOUT_OWN_FIELDS, "columns")}


class QuotaForm(ChooseLabelMixin, forms.ModelForm):
    class Meta:
        model = AidQuota
        fields = ["aid_type", "school_year", "term", "amount", "note"]

    def validate_unique(self):
        # Setting a quota again replaces it (quota_set).
        pass


class BankAccountForm(ChooseLabelMixin, forms.ModelForm):
    class Meta:
        model = BankAccount
        fields = ["holder_name", "relation", "holder_id_number", "bank_name", "account_number"]


class MatchUploadForm(ChooseLabelMixin, forms.ModelForm):
    file = forms.FileField(label=_("List (.xlsx, keyed by ID number)"))

    class Meta:
        model = MatchRun
        fields = ["source", "category", "school_year", "term"]


class PastPaymentsForm(ChooseLabelMixin, forms.Form):
    file = forms.FileField(label=_("The national aid system's export (.xlsx)"))


class MatchApplyForm(ChooseLabelMixin, forms.Form):
    valid_from = forms.DateField(label=_("Category valid from"), widget=DateInput(), initial=date.today)


class OutOfCountyForm(ChooseLabelMixin, forms.ModelForm):
    class Meta:
        model = OutOfCountyStudent
        fields = [
            "id_number",
            "name",
            "home_township",
            "destination_county_code",
            "destination_county",
            "destination_school",
            "stage",
            "category",
            "school_year",
            "note",
        ]


class FollowUpForm(ChooseLabelMixin, forms.Form):
    follow_up = forms.ChoiceField(label=_("Follow-up"), choices=OutOfCountyStudent.FollowUp.choices)


class LoanForm(ChooseLabelMixin, forms.ModelForm):
    class Meta:
        model = CreditLoan
        fields = [
            "id_number",
            "name",
            "home_township",
            "university",
            "school_year",
            "contract_number",
            "contract_date",
            "level",
            "fees",
            "amount",
            "top_up",
            "poverty_alleviated",
        ]
        widgets = {"contract_date": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].required = False

    def clean_level(self) -> str:
        return self.cleaned_data.get("level") or CreditLoan.Level.UNDERGRADUATE

    def _post_clean(self):
        # Caps (dated policy rows) and uniqueness are checked by loan_create, with the clerk's messages.
        pass


class LookupForm(ChooseLabelMixin, forms.Form):
    id_number = forms.CharField(label=_("Student's ID number"), max_length=20)
    name = forms.CharField(label=_("Student's name"), max_length=50)


# --- University students and social aid (issue 14) --------------------------------------------------------


class UniversityStudentForm(ChooseLabelMixin, forms.ModelForm):
    form_name = forms.CharField(widget=forms.HiddenInput, initial="student")

    class Meta:
        model = UniversityStudent
        fields = ["id_number", "name", "university", "enrolment_year", "home_township", "category", "note"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["home_township"].queryset = Township.objects.visible_to(user).order_by("code")

    def _post_clean(self):
        # The ID number and the roster's uniqueness are checked by university_student_add, with its messages.
        pass


class UniversityAidForm(ChooseLabelMixin, forms.Form):
    form_name = forms.CharField(widget=forms.HiddenInput, initial="aid")
    id_number = forms.CharField(label=_("ID number"), max_length=20)
    kind = forms.ChoiceField(label=_("Aid"), choices=UniversityAid.Kind.choices)
    school_year = forms.IntegerField(label=_("School year"), initial=school_year_of)
    amount = forms.DecimalField(label=_("Amount (yuan)"), max_digits=14, decimal_places=2)
    paid_on = forms.DateField(label=_("Paid on"), widget=DateInput())
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class SocialProgrammeForm(ChooseLabelMixin, forms.ModelForm):
    form_name = forms.CharField(widget=forms.HiddenInput, initial="programme")

    class Meta:
        model = SocialAidProgramme
        fields = ["name", "donor", "target", "note"]

    def _post_clean(self):
        # Uniqueness is checked by social_programme_add, with its message.
        pass


class SocialGrantForm(ChooseLabelMixin, forms.Form):
    form_name = forms.CharField(widget=forms.HiddenInput, initial="grant")
    programme = forms.ModelChoiceField(label=_("Programme"), queryset=SocialAidProgramme.objects.none())
    id_number = forms.CharField(
        label=_("Student's ID number"),
        max_length=20,
        help_text=_("A child on a school's roll on the grant's date, or a university student of the roster."),
    )
    amount = forms.DecimalField(label=_("Amount (yuan)"), max_digits=14, decimal_places=2)
    granted_on = forms.DateField(label=_("Granted on"), widget=DateInput())
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["programme"].queryset = SocialAidProgramme.objects.visible_to(user)


class NationalAidExportForm(ChooseLabelMixin, forms.Form):
    school_year = forms.IntegerField(
        label=_("School year"), validators=SCHOOL_YEAR_VALIDATORS, help_text=_("2022 for 2022-2023.")
    )
    term = forms.ChoiceField(label=_("Term"), choices=Term.choices)


class NationalAidReconcileForm(ChooseLabelMixin, forms.Form):
    file = forms.FileField(label=_("The national aid system's export (.xlsx)"))


# --- Needy-student identification (issue 17) ----------------------------------------------------------------


class IdentificationApplyForm(ChooseLabelMixin, forms.Form):
    """The family's application (申请表), entered by the school. The student is found by ID number; the
    service refuses a child who is not of the user's school (with one message whether or not the number is
    on the county's register, so that the form reveals nothing)."""

    id_number = forms.CharField(label=_("Student's ID number"), max_length=20)
    school_year = forms.IntegerField(label=_("School year"), min_value=2000, max_value=2100)
    kind = forms.ChoiceField(
        label=pgettext_lazy("identification", "Kind"), choices=Identification.Kind.choices
    )
    effective_from = forms.DateField(
        label=_("Effective from"),
        widget=DateInput(),
        required=False,
        help_text=_("An in-year change only (a sudden hardship): the day it takes effect."),
    )
    applied_on = forms.DateField(label=_("Applied on"), widget=DateInput())
    family_members = forms.IntegerField(label=_("Family members"), min_value=1, max_value=30)
    family_income = forms.DecimalField(
        label=_("Family income last year (yuan)"), max_digits=14, decimal_places=2, min_value=0
    )
    hardship_reasons = forms.CharField(label=_("Hardship reasons"), max_length=2000, widget=forms.Textarea)
    guardian_name = forms.CharField(label=_("Guardian"), max_length=50)
    guardian_declared = forms.BooleanField(
        label=_("The guardian signed the declaration (承诺书)"), required=False
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school_year"].initial = school_year_of()
        self.fields["applied_on"].initial = date.today

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        number = id_numbers.normalize(data.pop("id_number"))
        data["student"] = Student.objects.filter(id_number=number).first()
        return data


class IdentificationReviewForm(ChooseLabelMixin, forms.Form):
    form_name = forms.CharField(widget=forms.HiddenInput, initial="review")
    members = forms.CharField(
        label=_("Review group members"),
        max_length=300,
        help_text=_(
            "The class review group (民主评议): the head teacher, teachers and parents' or pupils' members."
        ),
    )
    result = forms.ChoiceField(label=_("Review result"), choices=Identification.ReviewResult.choices)
    reviewed_on = forms.DateField(label=_("Reviewed on"), widget=DateInput())


class IdentificationDecideForm(ChooseLabelMixin, forms.Form):
    form_name = forms.CharField(widget=forms.HiddenInput, initial="decide")
    level = forms.ChoiceField(label=_("School's level"), choices=IdentificationLevel.choices)
    decided_on = forms.DateField(label=pgettext_lazy("identification", "Decided on"), widget=DateInput())


class IdentificationObjectionForm(ChooseLabelMixin, forms.Form):
    form_name = forms.CharField(widget=forms.HiddenInput, initial="objection")
    raised_on = forms.DateField(label=_("Raised on"), widget=DateInput())
    content = forms.CharField(label=_("Objection"), max_length=2000, widget=forms.Textarea)


class IdentificationResolveForm(ChooseLabelMixin, forms.Form):
    form_name = forms.CharField(widget=forms.HiddenInput, initial="resolve")
    objection = forms.IntegerField(widget=forms.HiddenInput)
    outcome = forms.ChoiceField(
        label=pgettext_lazy("objection", "Outcome"),
        choices=IdentificationObjection.RESOLVED_CHOICES,
    )
    finding = forms.CharField(label=pgettext_lazy("objection", "Finding"), max_length=500)
    resolved_on = forms.DateField(label=_("Resolved on"), widget=DateInput())


class IdentificationConfirmForm(ChooseLabelMixin, forms.Form):
    form_name = forms.CharField(widget=forms.HiddenInput, initial="confirm")
    level = forms.ChoiceField(
        label=_("Confirmed level"),
        choices=[("", _("The school's level")), *IdentificationLevel.choices],
        required=False,
    )


class IdentificationPublicityForm(ChooseLabelMixin, forms.Form):
    school = forms.ModelChoiceField(label=_("School"), queryset=School.objects.none())
    school_year = forms.IntegerField(label=_("School year"), min_value=2000, max_value=2100)
    starts_on = forms.DateField(label=_("公示 from"), widget=DateInput())
    ends_on = forms.DateField(label=_("公示 to"), widget=DateInput())

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = School.objects.editable_by(user).order_by("name")


class IdentificationRoundForm(ChooseLabelMixin, forms.Form):
    form_name = forms.CharField(widget=forms.HiddenInput, initial="round")
    school_year = forms.IntegerField(label=_("School year"), min_value=2000, max_value=2100)
    publicity_days = forms.IntegerField(label=_("Publicity days at least"), min_value=1, max_value=60)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
