from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from students.models import School, Student, StudentCategory, Township


class DateInput(forms.DateInput):
    input_type = "date"


class StudentForm(forms.ModelForm):
    class Meta:
        model = Student
        fields = [
            "id_number",
            "name",
            "sex",
            "birth_date",
            "school",
            "stage",
            "grade",
            "household_county_code",
            "home_township",
            "village",
            "is_boarding",
            "guardian_name",
            "guardian_phone",
            "status",
            "enrolled_on",
        ]
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
