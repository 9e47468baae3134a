from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reports.models import YearEndSnapshot
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
