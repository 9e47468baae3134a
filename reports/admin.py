from django.contrib import admin

from reports.models import AgePopulation, SnapshotPublication, YearEndSnapshot


@admin.register(YearEndSnapshot)
class YearEndSnapshotAdmin(admin.ModelAdmin):
    list_display = ["year", "basis", "status", "progress", "started_at", "finished_at", "seconds", "built_by"]
    list_filter = ["basis", "status", "year"]
    readonly_fields = [f.name for f in YearEndSnapshot._meta.fields]

    def get_queryset(self, request):
        return YearEndSnapshot.objects.visible_to(request.user)

    def has_add_permission(self, request):
        return False  # snapshots are built from records, never typed in

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SnapshotPublication)
class SnapshotPublicationAdmin(admin.ModelAdmin):
    """The publication log: read only (publishing is a service with its checks, never an admin edit)."""

    list_display = ["year", "basis", "snapshot", "published_at", "published_by", "reason"]
    list_filter = ["basis", "year"]
    readonly_fields = [f.name for f in SnapshotPublication._meta.fields]

    def get_queryset(self, request):
        return SnapshotPublication.objects.visible_to(request.user).select_related("snapshot", "published_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AgePopulation)
class AgePopulationAdmin(admin.ModelAdmin):
    """Read here; entered on the populations page or through the API (the service checks and records it)."""

    list_display = ["county", "school_year", "band", "population", "note", "entered_by", "updated_at"]
    list_filter = ["band", "school_year"]
    readonly_fields = [f.name for f in AgePopulation._meta.fields]

    def get_queryset(self, request):
        return AgePopulation.objects.visible_to(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
