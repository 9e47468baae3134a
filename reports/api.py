"""REST API of the year-end snapshots (list, figures, download; rebuild and publish, bureau staff only) and
of the age-group populations the gross enrolment rates divide by (read by bureau staff and officials, entered by
bureau staff)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from portal.access import RolePermission, is_bureau_staff, scope_of
from portal.api import (
    DETAIL_WRITE_ERRORS,
    ERROR_404,
    ERROR_409,
    READ_ERRORS,
    WRITE_ERRORS,
    WholeNumberField,
    call_service,
)
from portal.excel import XLSX_CONTENT_TYPE
from portal.params import query_year
from reports import excel, services, yearend
from reports.models import PUBLISHED, AgePopulation, SnapshotPublication, YearEndSnapshot


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
    publication = serializers.SerializerMethodField(
        help_text="published: the year's published version (定稿), which rebuilds never replace; superseded: "
        "published once and replaced since; draft: not published. Null while building or failed."
    )

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
            "steps_done",
            "steps_total",
            "started_at",
            "finished_at",
            "seconds",
            "data_cutoff",
            "built_by",
            "error",
            "download_url",
            "publication",
        ]
        read_only_fields = fields

    def get_publication(self, obj: YearEndSnapshot) -> str | None:
        return obj.publication if obj.is_ready else None

    def get_download_url(self, obj: YearEndSnapshot) -> str | None:
        return reverse("reports-snapshot-download", args=[obj.pk]) if obj.is_ready else None


class SnapshotDetailSerializer(SnapshotSerializer):
    class Meta(SnapshotSerializer.Meta):
        fields = [*SnapshotSerializer.Meta.fields, "figures"]
        read_only_fields = fields


class PublicationSerializer(serializers.ModelSerializer):
    published_by = serializers.CharField(source="published_by.username", read_only=True)
    replaces = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text="The publication this one replaced."
    )

    class Meta:
        model = SnapshotPublication
        fields = ["id", "snapshot", "year", "basis", "published_at", "published_by", "reason", "replaces"]
        read_only_fields = fields


class PublishSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Why this version replaces the one published before: required when the year has one.",
    )


class DifferenceSerializer(serializers.Serializer):
    key = serializers.CharField(
        help_text="A stable path: section.table.row.measure, or section.by_school.id.measure"
    )
    figure = serializers.CharField(
        help_text="The figure's name as the report prints it (分学段学生数 · … · 学生数)."
    )
    kind = serializers.ChoiceField(choices=[yearend.INT, yearend.MONEY, yearend.RATE])
    published = serializers.JSONField(help_text="The published version's value (money and rates as strings).")
    draft = serializers.JSONField(help_text="The draft's value; null where the draft has no such row.")


class DraftSerializer(SnapshotSerializer):
    differences = DifferenceSerializer(
        many=True, help_text="Every figure that differs from the published one."
    )

    class Meta(SnapshotSerializer.Meta):
        fields = [*SnapshotSerializer.Meta.fields, "differences"]
        read_only_fields = fields


class CurrentSerializer(SnapshotDetailSerializer):
    """The year's report as readers get it: the published version (定稿) once there is one, else the newest
    ready build; beside a published version the newer draft with every figure that differs; the log."""

    draft = serializers.SerializerMethodField()
    publications = serializers.SerializerMethodField()

    class Meta(SnapshotDetailSerializer.Meta):
        fields = [*SnapshotDetailSerializer.Meta.fields, "draft", "publications"]
        read_only_fields = fields

    @extend_schema_field(DraftSerializer(allow_null=True))
    def get_draft(self, obj: YearEndSnapshot) -> dict | None:
        if obj.publication != PUBLISHED:
            return None
        draft = YearEndSnapshot.objects.draft_beside(obj)
        if draft is None:
            return None
        draft.differences = yearend.differences(obj.figures, draft.figures)
        return DraftSerializer(draft, context=self.context).data

    @extend_schema_field(PublicationSerializer(many=True))
    def get_publications(self, obj: YearEndSnapshot) -> list:
        publications = (
            SnapshotPublication.objects.of_year(year=obj.year, basis=obj.basis, county_code=obj.county_code)
            .select_related("published_by")
            .order_by("-published_at", "-pk")
        )
        return PublicationSerializer(publications, many=True).data


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
        if self.action == "publish":
            return PublishSerializer
        return SnapshotDetailSerializer if self.action in ("retrieve", "current") else SnapshotSerializer

    def get_queryset(self):
        qs = (
            YearEndSnapshot.objects.visible_to(self.request.user)
            .with_publication()
            .select_related("built_by")
        )
        return qs.defer("figures") if self.action == "list" else qs

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "year", int, required=True, description="A calendar year or a school year's start."
            ),
            OpenApiParameter("basis", str, enum=YearEndSnapshot.Basis.values, description="school (default)"),
        ],
        responses={
            200: CurrentSerializer,
            404: OpenApiResponse(
                ERROR_404.response, description="No report has been built for this year yet."
            ),
        },
    )
    @action(detail=False, methods=["get"])
    def current(self, request):
        """The report readers get for ?year=&basis=: its published version (定稿) once there is one, which
        no rebuild replaces, with the newer draft and its differences beside it; else the newest ready build
        (404 if none)."""
        year = query_year(request.query_params)
        if year is None:
            raise ValidationError({"year": [_("Enter a year.")]})
        basis = request.query_params.get("basis", YearEndSnapshot.Basis.SCHOOL)
        snapshot = YearEndSnapshot.objects.visible_to(request.user).current(year=year, basis=basis)
        if snapshot is None:
            return Response({"detail": _("No report has been built for this year yet.")}, status=404)
        return Response(CurrentSerializer(snapshot, context={"request": request}).data)

    @extend_schema(
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY,
            **READ_ERRORS,
            409: OpenApiResponse(
                ERROR_409.response, description="The report is still being built or failed."
            ),
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        snapshot = self.get_object()
        if not snapshot.is_ready:
            return Response(
                {"detail": _("This report is still being built or failed; download it once it is ready.")},
                status=status.HTTP_409_CONFLICT,
            )
        return excel.xlsx_response(snapshot)

    @extend_schema(
        request=PublishSerializer,
        responses={201: PublicationSerializer, **DETAIL_WRITE_ERRORS},
        description="Publish a ready snapshot as its year's report (定稿), bureau staff only. Replacing a version "
        "published before needs a reason and is logged. 400 for a snapshot still building or failed, the "
        "version already published, or a replacement without a reason; 403 for any other role.",
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        snapshot = self.get_object()
        serializer = PublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        publication = call_service(
            services.snapshot_publish, snapshot=snapshot, by=request.user, **serializer.validated_data
        )
        return Response(PublicationSerializer(publication).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RebuildSerializer, responses={202: SnapshotSerializer, **WRITE_ERRORS})
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
    school_year = WholeNumberField(
        min_value=services.MIN_YEAR,
        max_value=services.MAX_YEAR,
        help_text="The year the school year starts (2024 for 2024-2025), in plain digits.",
    )
    # Plain digits only: 1000.0, "1_000" and full-width "１０００" are refused (DRF's IntegerField takes them).
    population = WholeNumberField(min_value=0, help_text="Children of the age group; at least 100.")

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
        responses={201: PopulationSerializer, **WRITE_ERRORS},
        description="Set the county's population of an age group for a school year (bureau staff).",
    )
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.population_set, by=self.request.user, **serializer.validated_data
        )
