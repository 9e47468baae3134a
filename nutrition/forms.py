"""Browser forms: field validation only; the rules are checked by nutrition.services."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from nutrition.models import MEAL_STAGES, NutritionTerm, PilotSchool, Purchase, SafetyCheck
from portal.forms import ChooseLabelMixin, DateInput
from students.models import School


def _today():
    return timezone.localdate()


class MealForm(ChooseLabelMixin, forms.Form):
    day = forms.DateField(label=_("Date"), widget=DateInput(), initial=_today)
    stage = forms.ChoiceField(label=_("Stage"), choices=MEAL_STAGES, initial="primary")
    meals = forms.IntegerField(label=_("Meals served"), min_value=0)


class AccompaniedForm(ChooseLabelMixin, forms.Form):
    day = forms.DateField(label=_("Date"), widget=DateInput(), initial=_today)
    person = forms.CharField(label=_("Who ate with the pupils"), max_length=50)
    remark = forms.CharField(
        label=pgettext_lazy("accompanied meal", "Remark"), max_length=300, required=False
    )


class PurchaseForm(ChooseLabelMixin, forms.Form):
    purchased_on = forms.DateField(label=_("Date"), widget=DateInput(), initial=_today)
    supplier = forms.CharField(label=_("Supplier"), max_length=100)
    category = forms.ChoiceField(label=_("Category"), choices=Purchase.Category.choices)
    # Text, so that the service gives its own clear message for a negative or non-numeric amount.
    amount = forms.CharField(label=_("Amount (yuan)"), max_length=20)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class ReceiptForm(ChooseLabelMixin, forms.Form):
    received_on = forms.DateField(label=_("Received on"), widget=DateInput(), initial=_today)
    amount = forms.CharField(label=_("Amount (yuan)"), max_length=20)
    document = forms.CharField(label=_("Document number"), max_length=100, required=False)


class SafetyCheckForm(ChooseLabelMixin, forms.Form):
    kind = forms.ChoiceField(label=pgettext_lazy("safety check", "Kind"), choices=SafetyCheck.Kind.choices)
    day = forms.DateField(label=_("Date"), widget=DateInput(), initial=_today)
    checked_by = forms.CharField(label=_("Checked by"), max_length=50)
    supplier = forms.CharField(label=_("Supplier"), max_length=100, required=False)
    items = forms.CharField(label=_("Items"), max_length=300, required=False)
    passed = forms.TypedChoiceField(
        label=_("Result"),
        choices=[("1", _("Passed")), ("0", pgettext_lazy("safety check", "Failed"))],
        coerce=lambda v: v == "1",
        initial="1",
    )
    follow_up = forms.CharField(
        label=pgettext_lazy("safety check", "Follow-up"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )


class MealImportForm(ChooseLabelMixin, forms.Form):
    term = forms.ModelChoiceField(label=_("Term"), queryset=NutritionTerm.objects.filter(is_closed=False))
    month = forms.DateField(
        label=_("Month"),
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )
    file = forms.FileField(label=_("Excel file (.xlsx)"))


class TermForm(ChooseLabelMixin, forms.ModelForm):
    class Meta:
        model = NutritionTerm
        fields = ["school_year", "season", "start", "end"]
        widgets = {"start": DateInput(), "end": DateInput()}


class HolidayForm(ChooseLabelMixin, forms.Form):
    day = forms.DateField(label=_("Date"), widget=DateInput())
    reason = forms.CharField(label=_("Reason"), max_length=100, required=False)


class EnrolForm(ChooseLabelMixin, forms.Form):
    school = forms.ModelChoiceField(label=_("School"), queryset=School.objects.none())
    supply_mode = forms.ChoiceField(label=_("Supply mode"), choices=PilotSchool.SupplyMode.choices)
    preschool_plan = forms.BooleanField(label=_("Preschool plan"), required=False)
    planned_days = forms.IntegerField(label=_("Planned meal days"), min_value=1, max_value=200, initial=100)

    def __init__(self, *args, term: NutritionTerm, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = (
            School.objects.active()
            .filter(is_rural=True)
            .exclude(nutrition_pilots__term=term)
            .order_by("code")
        )
