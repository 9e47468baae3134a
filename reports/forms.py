from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.forms import WholeNumberField
from reports.models import AgePopulation, YearEndSnapshot
from reports.services import MAX_YEAR, MIN_YEAR
from students.models import school_year_of


class RebuildForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=MIN_YEAR, max_value=MAX_YEAR)
    basis = forms.ChoiceField(label=_("Basis"), choices=YearEndSnapshot.Basis.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["year"].initial = school_year_of(today)


class PublishForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when this version replaces one published before."),
    )


class PopulationForm(forms.Form):
    school_year = WholeNumberField(
        label=_("School year"),
        min_value=MIN_YEAR,
        max_value=MAX_YEAR,
        help_text=_("The year the school year starts, e.g. 2022 for 2022-2023."),
    )
    band = forms.ChoiceField(label=_("Age group"), choices=AgePopulation.Band.choices)
    # 0 passes the form: the service refuses it with the reason.
    population = WholeNumberField(label=_("Population"), min_value=0)
    note = forms.CharField(label=_("Source of the figure"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school_year"].initial = school_year_of(timezone.localdate())
