"""REST API of the registry: townships, schools, students. Querysets are scoped by portal.access."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.utils.translation import gettext as _
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from portal.access import can_reveal_personal, is_bureau_staff
from portal.api import LoggedRetrieveMixin, call_service
from portal.audit import log_access
from portal.models import AccessLog
from students import services
from students.filters import SchoolFilter, StudentFilter
from students.models import ImportJob, School, Student, StudentCategory, Township


class TownshipSerializer(serializers.ModelSerializer):
    class Meta:
        model = Township
        fields = ["id", "code", "name", "county"]


class SchoolSerializer(serializers.ModelSerializer):
    township_name = serializers.CharField(source="township.name", read_only=True)
    school_type_display = serializers.CharField(source="get_school_type_display", read_only=True)

    class Meta:
        model = School
        fields = [
            "id",
            "code",
            "name",
            "township",
            "township_name",
            "school_type",
            "school_type_display",
            "ownership",
            "is_rural",
            "is_boarding",
            "has_canteen",
            "is_inclusive",
            "preschool_fee",
            "address",
            "principal_name",
            "phone",
            "opened_on",
            "closed_on",
            "is_active",
        ]
        # Closing a school is recording its closing date; "in operation" follows from it.
        read_only_fields = ["is_active"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        instance = self.instance
        opened_on = attrs.get("opened_on", instance.opened_on if instance else None)
        closed_on = attrs.get("closed_on", instance.closed_on if instance else None)
        errors = School.dates_errors(opened_on, closed_on)
        if errors:
            raise serializers.ValidationError(errors)
        attrs["is_active"] = closed_on is None
        return attrs


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = StudentCategory
        fields = ["id", "category", "valid_from", "valid_to", "source"]


class StudentSerializer(serializers.ModelSerializer):
    """Lists carry the masked ID number and the birth year, never the birth date or household county.

    Masked number (first 4, last 4) + birth date + household county code = the whole number, so a list
    (what is scraped, paged through and saved) carries neither, for every role. The birth date and household
    county are written here, and read back on a record's detail by the roles that may reveal it.
    """

    id_number = serializers.CharField(write_only=True, max_length=18)
    id_number_masked = serializers.CharField(source="masked_id_number", read_only=True)
    birth_date = serializers.DateField(write_only=True, required=False)
    household_county_code = serializers.CharField(write_only=True, required=False, max_length=6)
    birth_year = serializers.IntegerField(source="birth_date.year", read_only=True)
    school_name = serializers.CharField(source="school.name", read_only=True)
    categories = CategorySerializer(many=True, read_only=True)

    class Meta:
        model = Student
        fields = [
            "id",
            "id_number",
            "id_number_masked",
            "name",
            "sex",
            "birth_date",
            "birth_year",
            "school",
            "school_name",
            "stage",
            "grade",
            "household_county_code",
            "home_township",
            "village",
            "is_boarding",
            "major",
            "is_agricultural_major",
            "guardian_name",
            "guardian_phone",
            "status",
            "enrolled_on",
            "categories",
        ]
        extra_kwargs = {"sex": {"required": False}}
        # Uniqueness and the rules are checked by the service (full_clean), with the same messages as the UI.
        validators: list = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "school" in self.fields:
            self.fields["school"].queryset = School.objects.editable_by(request.user)
            self.fields["id_number"].validators = []


class StudentDetailSerializer(StudentSerializer):
    """One record: the birth date and household county for the roles that may reveal it, else null."""

    birth_date = serializers.SerializerMethodField()
    household_county_code = serializers.SerializerMethodField()
    id_number_full = serializers.SerializerMethodField()

    class Meta(StudentSerializer.Meta):
        fields = [*StudentSerializer.Meta.fields, "id_number_full"]

    def _may_reveal(self, obj: Student) -> bool:
        request = self.context.get("request")
        if request is None:
            return False
        cache = self.context.setdefault("_reveal", {})
        if obj.pk not in cache:
            cache[obj.pk] = can_reveal_personal(request.user, obj)
        return cache[obj.pk]

    def get_birth_date(self, obj: Student) -> date | None:
        return obj.birth_date if self._may_reveal(obj) else None

    def get_household_county_code(self, obj: Student) -> str | None:
        return obj.household_county_code if self._may_reveal(obj) else None

    def get_id_number_full(self, obj: Student) -> str | None:
        """Only when asked for (`?reveal=id`), by a role that may reveal it; the view logs it."""
        request = self.context.get("request")
        if request is None or request.query_params.get("reveal") != "id" or not self._may_reveal(obj):
            return None
        return obj.id_number


class ImportJobSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    duplicates = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "filename",
            "status",
            "status_display",
            "total_rows",
            "processed_rows",
            "progress_percent",
            "created_count",
            "updated_count",
            "unchanged_count",
            "message",
            "errors",
            "duplicates",
            "created_at",
            "finished_at",
            "seconds",
        ]
        read_only_fields = fields

    def get_duplicates(self, obj: ImportJob) -> list[dict]:
        """The birth dates of possible duplicates, only for a user who may reveal (else the year): a listed
        match is a registered child, whose masked number and birth date would rebuild the number."""
        request = self.context.get("request")
        if not obj.duplicates or request is None:
            return []
        # Matches are named only if the reader may see them (jobs validated before this rule may hold any).
        listed = {pk for d in obj.duplicates for pk in d["students"]}
        visible = set(
            Student.objects.visible_to(request.user).filter(pk__in=listed).values_list("pk", flat=True)
        )
        personal = can_reveal_personal(request.user)
        return [
            {
                **d,
                "birth_date": d["birth_date"] if personal else d["birth_date"][:4],
                "students": [pk for pk in d["students"] if pk in visible],
            }
            for d in obj.duplicates
        ]


class ImportJobViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ImportJobSerializer

    def get_queryset(self):
        return ImportJob.objects.visible_to(self.request.user).order_by("-created_at")


class TownshipViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TownshipSerializer
    filterset_fields = ["county"]
    search_fields = ["name", "code"]

    def get_queryset(self):
        return Township.objects.visible_to(self.request.user).order_by("code")


class SchoolViewSet(viewsets.ModelViewSet):
    serializer_class = SchoolSerializer
    filterset_class = SchoolFilter
    ordering_fields = ["code", "name"]
    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        return School.objects.visible_to(self.request.user).select_related("township").order_by("code")


class StudentViewSet(
    LoggedRetrieveMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    filterset_class = StudentFilter
    # Not by birth date: the order of a county's children by birth date places each one within days.
    ordering_fields = ["name", "grade"]

    def get_serializer_class(self):
        return StudentDetailSerializer if self.action == "retrieve" else StudentSerializer

    def get_queryset(self):
        qs = Student.objects.visible_to(self.request.user).select_related("school").order_by("pk")
        if self.action in ("list", "retrieve"):
            qs = qs.prefetch_related("categories")
        if self.action in ("update", "partial_update"):
            qs = Student.objects.editable_by(self.request.user).select_related("school")
        return qs

    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser],
        serializer_class=None,
    )
    def import_file(self, request):
        """Upload an .xlsx student list (field `file`); returns the import job (poll /api/imports/<id>/)."""
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": [_("Choose an .xlsx file to upload.")]})
        try:
            job = services.import_start(upload=upload, by=request.user)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        job.refresh_from_db()
        log_access(request, AccessLog.Action.IMPORT, job, detail=job.filename)
        code = status.HTTP_201_CREATED if job.is_finished else status.HTTP_202_ACCEPTED
        return Response(ImportJobSerializer(job, context={"request": request}).data, status=code)

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.student_create, by=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = call_service(
            services.student_update,
            student=serializer.instance,
            by=self.request.user,
            **serializer.validated_data,
        )
