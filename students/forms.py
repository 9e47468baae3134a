from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.forms import DateInput
from students import id_numbers, national_numbers
from students.models import (
    ImportJob,
    MissingFromRoll,
    School,
    Student,
    StudentCategory,
    Township,
    school_year_of,
)
from students.services import STUDENT_FIELDS


class StudentForm(forms.ModelForm):
    class Meta:
        model = Student
        fields = list(STUDENT_FIELDS)
        widgets = {"birth_date": DateInput(), "enrolled_on": DateInput()}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only schools the user may write to are offered: a principal sees their own school alone.
        self.fields["school"].queryset = School.objects.editable_by(user).active()
        self.fields["home_township"].queryset = Township.objects.all()
        self.fields["sex"].required = False
        self.fields["birth_date"].required = False
        self.fields["household_county_code"].required = False
        self.fields["birth_date"].help_text = _("Leave empty to take it from the ID number.")
        if self.instance.status != Student.Status.OFF_ROLL:
            # Given by the rolls only (students.services refuses it): offered only to keep a child's own.
            self.fields["status"].choices = [
                c for c in self.fields["status"].choices if c[0] != Student.Status.OFF_ROLL
            ]
        if self.instance.pk:
            # The form shows the number masked: the whole number is shown only through the logged reveal.
            # Left as it is, the number stays; typed anew, the new number is checked and saved.
            self.fields["id_number"] = forms.CharField(
                label=self.fields["id_number"].label,
                max_length=18,
                required=False,
                help_text=_("Shown masked. Leave it to keep the number, or type the whole new number."),
            )
            self.initial["id_number"] = self.instance.masked_id_number
            if self.instance.national_student_number:
                # It holds the ID number: masked the same way, kept unless typed anew.
                self.fields["national_student_number"] = forms.CharField(
                    label=self.fields["national_student_number"].label,
                    max_length=19,
                    required=False,
                    help_text=_(
                        "Shown masked. Leave it to keep the number, type the whole new number, or clear it."
                    ),
                )
                self.initial["national_student_number"] = self.instance.masked_national_student_number

    def clean_id_number(self) -> str:
        value = id_numbers.normalize(self.cleaned_data.get("id_number"))
        if self.instance.pk and value in ("", self.instance.masked_id_number):
            return self.instance.id_number
        return value

    def clean_national_student_number(self) -> str:
        value = national_numbers.normalize(self.cleaned_data.get("national_student_number"))
        if self.instance.pk and value and value == self.instance.masked_national_student_number:
            return self.instance.national_student_number
        return value


class CategoryForm(forms.ModelForm):
    class Meta:
        model = StudentCategory
        fields = ["category", "valid_from", "valid_to", "source"]
        widgets = {"valid_from": DateInput(), "valid_to": DateInput()}


class TransferForm(forms.Form):
    to_school = forms.ModelChoiceField(label=_("To school"), queryset=School.objects.none())
    on = forms.DateField(label=_("Date"), widget=DateInput())
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_school"].queryset = School.objects.active()


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Student list (.xlsx)"),
        help_text=_("Use the template: one student per row, the first row holds the column titles."),
    )


class RolloverApplyForm(forms.Form):
    """Applying a roll-over is said twice: the box is ticked, and the preview read is named."""

    fingerprint = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    confirm = forms.BooleanField(
        label=_("I have read the preview: open the new school year for the whole county."), required=True
    )


class RolloverConfirmForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class RollImportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of roll"),
        choices=[c for c in ImportJob.Kind.choices if c[0] != ImportJob.Kind.STUDENTS],
        help_text=_(
            "The full roll of the current school year takes effect on its date; a past year's roll builds the "
            "register of a school year that has ended (the file adds the 学年 column)."
        ),
    )
    school_year = forms.IntegerField(
        label=_("School year"),
        min_value=2000,
        max_value=2100,
        help_text=_("The year the school year starts in: 2022 for 2022-2023."),
    )
    roll_date = forms.DateField(
        label=_("Date of the roll"),
        required=False,
        widget=DateInput(),
        help_text=_("A full roll's date (empty: today). Its changes take effect on it."),
    )
    file = forms.FileField(label=_("Roll (.xlsx)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school_year"].initial = school_year_of(timezone.localdate())


class MissingResolveForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[c for c in MissingFromRoll.Reason.choices if c[0] != MissingFromRoll.Reason.ON_LATER_ROLL],
    )
    on = forms.DateField(label=_("Effective on"), widget=DateInput())
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class TownshipMergeForm(forms.Form):
    """乡镇合并: the township merged, the one that takes its schools, and from when."""

    township = forms.ModelChoiceField(label=_("Township merged"), queryset=Township.objects.none())
    into = forms.ModelChoiceField(label=_("Merged into"), queryset=Township.objects.none())
    on = forms.DateField(
        label=_("Effective from"),
        widget=DateInput(),
        help_text=_(
            "The first day the schools belong to the other township. Reports of the days before keep them in "
            "the township merged."
        ),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        open_townships = Township.objects.visible_to(user).filter(closed_on__isnull=True).order_by("code")
        self.fields["township"].queryset = open_townships
        self.fields["into"].queryset = open_townships
        self.fields["on"].initial = timezone.localdate()
