"""Admin pages: read-only views of the plan's records (writes go through the pages and the API, which apply
the rules); terms and holidays are reference data the bureau may fix here."""

from django.contrib import admin

from nutrition.models import (
    AccompaniedMeal,
    FundReceipt,
    MealRecord,
    NutritionTerm,
    PilotSchool,
    Purchase,
    SafetyCheck,
    TermHoliday,
)
from portal.admin import ScopedAdmin


class ReadOnlyAdmin(ScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HolidayInline(admin.TabularInline):
    model = TermHoliday
    extra = 0


@admin.register(NutritionTerm)
class NutritionTermAdmin(ScopedAdmin):
    list_display = ("__str__", "start", "end", "is_closed")
    inlines = [HolidayInline]


@admin.register(PilotSchool)
class PilotSchoolAdmin(ReadOnlyAdmin):
    list_display = ("school", "term", "supply_mode", "covered_primary", "covered_junior", "covered_preschool")
    list_filter = ("term", "supply_mode")
    list_select_related = ("school", "term")
    search_fields = ("school__name", "school__code")


@admin.register(MealRecord)
class MealRecordAdmin(ReadOnlyAdmin):
    list_display = ("pilot", "day", "stage", "meals")
    list_filter = ("stage",)
    list_select_related = ("pilot__school", "pilot__term")
    date_hierarchy = "day"


@admin.register(FundReceipt)
class FundReceiptAdmin(ReadOnlyAdmin):
    list_display = ("pilot", "received_on", "amount", "document")
    list_select_related = ("pilot__school", "pilot__term")


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = ("pilot", "purchased_on", "supplier", "category", "amount")
    list_filter = ("category",)
    list_select_related = ("pilot__school", "pilot__term")


@admin.register(AccompaniedMeal)
class AccompaniedMealAdmin(ReadOnlyAdmin):
    list_display = ("pilot", "day", "person", "remark")
    list_select_related = ("pilot__school", "pilot__term")


@admin.register(SafetyCheck)
class SafetyCheckAdmin(ReadOnlyAdmin):
    list_display = ("pilot", "day", "kind", "checked_by", "passed")
    list_filter = ("kind", "passed")
    list_select_related = ("pilot__school", "pilot__term")
