"""Filters shared by the browser lists and the API, so both offer the same searches."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from nutrition import rules, selectors
from nutrition.models import (
    MEAL_STAGES,
    AccompaniedMeal,
    FundReceipt,
    MealRecord,
    NutritionTerm,
    PilotSchool,
    Purchase,
    SafetyCheck,
)
from portal.filters import PortalFilterSet
from students.models import School, Township


def _townships(request):
    return Township.objects.visible_to(request.user) if request else Township.objects.none()


def _schools(request):
    return School.objects.visible_to(request.user) if request else School.objects.none()


def _pilots(request):
    return PilotSchool.objects.visible_to(request.user) if request else PilotSchool.objects.none()


class PilotFilter(PortalFilterSet):
    term = django_filters.ModelChoiceFilter(label=_("Term"), queryset=NutritionTerm.objects.all())
    township = django_filters.ModelChoiceFilter(
        label=_("Township"), queryset=_townships, field_name="school__township"
    )
    school = django_filters.ModelChoiceFilter(label=_("School"), queryset=_schools)
    supply_mode = django_filters.ChoiceFilter(label=_("Supply mode"), choices=PilotSchool.SupplyMode.choices)
    q = django_filters.CharFilter(label=_("School name"), field_name="school__name", lookup_expr="icontains")
    # The reconciliation flags: the dashboards' red lights link here, and the list shows the pilots counted.
    flag = django_filters.ChoiceFilter(
        label=_("Flag"),
        method="filter_flag",
        choices=[
            (rules.OVERSPEND, _("Overspend")),
            (rules.UNDERSPEND, _("Underspend")),
            (rules.DIVERSION, _("Diversion")),
            (rules.SHORT_FUNDED, _("Short funded")),
            (selectors.NEGATIVE_BALANCE, _("Negative balance")),
        ],
    )

    class Meta:
        model = PilotSchool
        fields = ["term", "township", "school", "supply_mode", "q", "flag"]

    def filter_flag(self, queryset, name, value):
        return selectors.flagged(queryset, value)


class PilotRowFilter(PortalFilterSet):
    """Rows of pilot schools: by term, school and township, and a date range on `date_field`."""

    date_field = "day"

    term = django_filters.ModelChoiceFilter(
        label=_("Term"), queryset=NutritionTerm.objects.all(), field_name="pilot__term"
    )
    pilot = django_filters.ModelChoiceFilter(label=_("Pilot school"), queryset=_pilots)
    school = django_filters.ModelChoiceFilter(
        label=_("School"), queryset=_schools, field_name="pilot__school"
    )
    township = django_filters.ModelChoiceFilter(
        label=_("Township"), queryset=_townships, field_name="pilot__school__township"
    )
    date_from = django_filters.DateFilter(label=_("From"), method="after")
    date_to = django_filters.DateFilter(label=_("To"), method="before")

    def after(self, queryset, name, value):
        return queryset.filter(**{f"{self.date_field}__gte": value})

    def before(self, queryset, name, value):
        return queryset.filter(**{f"{self.date_field}__lte": value})


ROW_FIELDS = ["term", "pilot", "school", "township", "date_from", "date_to"]


class MealFilter(PilotRowFilter):
    stage = django_filters.ChoiceFilter(label=_("Stage"), choices=MEAL_STAGES)

    class Meta:
        model = MealRecord
        fields = [*ROW_FIELDS, "stage"]


class ReceiptFilter(PilotRowFilter):
    date_field = "received_on"

    class Meta:
        model = FundReceipt
        fields = ROW_FIELDS


class PurchaseFilter(PilotRowFilter):
    date_field = "purchased_on"
    category = django_filters.ChoiceFilter(label=_("Category"), choices=Purchase.Category.choices)
    diversion = django_filters.BooleanFilter(label=_("Forbidden category"), method="forbidden")
    supplier = django_filters.CharFilter(label=_("Supplier"), lookup_expr="icontains")

    class Meta:
        model = Purchase
        fields = [*ROW_FIELDS, "category", "diversion", "supplier"]

    def forbidden(self, queryset, name, value):
        if value is None:
            return queryset
        lookup = {"category__in": Purchase.FORBIDDEN_CATEGORIES}
        return queryset.filter(**lookup) if value else queryset.exclude(**lookup)


class AccompaniedFilter(PilotRowFilter):
    class Meta:
        model = AccompaniedMeal
        fields = ROW_FIELDS


class SafetyCheckFilter(PilotRowFilter):
    kind = django_filters.ChoiceFilter(
        label=pgettext_lazy("safety check", "Kind"), choices=SafetyCheck.Kind.choices
    )
    passed = django_filters.BooleanFilter(label=_("Passed"))

    class Meta:
        model = SafetyCheck
        fields = [*ROW_FIELDS, "kind", "passed"]
