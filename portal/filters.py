"""The base of every list's filters: an open choice reads "全部" (all), not "---------" or "未知" (issue 15).

A choice filter left empty keeps every row, so its empty option says so; a yes/no filter's open option is
"全部" too, instead of the form's "未知" (unknown), which read as "rows whose value is unknown". The values in
the URL stay what django-filter reads (an empty value, or `unknown` for a yes/no filter), so bookmarked
links keep working and the API's filters are unchanged.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import pgettext_lazy

ALL = pgettext_lazy("filter", "All")


class AllYesNoSelect(forms.NullBooleanSelect):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", ALL), *self.choices[1:]]


class PortalFilterSet(django_filters.FilterSet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for filter_ in self.filters.values():
            if isinstance(filter_, django_filters.BooleanFilter):
                filter_.extra["widget"] = AllYesNoSelect
            elif isinstance(filter_, django_filters.ChoiceFilter | django_filters.ModelChoiceFilter):
                filter_.extra["empty_label"] = ALL
            else:
                continue
            # A form field built before (the API's schema, an earlier request) was copied with the filter:
            # built again, with the label above.
            filter_.__dict__.pop("_field", None)
