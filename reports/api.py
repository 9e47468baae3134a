"""REST API of the year-end snapshots (list, figures, download, rebuild) and of the age-group populations the
gross enrolment rates divide by (read by bureau staff and officials, entered by bureau staff)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from portal.access import RolePermission, is_bureau_staff, scope_of
from portal.api import call_service
from portal.params import query_year
from reports import excel, services
from reports.models import AgePopulation, YearEndSnapshot


class CountyPermission(RolePermission):
    """Snapshots are county figures: bureau staff and officials only (officials read)."""

    def has_permission(self, request, view) -> bool:
        if not scope_of(request.user).county:
            self.message = _("The year-end report is for bureau staff and officials.")
            return False
        if not super().has_permission(request, view):
            # An official reads and downloads the report: the refusal says so, not that it is not for them.
            self.message = _("Only bureau staff rebuild the year-end report; officials read and download it.")
            return False
        return True


class SnapshotSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    period = serializers.CharField(source="period_label", read_only=True)
    built_by = serializers.CharField(source="built_by.username", read_only=True, default=None)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = YearEndSnapshot
        fields = [
            "id",
            "county_code",
            "year",
            "basis",
            "period",
            "status",
            "status_display",
            "progress",
            "started_at",
            "finished_at",
            "seconds",
            "data_cutoff",
            "built_by",
            "error",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, obj: YearEndSnapshot) -> str | None:
        return reverse("reports-snapshot-download", args=[obj.pk]) if obj.is_ready else None


class SnapshotDetailSerializer(SnapshotSerializer):
    class Meta(SnapshotSerializer.Meta):
        fields = [*SnapshotSerializer.Meta.fields, "figures"]
        read_only_fields = fields


class RebuildSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=services.MIN_YEAR, max_value=services.MAX_YEAR)
    basis = serializers.ChoiceField(
        choices=YearEndSnapshot.Basis.choices, default=YearEndSnapshot.Basis.SCHOOL
    )


class SnapshotViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [CountyPermission]
    filterset_fields = ["year", "basis", "status"]
    write_allowed = staticmethod(is_bureau_staff)

    def get_serializer_class(self):
        if self.action == "rebuild":
            return RebuildSerializer
        return SnapshotDetailSerializer if self.action in ("retrieve", "current") else SnapshotSerializer

    def get_queryset(self):
        qs = YearEndSnapshot.objects.visible_to(self.request.user).select_related("built_by")
        return qs.defer("figures") if self.action == "list" else qs

    @action(detail=False, methods=["get"])
    def current(self, request):
        """The snapshot readers see for ?year=&basis=: the newest ready one (404 if none)."""
        year = query_year(request.query_params)
        if year is None:
            raise ValidationError({"year": [_("Enter a year.")]})
        basis = request.query_params.get("basis", YearEndSnapshot.Basis.SCHOOL)
        snapshot = YearEndSnapshot.objects.visible_to(request.user).current(year=year, basis=basis)
        if snapshot is None:
            return Response({"detail": _("No report has been built for this year yet.")}, status=404)
        return Response(SnapshotDetailSerializer(snapshot, context={"request": request}).data)

    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        snapshot = self.get_object()
        if not snapshot.is_ready:
            return Response(
                {"detail": _("This report is still being built or failed; download it once it is ready.")},
                status=status.HTTP_409_CONFLICT,
            )
        return excel.xlsx_response(snapshot)

    @action(detail=False, methods=["post"])
    def rebuild(self, request):
        """Start a rebuild (bureau staff): {"year": 2022, "basis": "school"}; poll the returned snapshot."""
        serializer = RebuildSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        snapshot = call_service(services.snapshot_request, by=request.user, **serializer.validated_data)
        snapshot.refresh_from_db()
        return Response(
            SnapshotSerializer(snapshot, context={"request": request}).data, status=status.HTTP_202_ACCEPTED
        )


class PopulationSerializer(serializers.ModelSerializer):
    county_code = serializers.CharField(source="county.code", read_only=True)
    band_display = serializers.CharField(source="get_band_display", read_only=True)
    entered_by = serializers.CharField(source="entered_by.username", read_only=True, default=None)

    class Meta:
        model = AgePopulation
        fields = [
            "id",
            "county_code",
            "school_year",
            "band",
            "band_display",
            "population",
            "note",
            "entered_by",
            "updated_at",
        ]
        read_only_fields = ["id", "county_code", "band_display", "entered_by", "updated_at"]
        # One figure per county, year and age group: a second POST corrects it (the service's upsert).
        validators: list = []


class PopulationViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The home county's population of an age group per school year (3-5: preschool, 15-17: senior
    secondary). POST sets the year's figure, replacing an earlier one (kept in the history); 0 is refused."""

    serializer_class = PopulationSerializer
    filterset_fields = ["school_year", "band"]
    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        return AgePopulation.objects.visible_to(self.request.user).select_related("county", "entered_by")

    @extend_schema(
        request=PopulationSerializer,
        responses={201: PopulationSerializer},
        description="Set the county's population of an age group for a school year (bureau staff).",
    )
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.population_set, by=self.request.user, **serializer.validated_data
        )
