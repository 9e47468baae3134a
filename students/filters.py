"""Filters shared by the browser lists and the API, so both offer the same searches."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.search import search_value
from students import id_numbers
from students.models import School, Stage, Student, StudentCategory, Township


def _townships(request):
    return Township.objects.visible_to(request.user) if request else Township.objects.none()


def _schools(request):
    return School.objects.visible_to(request.user) if request else School.objects.none()


class SchoolFilter(django_filters.FilterSet):
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


class StudentFilter(django_filters.FilterSet):
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
        value = search_value(self.request, value).strip()
        normalized = id_numbers.normalize(value)
        if len(normalized) == 18:
            return queryset.filter(id_number=normalized)
        if normalized[:-1].isdigit() and len(normalized) >= 6:
            # A partial number: the start of an ID number, as clerks type it.
            return queryset.filter(id_number__startswith=normalized)
        return queryset.filter(name__icontains=value)

    def in_category(self, queryset, name, value):
        today = timezone.localdate()
        matching = StudentCategory.objects.filter(category=value).on(today).values("student_id")
        return queryset.filter(pk__in=matching)
