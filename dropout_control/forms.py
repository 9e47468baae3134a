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
from students.models import School, Stage, Township


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
            "found_late_reason",
            "found_by",
            "reason",
            "reason_detail",
            "age_exception",
            "guardian_name",
            "guardian_phone",
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
        fields = [f for f in CaseForm.Meta.fields if f not in ("id_number", "found_on", "found_late_reason")]


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
    """The bureau's closing (销号); the committee's decision and the plan only for home teaching or an
    exemption (the service says which are missing)."""

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
    home_visits_per_month = forms.IntegerField(
        label=_("Home-teaching visits a month"), min_value=1, max_value=31, required=False
    )
    home_hours_per_term = forms.DecimalField(
        label=_("Home-teaching hours a term (plan)"),
        max_digits=5,
        decimal_places=1,
        min_value=0,
        required=False,
    )
    committee_decided_on = forms.DateField(
        label=_("Committee decision date"), widget=DateInput(), required=False
    )
    committee_decision = forms.CharField(label=_("Committee decision"), max_length=300, required=False)
    committee_document = forms.CharField(label=_("Committee document"), max_length=100, required=False)
    # The bureau's own closing rests on a proof as a request does (the service says when it is missing).
    proof = forms.CharField(
        label=_("Proof"),
        max_length=300,
        required=False,
        help_text=_("The paper that proves the outcome: the return certificate, the placement letter."),
    )


class ClosingRequestForm(CloseForm):
    """The township's or the school's request for the closing, with the proof."""


class ReturnForm(forms.Form):
    school = forms.ModelChoiceField(label=_("School returned to"), queryset=School.objects.active())
    on = forms.DateField(label=_("Returned on"), widget=DateInput(), initial=date.today)
    stage = forms.ChoiceField(
        label=_("Stage"),
        choices=[
            ("", "---------"),
            *[(s, Stage(s).label) for s in (Stage.PRIMARY, Stage.JUNIOR, Stage.SPECIAL)],
        ],
        required=False,
        help_text=_("Needed when the child is not on the register yet."),
    )
    grade = forms.IntegerField(label=_("Grade"), min_value=1, max_value=9, required=False)
    late_reason = forms.CharField(
        label=_("Why the return is recorded late"),
        max_length=300,
        required=False,
        help_text=_("Needed when the return is more than 30 days ago."),
    )


class ConfirmMonthForm(forms.Form):
    month = forms.DateField(
        label=_("Month"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )
    attended = forms.TypedChoiceField(
        label=_("In class this month"),
        choices=[("1", _("Yes, attended")), ("0", _("No: raise the case again"))],
        coerce=lambda v: v == "1",
        initial="1",
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Bureau's note"), max_length=300, required=False)


class ZeroReportForm(forms.Form):
    month = forms.DateField(
        label=_("Month"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )


class WatchPolicyForm(forms.Form):
    months = forms.IntegerField(label=_("Watch period after a return (months)"), min_value=1, max_value=24)


class ReopenForm(forms.Form):
    on = forms.DateField(label=_("Reopened on"), widget=DateInput(), initial=date.today)
    reason = forms.CharField(label=_("Reason for reopening"), max_length=300, required=False)
    late_reason = forms.CharField(
        label=_("Why the reopening is recorded late"),
        max_length=300,
        required=False,
        help_text=_("Needed when the reopening is more than 30 days ago."),
    )


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
    found_late_reason = forms.CharField(
        label=_("Why the date found is recorded late"),
        max_length=300,
        required=False,
        help_text=_("Needed when the date found is more than 30 days ago."),
    )
    school = forms.ModelChoiceField(
        label=_("Responsible school"), queryset=School.objects.active(), required=False
    )
    township = forms.ModelChoiceField(
        label=_("Township where the child lives"),
        queryset=Township.objects.all(),
        required=False,
        help_text=_("Only for a child the household list placed in a township the county does not know."),
    )


class ClearForm(forms.Form):
    clear_reason = forms.ChoiceField(
        label=_("Reason cleared"), choices=CHOOSE + SuspectedDropout.ClearReason.given_by_clerks()
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
