"""Filters shared by the browser lists and the API, so both offer the same searches."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.access import can_reveal_personal
from portal.filters import PortalFilterSet
from portal.search import search_value
from students import id_numbers
from students.models import ImportJob, MissingFromRoll, School, Stage, Student, StudentCategory, Township


def search_by_name_or_id(request, queryset, value: str, *, id_field="id_number", name_field="name"):
    """The search box of every list of children: a whole, valid ID number matches exactly, anything else
    is a name.

    Never a prefix or part of a number. An ID search answers only a user who may reveal the number: for
    anyone else an exact-match search is an oracle that picks the one right number out of the few dozen a
    masked number and a birth year leave (one query each).
    """
    value = search_value(request, value).strip()
    number = id_numbers.whole(value)
    if number is not None:
        if request is None or not can_reveal_personal(request.user):
            return queryset.none()
        return queryset.filter(**{id_field: number})
    return queryset.filter(**{f"{name_field}__icontains": value})


def _townships(request):
    return Township.objects.visible_to(request.user) if request else Township.objects.none()


def _schools(request):
    return School.objects.visible_to(request.user) if request else School.objects.none()


class SchoolFilter(PortalFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    township = django_filters.ModelChoiceFilter(label=_("Township"), queryset=_townships)
    school_type = django_filters.ChoiceFilter(label=_("School type"), choices=School.Type.choices)
    ownership = django_filters.ChoiceFilter(label=_("Ownership"), choices=School.Ownership.choices)
    is_rural = django_filters.BooleanFilter(label=_("Rural"))

    class Meta:
        model = School
        fields = ["q", "township", "school_type", "ownership", "is_rural"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__iexact=value))


class StudentFilter(PortalFilterSet):
    q = django_filters.CharFilter(label=_("Name or ID number"), method="search")
    township = django_filters.ModelChoiceFilter(
        label=_("Township"), queryset=_townships, field_name="school__township"
    )
    school = django_filters.ModelChoiceFilter(label=_("School"), queryset=_schools)
    stage = django_filters.ChoiceFilter(label=_("Stage"), choices=Stage.choices)
    grade = django_filters.NumberFilter(label=_("Grade"))
    category = django_filters.ChoiceFilter(
        label=_("Category (today)"), choices=StudentCategory.Category.choices, method="in_category"
    )
    is_boarding = django_filters.BooleanFilter(label=_("Boarder"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Student.Status.choices)

    class Meta:
        model = Student
        fields = ["q", "township", "school", "stage", "grade", "category", "is_boarding", "status"]

    def search(self, queryset, name, value):
        return search_by_name_or_id(self.request, queryset, value)

    def in_category(self, queryset, name, value):
        today = timezone.localdate()
        matching = StudentCategory.objects.filter(category=value).on(today).values("student_id")
        return queryset.filter(pk__in=matching)


class MissingFromRollFilter(PortalFilterSet):
    school = django_filters.ModelChoiceFilter(label=_("School"), queryset=_schools)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=MissingFromRoll.Status.choices)
    is_compulsory = django_filters.BooleanFilter(label=_("Compulsory age"))
    school_year = django_filters.NumberFilter(label=_("School year"))

    class Meta:
        model = MissingFromRoll
        fields = ["school", "status", "is_compulsory", "school_year"]


class ImportJobFilter(PortalFilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind of file"), choices=ImportJob.Kind.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ImportJob.Status.choices)
    created_from = django_filters.DateFilter(
        label=_("Uploaded from"), field_name="created_at", lookup_expr="date__gte"
    )
    created_to = django_filters.DateFilter(
        label=_("Uploaded until"), field_name="created_at", lookup_expr="date__lte"
    )

    class Meta:
        model = ImportJob
        fields = ["kind", "status", "created_from", "created_to"]
