from __future__ import annotations

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dropout_control.models import (
    CareRecord,
    DropoutCase,
    HomeTeachingVisit,
    PersuasionVisit,
    SuspectedDropout,
    TeamMember,
)
from portal.access import is_principal, is_township_officer
from portal.forms import DateInput
from students.models import School, Township


class CaseForm(forms.ModelForm):
    class Meta:
        model = DropoutCase
        fields = [
            "id_number",
            "name",
            "township",
            "village",
            "school",
            "found_on",
            "found_by",
            "reason",
            "reason_detail",
            "age_exception",
        ]
        widgets = {"found_on": DateInput()}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Offer what the user may write to: a township officer their township, a principal their school (the
        # child may live in any township).
        township_officer = is_township_officer(user)
        self.fields["township"].queryset = (
            Township.objects.editable_by(user) if township_officer else Township.objects.all()
        )
        principal = is_principal(user)
        self.fields["school"].queryset = (
            School.objects.editable_by(user).active() if principal else School.objects.active()
        )
        self.fields["school"].required = principal

    def _post_clean(self):
        # The service validates the whole case (full_clean included); the form only checks its fields.
        pass


class CaseEditForm(CaseForm):
    """Correcting a case: the child's ID number is its identity and is not edited (open a new case instead)."""

    class Meta(CaseForm.Meta):
        fields = [f for f in CaseForm.Meta.fields if f not in ("id_number", "found_on")]


class VisitForm(forms.ModelForm):
    class Meta:
        model = PersuasionVisit
        fields = ["visited_on", "visitors", "result", "next_step", "next_on"]
        widgets = {
            "visited_on": DateInput(),
            "next_on": DateInput(),
            "result": forms.Textarea(attrs={"rows": 3}),
        }

    def _post_clean(self):
        pass


class TeamForm(forms.Form):
    def __init__(self, *args, case: DropoutCase | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        current = {m.role: m for m in case.team.all()} if case is not None else {}
        for role, label in TeamMember.Role.choices:
            member = current.get(role)
            self.fields[f"{role}_name"] = forms.CharField(
                label=label, max_length=50, required=False, initial=member.name if member else ""
            )
            self.fields[f"{role}_phone"] = forms.CharField(
                label=_("phone"), max_length=20, required=False, initial=member.phone if member else ""
            )

    def members(self) -> dict[str, tuple[str, str]]:
        return {
            role: (self.cleaned_data[f"{role}_name"], self.cleaned_data[f"{role}_phone"])
            for role in TeamMember.Role.values
        }


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("", "---------"), *DropoutCase.Outcome.choices], required=False
    )
    on = forms.DateField(label=_("Outcome date"), widget=DateInput(), initial=date.today)
    outcome_school = forms.ModelChoiceField(
        label=_("School attended"), queryset=School.objects.active(), required=False
    )
    outcome_note = forms.CharField(label=_("Outcome note"), max_length=500, required=False)
    home_teacher = forms.CharField(label=_("Home-teaching teacher"), max_length=50, required=False)
    home_schedule = forms.CharField(label=_("Home-teaching schedule"), max_length=200, required=False)


class ReopenForm(forms.Form):
    on = forms.DateField(label=_("Reopened on"), widget=DateInput(), initial=date.today)
    reason = forms.CharField(label=_("Reason for reopening"), max_length=300, required=False)


class HomeVisitForm(forms.ModelForm):
    class Meta:
        model = HomeTeachingVisit
        fields = ["visited_on", "teacher", "hours", "content"]
        widgets = {"visited_on": DateInput(), "content": forms.Textarea(attrs={"rows": 2})}

    def _post_clean(self):
        pass


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Household-register list (.xlsx)"))
    as_of = forms.DateField(label=_("As of"), widget=DateInput(), initial=date.today)


# A decision is chosen, never pre-selected: the list's first reason would otherwise be sent unread.
CHOOSE = [("", _("Choose…"))]


class ConfirmForm(forms.Form):
    reason = forms.ChoiceField(
        label=pgettext_lazy("dropout", "Reason"), choices=CHOOSE + DropoutCase.Reason.choices
    )
    found_on = forms.DateField(label=_("Date found"), widget=DateInput(), initial=date.today)
    school = forms.ModelChoiceField(
        label=_("Responsible school"), queryset=School.objects.active(), required=False
    )


class ClearForm(forms.Form):
    clear_reason = forms.ChoiceField(
        label=_("Reason cleared"), choices=CHOOSE + SuspectedDropout.ClearReason.choices
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class CareRecordForm(forms.ModelForm):
    class Meta:
        model = CareRecord
        fields = ["visited_on", "teacher", "kind", "content"]
        widgets = {"visited_on": DateInput(), "content": forms.Textarea(attrs={"rows": 2})}

    def _post_clean(self):
        pass


class LongAbsenceForm(forms.Form):
    id_number = forms.CharField(label=_("ID number of the pupil"), max_length=18)
    since = forms.DateField(label=_("Absent since"), widget=DateInput())
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
