"""Filters shared by the aid pages and the API, so both offer the same searches."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.filters import PortalFilterSet
from students.filters import search_by_name_or_id
from students.models import School, Stage, Student, StudentCategory, Township
from subsidies import selectors
from subsidies.models import (
    AidPolicy,
    AidType,
    CreditLoan,
    DisbursementBatch,
    Identification,
    MatchResult,
    OutOfCountyStudent,
    Payment,
    PolicyStage,
    SocialAidGrant,
    SocialAidProgramme,
    Term,
    UniversityStudent,
)


def _townships(request):
    return Township.objects.visible_to(request.user) if request else Township.objects.none()


def _schools(request):
    return School.objects.visible_to(request.user) if request else School.objects.none()


class PolicyFilter(PortalFilterSet):
    aid_type = django_filters.ChoiceFilter(label=_("Aid type"), choices=AidType.choices)
    stage = django_filters.ChoiceFilter(label=_("Stage"), choices=PolicyStage.choices)
    valid_on = django_filters.DateFilter(label=_("Valid on"), method="filter_valid_on")

    class Meta:
        model = AidPolicy
        fields = ["aid_type", "stage", "valid_on"]

    def filter_valid_on(self, queryset, name, value):
        return queryset.valid_on(value)


class BatchFilter(PortalFilterSet):
    school_year = django_filters.NumberFilter(label=_("School year"))
    term = django_filters.ChoiceFilter(label=_("Term"), choices=Term.choices)
    aid_type = django_filters.ChoiceFilter(label=_("Aid type"), choices=AidType.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=DisbursementBatch.Status.choices)
    # The dashboards' red light "approved aid not yet paid" links here with the unit it counted.
    awaiting_payment = django_filters.BooleanFilter(
        label=_("Approved, not yet paid"), method="filter_awaiting"
    )
    township = django_filters.ModelChoiceFilter(
        label=_("Township"), queryset=_townships, field_name="payments__school__township", distinct=True
    )
    school = django_filters.ModelChoiceFilter(
        label=_("School"), queryset=_schools, field_name="payments__school", distinct=True
    )

    class Meta:
        model = DisbursementBatch
        fields = ["school_year", "term", "aid_type", "status", "awaiting_payment", "township", "school"]

    def _payments(self):
        payments = Payment.objects.visible_to(self.request.user) if self.request else Payment.objects.all()
        data = self.form.cleaned_data
        if data.get("township"):
            payments = payments.filter(school__township=data["township"])
        if data.get("school"):
            payments = payments.filter(school=data["school"])
        return payments

    def filter_awaiting(self, queryset, name, value):
        if value is None:
            return queryset
        awaiting = selectors.batches_awaiting_payment(queryset, self._payments()).values("pk")
        return queryset.filter(pk__in=awaiting) if value else queryset.exclude(pk__in=awaiting)


class PaymentFilter(PortalFilterSet):
    q = django_filters.CharFilter(label=_("Name or ID number"), method="search")
    batch = django_filters.NumberFilter(label=_("Batch"))
    township = django_filters.ModelChoiceFilter(
        label=_("Township"), queryset=_townships, field_name="school__township"
    )
    school = django_filters.ModelChoiceFilter(label=_("School"), queryset=_schools)
    stage = django_filters.ChoiceFilter(label=_("Stage"), choices=Stage.choices)
    aid_type = django_filters.ChoiceFilter(label=_("Aid type"), choices=AidType.choices)
    school_year = django_filters.NumberFilter(label=_("School year"))
    term = django_filters.ChoiceFilter(label=_("Term"), choices=Term.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Payment.Status.choices)
    student = django_filters.NumberFilter(label=_("Student"))

    class Meta:
        model = Payment
        fields = [
            "q",
            "batch",
            "township",
            "school",
            "stage",
            "aid_type",
            "school_year",
            "term",
            "status",
            "student",
        ]

    def search(self, queryset, name, value):
        return search_by_name_or_id(
            self.request, queryset, value, id_field="student__id_number", name_field="student__name"
        )


class MatchResultFilter(PortalFilterSet):
    kind = django_filters.ChoiceFilter(label=_("Result"), choices=MatchResult.Kind.choices)

    class Meta:
        model = MatchResult
        fields = ["kind"]


class OutOfCountyFilter(PortalFilterSet):
    destination_county_code = django_filters.CharFilter(label=_("Destination county code"))
    school_year = django_filters.NumberFilter(label=_("School year"))
    follow_up = django_filters.ChoiceFilter(label=_("Follow-up"), choices=OutOfCountyStudent.FollowUp.choices)

    class Meta:
        model = OutOfCountyStudent
        fields = ["destination_county_code", "school_year", "follow_up"]


class LoanFilter(PortalFilterSet):
    school_year = django_filters.NumberFilter(label=_("School year"))
    q = django_filters.CharFilter(label=_("Name or university"), method="search")

    class Meta:
        model = CreditLoan
        fields = ["school_year", "q"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(university__icontains=value))


class PastBatchFilter(PortalFilterSet):
    """The imported batches of past payments."""

    school_year = django_filters.NumberFilter(label=_("School year"))
    term = django_filters.ChoiceFilter(label=_("Term"), choices=Term.choices)
    aid_type = django_filters.ChoiceFilter(label=_("Aid type"), choices=AidType.choices)

    class Meta:
        model = DisbursementBatch
        fields = ["school_year", "term", "aid_type"]


class UniversityStudentFilter(PortalFilterSet):
    q = django_filters.CharFilter(label=_("Name or ID number"), method="search")
    home_township = django_filters.ModelChoiceFilter(label=_("Home township"), queryset=_townships)
    enrolment_year = django_filters.NumberFilter(label=_("Year of enrolment"))
    category = django_filters.ChoiceFilter(
        label=_("Family category"), choices=StudentCategory.Category.choices
    )

    class Meta:
        model = UniversityStudent
        fields = ["q", "home_township", "enrolment_year", "category"]

    def search(self, queryset, name, value):
        return search_by_name_or_id(self.request, queryset, value)


def _programmes(request):
    return (
        SocialAidProgramme.objects.visible_to(request.user) if request else SocialAidProgramme.objects.none()
    )


class SocialGrantFilter(PortalFilterSet):
    programme = django_filters.ModelChoiceFilter(label=_("Programme"), queryset=_programmes)
    township = django_filters.ModelChoiceFilter(label=_("Township"), queryset=_townships)
    granted_from = django_filters.DateFilter(
        label=_("Granted from"), field_name="granted_on", lookup_expr="gte"
    )
    granted_to = django_filters.DateFilter(
        label=_("Granted until"), field_name="granted_on", lookup_expr="lte"
    )

    class Meta:
        model = SocialAidGrant
        fields = ["programme", "township", "granted_from", "granted_to"]


class IdentificationFilter(PortalFilterSet):
    q = django_filters.CharFilter(label=_("Name or ID number"), method="search")
    school_year = django_filters.NumberFilter(label=_("School year"))
    school = django_filters.ModelChoiceFilter(label=_("School"), queryset=_schools)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Identification.Status.choices)
    kind = django_filters.ChoiceFilter(
        label=pgettext_lazy("identification", "Kind"), choices=Identification.Kind.choices
    )

    class Meta:
        model = Identification
        fields = ["q", "school_year", "school", "status", "kind"]

    def search(self, queryset, name, value):
        return search_by_name_or_id(
            self.request, queryset, value, id_field="student__id_number", name_field="student__name"
        )


class IdentifiedFilter(PortalFilterSet):
    """The identified students of a school year (a Student queryset of `selectors.identified_students`)."""

    # The year is the selector's (the view reads it); here so that the filter form keeps it.
    school_year = django_filters.NumberFilter(label=_("School year"), method="keep")
    q = django_filters.CharFilter(label=_("Name or ID number"), method="search")
    school = django_filters.ModelChoiceFilter(label=_("School"), queryset=_schools)
    stage = django_filters.ChoiceFilter(label=_("Stage"), choices=Stage.choices)

    class Meta:
        model = Student
        fields = ["school_year", "q", "school", "stage"]

    def keep(self, queryset, name, value):
        return queryset

    def search(self, queryset, name, value):
        return search_by_name_or_id(self.request, queryset, value, id_field="id_number", name_field="name")
