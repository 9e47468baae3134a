"""Filters of the year-end reports' list."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from portal.filters import PortalFilterSet
from reports.models import YearEndSnapshot


class SnapshotFilter(PortalFilterSet):
    year = django_filters.NumberFilter(label=_("Year"))
    basis = django_filters.ChoiceFilter(label=_("Basis"), choices=YearEndSnapshot.Basis.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=YearEndSnapshot.Status.choices)

    class Meta:
        model = YearEndSnapshot
        fields = ["year", "basis", "status"]
