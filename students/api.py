"""REST API of the registry: townships, schools, students. Querysets are scoped by portal.access."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.reverse import reverse

from portal.access import can_import_students, can_reveal_personal, can_roll_over, is_bureau_staff
from portal.api import (
    DETAIL_WRITE_ERRORS,
    ERROR_400,
    READ_ERRORS,
    WRITE_ERRORS,
    LoggedRetrieveMixin,
    call_service,
    service_errors,
)
from portal.audit import log_access
from portal.models import AccessLog
from students import rollover, services
from students.filters import MissingFromRollFilter, SchoolFilter, StudentFilter
from students.models import (
    ImportJob,
    MissingFromRoll,
    Rollover,
    RolloverConfirmation,
    School,
    Student,
    StudentCategory,
    Township,
)


class TownshipSerializer(serializers.ModelSerializer):
    class Meta:
        model = Township
        fields = ["id", "code", "name", "county", "closed_on", "merged_into"]
        read_only_fields = ["closed_on", "merged_into"]


class TownshipMergeSerializer(serializers.Serializer):
    into = serializers.PrimaryKeyRelatedField(
        queryset=Township.objects.all(), help_text="The township that takes over the schools."
    )
    on = serializers.DateField(
        help_text="The first day the schools belong to `into` (乡镇合并 effective date)."
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:
            self.fields["into"].queryset = Township.objects.visible_to(user)


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
            "effective_on",
        ]
        # Closing a school is recording its closing date; "in operation" follows from it.
        read_only_fields = ["is_active"]

    # A change of name, township, type, ownership or rural flag is dated: the years before keep the old value.
    effective_on = serializers.DateField(
        write_only=True,
        required=False,
        help_text="The day a change of name, township, school type, ownership or rural flag takes effect "
        "(default: today); reports of the days before keep the old value.",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        instance = self.instance
        opened_on = attrs.get("opened_on", instance.opened_on if instance else None)
        closed_on = attrs.get("closed_on", instance.closed_on if instance else None)
        errors = School.dates_errors(opened_on, closed_on, school_pk=instance.pk if instance else None)
        # An edit that changes no dated attribute (a phone) is not checked against the school's last change.
        errors = errors or services.school_change_errors(
            school=instance, new=attrs, on=attrs.get("effective_on")
        )
        if errors:
            raise serializers.ValidationError(errors)
        attrs["is_active"] = closed_on is None
        return attrs

    def create(self, validated_data):
        validated_data.pop("effective_on", None)  # a new school's attributes hold from its beginning
        return super().create(validated_data)

    def update(self, instance, validated_data):
        on = validated_data.pop("effective_on", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        with transaction.atomic(), service_errors():
            services.save_school(instance, on=on)
        return instance


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
    # 全国学籍号 holds the ID number (G + ID number): written whole, read masked like it.
    national_student_number = serializers.CharField(
        write_only=True, max_length=19, required=False, allow_blank=True
    )
    national_student_number_masked = serializers.CharField(
        source="masked_national_student_number", read_only=True
    )
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
            "national_student_number",
            "national_student_number_masked",
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
    national_student_number_full = serializers.SerializerMethodField()

    class Meta(StudentSerializer.Meta):
        fields = [*StudentSerializer.Meta.fields, "id_number_full", "national_student_number_full"]

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

    def get_national_student_number_full(self, obj: Student) -> str | None:
        """With the whole ID number (`?reveal=id`): it holds it."""
        if self.get_id_number_full(obj) is None:
            return None
        return obj.national_student_number


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
            "kind",
            "school_year",
            "roll_date",
            "preview",
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


class ImportConfirmSerializer(serializers.Serializer):
    fingerprint = serializers.CharField(
        required=False,
        max_length=64,
        help_text="A student import: the `preview.fingerprint` the caller was shown; refused (400) if the "
        "preview changed since.",
    )


class ImportJobViewSet(viewsets.ReadOnlyModelViewSet):
    """Student imports and school-year rolls. A roll waits in `preview` (what applying it would do: `preview`
    holds the counts and the first entries of the new, changed and missing children) until applied."""

    serializer_class = ImportJobSerializer
    # A principal confirms their own student import; applying a roll is the bureau's (the services decide).
    write_allowed = staticmethod(can_import_students)

    def get_queryset(self):
        return ImportJob.objects.visible_to(self.request.user).order_by("-created_at")

    @extend_schema(
        request=ImportConfirmSerializer,
        responses={
            200: ImportJobSerializer,
            202: OpenApiResponse(
                ImportJobSerializer, description="A large roll or import: applied by a task; poll the job."
            ),
            **DETAIL_WRITE_ERRORS,
            400: OpenApiResponse(
                ERROR_400.response,
                description="The job is not waiting in preview, its year has closed, or `fingerprint` is not "
                "the preview's.",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        """Apply a previewed roll, or confirm a student import waiting in `preview` (it would change students
        already registered: `preview.changed` lists each change, old and new). The file is checked again
        against the register as it is now, then written (all or nothing; `status` done, or rejected with
        `message`: a student import whose students changed since the preview is refused)."""
        job = self.get_object()
        if job.kind == ImportJob.Kind.STUDENTS:
            confirm = ImportConfirmSerializer(data=request.data)
            confirm.is_valid(raise_exception=True)
            job = call_service(
                services.import_confirm,
                job=job,
                by=request.user,
                fingerprint=confirm.validated_data.get("fingerprint"),
            )
        else:
            job = call_service(services.roll_import_apply, job=job, by=request.user)
        job.refresh_from_db()
        code = status.HTTP_200_OK if job.is_finished else status.HTTP_202_ACCEPTED
        return Response(ImportJobSerializer(job, context={"request": request}).data, status=code)


class RollImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The roll in the student template (.xlsx); a past roll adds 学年.")
    kind = serializers.ChoiceField(
        choices=ImportJob.Kind.choices,
        help_text="full_roll: the current school year's full roll; past_roll: a school year that has ended.",
    )
    school_year = serializers.IntegerField(
        min_value=2000, max_value=2100, help_text="The year the school year starts in (2022 = 2022-2023)."
    )
    roll_date = serializers.DateField(
        required=False, help_text="A full roll's date (default today): its changes take effect on it."
    )


class MissingFromRollSerializer(serializers.ModelSerializer):
    student_name = serializers.CharField(source="student.name", read_only=True)
    id_number_masked = serializers.CharField(source="student.masked_id_number", read_only=True)
    school_name = serializers.CharField(source="school.name", read_only=True)
    reason_display = serializers.CharField(source="get_reason_display", read_only=True)

    class Meta:
        model = MissingFromRoll
        fields = [
            "id",
            "student",
            "student_name",
            "id_number_masked",
            "school",
            "school_name",
            "school_year",
            "roll_date",
            "stage",
            "grade",
            "is_compulsory",
            "status",
            "reason",
            "reason_display",
            "resolved_on",
            "note",
            "created_at",
        ]
        read_only_fields = fields


class MissingResolveSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=MissingFromRoll.Reason.choices,
        help_text="Why the child is not on the roll (on_later_roll is the system's own, refused here).",
    )
    on = serializers.DateField(help_text="The day it happened: the child's status changes from then.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class MissingFromRollViewSet(viewsets.ReadOnlyModelViewSet):
    """Children a full roll did not list (学籍缺失): each resolved with the reason, which sets the child's
    status from its date. Unresolved compulsory-age ones (`is_compulsory`) are suspected dropouts."""

    serializer_class = MissingFromRollSerializer
    filterset_class = MissingFromRollFilter

    def get_queryset(self):
        qs = MissingFromRoll.objects.visible_to(self.request.user)
        if self.action == "resolve":
            qs = MissingFromRoll.objects.editable_by(self.request.user)
        return qs.select_related("student", "school").order_by("school__code", "stage", "grade", "pk")

    @extend_schema(
        request=MissingResolveSerializer, responses={200: MissingFromRollSerializer, **DETAIL_WRITE_ERRORS}
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        serializer = MissingResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        missing = call_service(
            services.roll_missing_resolve,
            missing=self.get_object(),
            by=request.user,
            **serializer.validated_data,
        )
        return Response(MissingFromRollSerializer(missing, context=self.get_serializer_context()).data)


class TownshipViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TownshipSerializer
    filterset_fields = ["county"]
    search_fields = ["name", "code"]

    def get_queryset(self):
        return Township.objects.visible_to(self.request.user).order_by("code")

    @extend_schema(
        request=TownshipMergeSerializer,
        responses={
            200: OpenApiResponse(TownshipSerializer, description="The merged township, closed on `on`."),
            **DETAIL_WRITE_ERRORS,
        },
    )
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """乡镇合并 (bureau staff): from `on`, every school of this township belongs to `into`; this township is
        closed that day and stays in the reports of the years before."""
        township = self.get_object()
        serializer = TownshipMergeSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        township = call_service(
            services.township_merge, township=township, by=request.user, **serializer.validated_data
        )
        return Response(TownshipSerializer(township, context=self.get_serializer_context()).data)


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

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
        responses={
            201: OpenApiResponse(
                ImportJobSerializer,
                description="Checked: `done` (written), `preview` (it changes registered students: nothing "
                "written until `POST /api/imports/{id}/apply/`), or `rejected` with errors.",
            ),
            202: OpenApiResponse(
                ImportJobSerializer, description="A large file: checked by a task; poll the job."
            ),
            **WRITE_ERRORS,
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser],
        serializer_class=None,
    )
    def import_file(self, request):
        """Upload an .xlsx student list (field `file`); returns the import job (poll /api/imports/<id>/).
        201 once checked (as the roll import answers), 202 while a task still checks it."""
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": [_("Choose an .xlsx file to upload.")]})
        try:
            job = services.import_start(upload=upload, by=request.user)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        job.refresh_from_db()
        log_access(request, AccessLog.Action.IMPORT, job, detail=job.filename)
        checked = job.is_finished or job.status == ImportJob.Status.PREVIEW
        code = status.HTTP_201_CREATED if checked else status.HTTP_202_ACCEPTED
        return Response(ImportJobSerializer(job, context={"request": request}).data, status=code)

    @extend_schema(
        request={"multipart/form-data": RollImportSerializer},
        responses={
            201: OpenApiResponse(
                ImportJobSerializer, description="Checked: `preview`, or `rejected` with errors."
            ),
            202: OpenApiResponse(
                ImportJobSerializer, description="A large roll: checked by a task; poll the job."
            ),
            **WRITE_ERRORS,
            400: OpenApiResponse(
                ERROR_400.response, description="A school year closed to this kind of roll, or a bad field."
            ),
        },
    )
    @action(detail=False, methods=["post"], url_path="roll-import", parser_classes=[MultiPartParser])
    def roll_import(self, request):
        """Upload a school year's roll (bureau staff): checked into a preview, nothing written until
        `POST /api/imports/{id}/apply/`."""
        serializer = RollImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            job = services.roll_import_start(
                by=request.user, upload=serializer.validated_data.pop("file"), **serializer.validated_data
            )
        job.refresh_from_db()
        log_access(request, AccessLog.Action.IMPORT, job, detail=job.filename)
        code = status.HTTP_201_CREATED if job.status != ImportJob.Status.PENDING else status.HTTP_202_ACCEPTED
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


# --- The autumn roll-over (students.rollover) ----------------------------------------------------------------


class RolloverRequestSerializer(serializers.Serializer):
    school_year = serializers.IntegerField(
        min_value=2000, max_value=2100, help_text="The school year being opened (2025 = 2025-2026)."
    )
    apply = serializers.BooleanField(default=False, help_text="false: preview only; true: apply.")
    fingerprint = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="The preview's fingerprint: the apply is refused if the register changed since that preview.",
    )


class RolloverYearSerializer(serializers.Serializer):
    school_year = serializers.IntegerField(min_value=2000, max_value=2100)


class RolloverYearQuerySerializer(serializers.Serializer):
    school_year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)


class RolloverTotalsSerializer(serializers.Serializer):
    moves_up = serializers.IntegerField()
    continues = serializers.IntegerField(help_text="Primary 6 going on to junior 1 at the same school.")
    graduates = serializers.IntegerField()
    expected = serializers.IntegerField(help_text="Graduates expected in grade 1 of the next stage.")
    decisions = serializers.IntegerField()


class RolloverExpectedSerializer(serializers.Serializer):
    from_stage = serializers.CharField()
    to = serializers.CharField()
    to_display = serializers.CharField()
    count = serializers.IntegerField()


class RolloverRowSerializer(serializers.Serializer):
    school = serializers.IntegerField()
    school_code = serializers.CharField()
    school_name = serializers.CharField()
    stage = serializers.CharField()
    stage_display = serializers.CharField()
    moves_up = serializers.IntegerField()
    continues = serializers.IntegerField()
    graduates = serializers.IntegerField()
    expected = serializers.IntegerField()
    expected_in = serializers.CharField()
    decisions = serializers.IntegerField()


class RolloverDecisionSerializer(serializers.Serializer):
    student = serializers.IntegerField()
    name = serializers.CharField()
    school = serializers.IntegerField()
    school_name = serializers.CharField()
    stage = serializers.CharField()
    stage_display = serializers.CharField()
    grade = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=rollover.REASON_CODES)
    reason_display = serializers.CharField()


class RolloverPreviewSerializer(serializers.Serializer):
    school_year = serializers.IntegerField()
    effective_on = serializers.DateField()
    fingerprint = serializers.CharField()
    totals = RolloverTotalsSerializer()
    expected = RolloverExpectedSerializer(many=True)
    schools = RolloverRowSerializer(many=True)
    decisions = RolloverDecisionSerializer(many=True)


class RolloverSerializer(serializers.ModelSerializer):
    """A roll-over as every role may read it: the year, its state and its totals. The totals are the county's
    for bureau staff and officials, and those of the user's own schools for a township officer or a principal
    (who confirms the school's list: `confirm/`, `confirmations/`)."""

    status_display = serializers.CharField(source="get_status_display", read_only=True)
    totals = serializers.SerializerMethodField(
        help_text="The county's counts, or those of the user's schools (township officers, principals)."
    )
    rolled = serializers.SerializerMethodField(
        help_text="Children rolled over, in the same scope as `totals`."
    )

    def _counts(self, obj) -> dict:
        seen = self.context.setdefault("counts_seen", {})
        if obj.pk not in seen:
            seen[obj.pk] = rollover.counts_seen_by(obj, self.context["request"].user)
        return seen[obj.pk]

    @extend_schema_field(RolloverTotalsSerializer)
    def get_totals(self, obj) -> dict:
        return self._counts(obj)["totals"]

    def get_rolled(self, obj) -> int:
        return self._counts(obj)["rolled"]

    class Meta:
        model = Rollover
        fields = [
            "id",
            "school_year",
            "status",
            "status_display",
            "message",
            "applied_at",
            "undone_at",
            "rolled",
            "totals",
        ]
        read_only_fields = fields


class RolloverDetailSerializer(RolloverSerializer):
    """The bureau's answer to an apply or an undo: with what was previewed (the decisions name children)."""

    summary = RolloverPreviewSerializer(read_only=True)

    class Meta(RolloverSerializer.Meta):
        fields = [*RolloverSerializer.Meta.fields, "summary"]
        read_only_fields = fields


class RolloverConfirmRequestSerializer(serializers.Serializer):
    school_year = serializers.IntegerField(min_value=2000, max_value=2100)
    school = serializers.IntegerField(help_text="The principal's own school.")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RolloverConfirmationSerializer(serializers.ModelSerializer):
    school_year = serializers.IntegerField(source="rollover.school_year", read_only=True)
    school_name = serializers.CharField(source="school.name", read_only=True)

    class Meta:
        model = RolloverConfirmation
        fields = ["id", "school_year", "school", "school_name", "pupils", "note", "confirmed_at"]
        read_only_fields = fields


class RolloverViewSet(viewsets.GenericViewSet):
    """The autumn roll-over: `POST` previews (`apply: false`) or applies it; the bureau's work. Principals
    confirm their school's list after it (`confirm/`)."""

    serializer_class = RolloverSerializer
    pagination_class = None

    def get_queryset(self):
        return Rollover.objects.visible_to(self.request.user).order_by("-school_year", "-applied_at")

    def _bureau_only(self, request) -> None:
        if not can_roll_over(request.user):
            raise PermissionDenied(_("Only bureau staff may open a school year."))

    @extend_schema(responses=RolloverSerializer(many=True))
    def list(self, request):
        """Every roll-over applied (and undone), newest first."""
        return Response(
            RolloverSerializer(self.get_queryset(), many=True, context=self.get_serializer_context()).data
        )

    @extend_schema(responses={200: RolloverSerializer, **READ_ERRORS})
    def retrieve(self, request, pk=None):
        """One roll-over: follow a large apply here until `status` is `applied` (or `failed`, with `message`)."""
        return Response(RolloverSerializer(self.get_object(), context=self.get_serializer_context()).data)

    @extend_schema(
        request=RolloverRequestSerializer,
        responses={
            200: RolloverPreviewSerializer,
            201: RolloverDetailSerializer,
            202: OpenApiResponse(
                RolloverDetailSerializer,
                description="A large county: applied by a task. `status` is `applying`; follow "
                "`GET /api/students/rollover/{id}/` (the Location header) until `applied` or `failed`.",
            ),
            **WRITE_ERRORS,
        },
    )
    def create(self, request):
        """Preview (`apply: false`, 200) or apply (`apply: true`: 201 written, or 202 being written by a task)
        the roll-over of a school year."""
        self._bureau_only(request)
        params = RolloverRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        if not data["apply"]:
            with service_errors():
                preview = rollover.preview(school_year=data["school_year"])
            return Response(RolloverPreviewSerializer(preview).data)
        applied = call_service(
            rollover.rollover_apply,
            school_year=data["school_year"],
            fingerprint=data.get("fingerprint", ""),
            by=request.user,
        )
        if applied.status == Rollover.Status.APPLYING:
            follow = reverse("rollover-detail", args=[applied.pk], request=request)
            return Response(
                RolloverDetailSerializer(applied, context=self.get_serializer_context()).data,
                status=status.HTTP_202_ACCEPTED,
                headers={"Location": follow},
            )
        return Response(
            RolloverDetailSerializer(applied, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=RolloverYearSerializer, responses={200: RolloverDetailSerializer, **WRITE_ERRORS})
    @action(detail=False, methods=["post"])
    def undo(self, request):
        """Undo a school year's roll-over, until the first change of the new year."""
        self._bureau_only(request)
        params = RolloverYearSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        undone = call_service(
            rollover.rollover_undo, school_year=params.validated_data["school_year"], by=request.user
        )
        return Response(RolloverDetailSerializer(undone, context=self.get_serializer_context()).data)

    @extend_schema(
        request=RolloverConfirmRequestSerializer,
        responses={201: RolloverConfirmationSerializer, **DETAIL_WRITE_ERRORS},
    )
    @action(detail=False, methods=["post"])
    def confirm(self, request):
        """A principal confirms the school's list after the roll-over (another school: 404)."""
        params = RolloverConfirmRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        school = get_object_or_404(School.objects.visible_to(request.user), pk=data["school"])
        confirmation = call_service(
            rollover.rollover_confirm,
            school_year=data["school_year"],
            school=school,
            note=data["note"],
            by=request.user,
        )
        return Response(RolloverConfirmationSerializer(confirmation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[RolloverYearQuerySerializer], responses=RolloverConfirmationSerializer(many=True)
    )
    @action(detail=False, methods=["get"])
    def confirmations(self, request):
        """The schools' confirmations of the roll-overs in force, of one school year if asked (each role sees
        its own schools')."""
        params = RolloverYearQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        rows = RolloverConfirmation.objects.visible_to(request.user).filter(
            rollover__status=Rollover.Status.APPLIED
        )
        if params.validated_data.get("school_year"):
            rows = rows.filter(rollover__school_year=params.validated_data["school_year"])
        rows = rows.select_related("rollover", "school").order_by("-rollover__school_year", "school__code")
        return Response(RolloverConfirmationSerializer(rows, many=True).data)
