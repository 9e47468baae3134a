"""Filters shared by the browser lists and the API."""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django.db.models import Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dropout_control import selectors
from dropout_control.models import CareRecord, DropoutCase, LongAbsence, ReturnWatch, SuspectedDropout
from dropout_control.rules import VISIT_OVERDUE_DAYS
from portal.filters import PortalFilterSet
from students.filters import search_by_name_or_id
from students.models import School, Township


def _townships(request):
    return Township.objects.visible_to(request.user) if request else Township.objects.none()


def _schools(request):
    return School.objects.visible_to(request.user) if request else School.objects.none()


class CaseFilter(PortalFilterSet):
    q = django_filters.CharFilter(label=_("Name or ID number"), method="search")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=DropoutCase.Status.choices)
    stage = django_filters.ChoiceFilter(
        label=_("Where the case is"), choices=DropoutCase.Stage.choices, method="filter_stage"
    )
    township = django_filters.ModelChoiceFilter(label=_("Township"), queryset=_townships)
    school = django_filters.ModelChoiceFilter(label=_("School"), queryset=_schools)
    reason = django_filters.ChoiceFilter(
        label=pgettext_lazy("dropout", "Reason"), choices=DropoutCase.Reason.choices
    )
    outcome = django_filters.ChoiceFilter(label=_("Outcome"), choices=DropoutCase.Outcome.choices)
    found_by = django_filters.ChoiceFilter(label=_("How found"), choices=DropoutCase.FoundBy.choices)
    found_from = django_filters.DateFilter(label=_("Found from"), field_name="found_on", lookup_expr="gte")
    found_to = django_filters.DateFilter(label=_("Found until"), field_name="found_on", lookup_expr="lte")
    overdue = django_filters.BooleanFilter(label=_("No visit in 30 days"), method="filter_overdue")
    open_too_long = django_filters.BooleanFilter(
        label=_("Open for more than 30 days"), method="filter_open_too_long"
    )

    class Meta:
        model = DropoutCase
        fields = [
            "q",
            "status",
            "stage",
            "township",
            "school",
            "reason",
            "outcome",
            "found_by",
            "found_from",
            "found_to",
            "overdue",
            "open_too_long",
        ]

    def search(self, queryset, name, value):
        return search_by_name_or_id(self.request, queryset, value)

    def filter_stage(self, queryset, name, value):
        return queryset.in_stage(value)

    def filter_overdue(self, queryset, name, value):
        cutoff = timezone.localdate() - timedelta(days=VISIT_OVERDUE_DAYS)
        overdue = Q(status=DropoutCase.Status.OPEN, last_contact__lt=cutoff)
        queryset = queryset.annotate(last_contact=Coalesce(Max("visits__visited_on"), "found_on"))
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_open_too_long(self, queryset, name, value):
        if value is None:
            return queryset
        too_long = selectors.open_longer_than(DropoutCase.objects.all()).values("pk")
        return queryset.filter(pk__in=too_long) if value else queryset.exclude(pk__in=too_long)


class SuspectFilter(PortalFilterSet):
    q = django_filters.CharFilter(label=_("Name or ID number"), method="search")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=SuspectedDropout.Status.choices)
    township = django_filters.ModelChoiceFilter(label=_("Township"), queryset=_townships)
    is_poverty_family = django_filters.BooleanFilter(label=_("Poverty-alleviated household"))
    upload = django_filters.NumberFilter(label=_("Upload"), method="filter_upload")

    class Meta:
        model = SuspectedDropout
        fields = ["q", "status", "township", "is_poverty_family", "upload"]

    def search(self, queryset, name, value):
        return search_by_name_or_id(self.request, queryset, value)

    def filter_upload(self, queryset, name, value):
        # Listed by the upload: found by it, or found earlier and still pending when it named the child again.
        return queryset.filter(Q(row__upload=value) | Q(last_seen=value))


class WatchFilter(PortalFilterSet):
    q = django_filters.CharFilter(label=_("Name or ID number"), method="search")
    township = django_filters.ModelChoiceFilter(
        label=_("Township"), queryset=_townships, field_name="case__township"
    )
    school = django_filters.ModelChoiceFilter(label=_("School returned to"), queryset=_schools)

    class Meta:
        model = ReturnWatch
        fields = ["q", "township", "school"]

    def search(self, queryset, name, value):
        return search_by_name_or_id(
            self.request, queryset, value, id_field="student__id_number", name_field="case__name"
        )


class LongAbsenceFilter(PortalFilterSet):
    school = django_filters.ModelChoiceFilter(
        label=_("School"), queryset=_schools, field_name="student__school"
    )
    current = django_filters.BooleanFilter(
        label=_("Still absent"), field_name="ended_on", lookup_expr="isnull"
    )

    class Meta:
        model = LongAbsence
        fields = ["school", "current"]


class CareRecordFilter(PortalFilterSet):
    school = django_filters.ModelChoiceFilter(
        label=_("School"), queryset=_schools, field_name="student__school"
    )
    student = django_filters.NumberFilter(label=_("Student"), field_name="student")
    visited_from = django_filters.DateFilter(label=_("From"), field_name="visited_on", lookup_expr="gte")
    visited_to = django_filters.DateFilter(label=_("Until"), field_name="visited_on", lookup_expr="lte")

    class Meta:
        model = CareRecord
        fields = ["school", "student", "visited_from", "visited_to"]
