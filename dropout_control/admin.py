from django.contrib import admin

from dropout_control.models import (
    CareRecord,
    DropoutCase,
    HomeTeachingVisit,
    HouseholdRegisterUpload,
    LongAbsence,
    PersuasionVisit,
    SuspectedDropout,
    TeamMember,
)


class ScopedAdmin(admin.ModelAdmin):
    """The admin shows what the user may see, like every other page; writes belong to the services."""

    def get_queryset(self, request):
        return self.model.objects.visible_to(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TeamInline(admin.TabularInline):
    model = TeamMember
    extra = 0


class VisitInline(admin.TabularInline):
    model = PersuasionVisit
    extra = 0


class HomeVisitInline(admin.TabularInline):
    model = HomeTeachingVisit
    extra = 0


@admin.register(DropoutCase)
class DropoutCaseAdmin(ScopedAdmin):
    list_display = [
        "name",
        "masked_id_number",
        "township",
        "school",
        "found_on",
        "reason",
        "status",
        "outcome",
    ]
    list_filter = ["status", "reason", "outcome", "township"]
    # An ID number matches whole (as in the registry admin), never a part of it.
    search_fields = ["name", "=id_number"]
    list_select_related = ["township", "school"]
    inlines = [TeamInline, VisitInline, HomeVisitInline]


@admin.register(SuspectedDropout)
class SuspectedDropoutAdmin(ScopedAdmin):
    list_display = ["name", "masked_id_number", "township", "village", "status", "clear_reason"]
    list_filter = ["status", "township"]
    list_select_related = ["township"]


@admin.register(HouseholdRegisterUpload)
class UploadAdmin(ScopedAdmin):
    list_display = ["file_name", "as_of", "row_count", "of_age_count", "suspect_count", "uploaded_at"]


@admin.register(LongAbsence)
class LongAbsenceAdmin(ScopedAdmin):
    list_display = ["student", "since", "ended_on"]
    list_select_related = ["student"]


@admin.register(CareRecord)
class CareRecordAdmin(ScopedAdmin):
    list_display = ["student", "visited_on", "teacher", "kind"]
    list_select_related = ["student"]
