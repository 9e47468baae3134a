"""REST API of dropout control. Querysets are scoped by portal.access; every write goes through a service."""

from __future__ import annotations

from datetime import date

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from dropout_control import ledger, matching, selectors, services
from dropout_control.filters import CareRecordFilter, CaseFilter, LongAbsenceFilter, SuspectFilter
from dropout_control.models import (
    CareRecord,
    CasePeriod,
    ClosingRequest,
    DropoutCase,
    HomeTeachingVisit,
    HouseholdRegisterUpload,
    LongAbsence,
    PersuasionVisit,
    ReturnWatch,
    SuspectedDropout,
    TeamMember,
    WatchConfirmation,
    ZeroReport,
)
from portal.access import can_confirm_case_closing, can_file_zero_report, can_reveal_personal, is_bureau_staff
from portal.api import LoggedRetrieveMixin, service_errors
from portal.params import query_int, query_year
from students.models import School, Stage, Student, Township

DETAIL_PREFETCH = (
    "team",
    "visits",
    "home_visits",
    "periods",
    "watches__confirmations",
    "watches__school",
    "closing_requests",
)


def case_response(view, case: DropoutCase, code=status.HTTP_200_OK) -> Response:
    """The case after an action, as its detail reads (stage and the prefetched lists), in one shape."""
    case = DropoutCase.objects.with_stage().prefetch_related(*DETAIL_PREFETCH).get(pk=case.pk)
    return Response(CaseDetailSerializer(case, context=view.get_serializer_context()).data, status=code)


class TeamMemberSerializer(serializers.ModelSerializer):
    is_first_responsible = serializers.BooleanField(read_only=True)

    class Meta:
        model = TeamMember
        fields = ["role", "name", "phone", "is_first_responsible"]
        validators: list = []


class PersuasionVisitSerializer(serializers.ModelSerializer):
    class Meta:
        model = PersuasionVisit
        fields = ["id", "visited_on", "visitors", "result", "next_step", "next_on"]


class HomeVisitSerializer(serializers.ModelSerializer):
    class Meta:
        model = HomeTeachingVisit
        fields = ["id", "visited_on", "teacher", "hours", "content"]


class CasePeriodSerializer(serializers.ModelSerializer):
    class Meta:
        model = CasePeriod
        fields = ["opened_on", "closed_on", "outcome", "reopen_reason", "late_reason"]


class WatchConfirmationSerializer(serializers.ModelSerializer):
    month = serializers.DateField(help_text="Any day of the month confirmed (stored as its first day).")

    class Meta:
        model = WatchConfirmation
        fields = ["id", "month", "attended", "note", "confirmed_at"]
        read_only_fields = ["confirmed_at"]


class ReturnWatchSerializer(serializers.ModelSerializer):
    confirmations = WatchConfirmationSerializer(many=True, read_only=True)
    school_name = serializers.CharField(source="school.name", read_only=True)

    class Meta:
        model = ReturnWatch
        fields = [
            "id",
            "student",
            "school",
            "school_name",
            "returned_on",
            "late_reason",
            "watch_until",
            "status",
            "ended_on",
            "end_reason",
            "confirmations",
        ]


class ClosingRequestSerializer(serializers.ModelSerializer):
    case_name = serializers.CharField(source="case.name", read_only=True)

    class Meta:
        model = ClosingRequest
        fields = [
            "id",
            "case",
            "case_name",
            "outcome",
            "on",
            "outcome_school",
            "outcome_note",
            "home_teacher",
            "home_schedule",
            "home_visits_per_month",
            "home_hours_per_term",
            "committee_decided_on",
            "committee_decision",
            "committee_document",
            "proof",
            "status",
            "requested_at",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class ClaimedDateSerializer(serializers.Serializer):
    what = serializers.ChoiceField(choices=["found_on", "returned_on", "watch_month", "closing_on"])
    label = serializers.CharField()
    claimed = serializers.DateField(help_text="The date the record claims (a month's last day for a month).")
    recorded = serializers.DateField(help_text="The day it was written into the portal.")
    backdated = serializers.BooleanField(help_text="Recorded more than 30 days after the date it claims.")
    reason = serializers.CharField(help_text="The written reason for a late entry, if any.")


class ClosingRequestDetailSerializer(ClosingRequestSerializer):
    """One closing request as the bureau checks it: each date of the case claimed against its recording."""

    dates = serializers.SerializerMethodField()

    class Meta(ClosingRequestSerializer.Meta):
        fields = [*ClosingRequestSerializer.Meta.fields, "dates"]
        read_only_fields = fields

    @extend_schema_field(ClaimedDateSerializer(many=True))
    def get_dates(self, obj: ClosingRequest) -> list[dict]:
        return ClaimedDateSerializer(selectors.closing_dates(obj), many=True).data


class CaseSerializer(serializers.ModelSerializer):
    """Lists carry the masked ID number; the full number only goes in (and out to writing roles in detail)."""

    id_number = serializers.CharField(write_only=True, max_length=18, required=False)
    id_number_masked = serializers.CharField(source="masked_id_number", read_only=True)
    student = serializers.PrimaryKeyRelatedField(
        queryset=Student.objects.all(), required=False, allow_null=True
    )
    township = serializers.PrimaryKeyRelatedField(queryset=Township.objects.all(), required=False)
    school = serializers.PrimaryKeyRelatedField(
        queryset=School.objects.all(), required=False, allow_null=True
    )
    township_name = serializers.CharField(source="township.name", read_only=True)
    school_name = serializers.CharField(source="school.name", read_only=True, default=None)
    last_visit = serializers.DateField(read_only=True, default=None)
    case_stage = serializers.ChoiceField(source="stage", choices=DropoutCase.Stage.choices, read_only=True)

    class Meta:
        model = DropoutCase
        fields = [
            "id",
            "case_stage",
            "student",
            "id_number",
            "id_number_masked",
            "name",
            "township",
            "township_name",
            "village",
            "school",
            "school_name",
            "found_on",
            "found_by",
            "found_late_reason",
            "reason",
            "reason_detail",
            "age_exception",
            "guardian_name",
            "guardian_phone",
            "status",
            "outcome",
            "outcome_on",
            "outcome_school",
            "outcome_note",
            "home_teacher",
            "home_schedule",
            "home_visits_per_month",
            "home_hours_per_term",
            "committee_decided_on",
            "committee_decision",
            "committee_document",
            "last_visit",
        ]
        read_only_fields = [
            "status",
            "outcome",
            "outcome_on",
            "outcome_school",
            "outcome_note",
            "home_teacher",
            "home_schedule",
            "home_visits_per_month",
            "home_hours_per_term",
            "committee_decided_on",
            "committee_decision",
            "committee_document",
        ]
        extra_kwargs = {"name": {"required": False}}
        validators: list = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "student" in self.fields:
            # A case is opened for a student the user can see: no probing of others' registries by pk.
            self.fields["student"].queryset = Student.objects.visible_to(request.user)


class CaseDetailSerializer(CaseSerializer):
    id_number_full = serializers.SerializerMethodField()
    team = TeamMemberSerializer(many=True, read_only=True)
    visits = PersuasionVisitSerializer(many=True, read_only=True)
    home_visits = HomeVisitSerializer(many=True, read_only=True)
    periods = CasePeriodSerializer(many=True, read_only=True)
    watches = ReturnWatchSerializer(many=True, read_only=True)
    closing_requests = ClosingRequestSerializer(many=True, read_only=True)

    class Meta(CaseSerializer.Meta):
        fields = [
            *CaseSerializer.Meta.fields,
            "id_number_full",
            "team",
            "visits",
            "home_visits",
            "periods",
            "watches",
            "closing_requests",
        ]

    def get_id_number_full(self, obj: DropoutCase) -> str | None:
        """Only when asked for (`?reveal=id`) by a role that may reveal it; the view logs it."""
        request = self.context.get("request")
        if request is None or request.query_params.get("reveal") != "id":
            return None
        return obj.id_number if can_reveal_personal(request.user, obj) else None


class CaseTeamInputSerializer(serializers.Serializer):
    members = TeamMemberSerializer(many=True)


class CaseCloseInputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=DropoutCase.Outcome.choices, required=False, allow_blank=True)
    on = serializers.DateField(required=False)
    outcome_school = serializers.PrimaryKeyRelatedField(
        queryset=School.objects.all(), required=False, allow_null=True
    )
    outcome_note = serializers.CharField(required=False, allow_blank=True, max_length=500)
    home_teacher = serializers.CharField(required=False, allow_blank=True, max_length=50)
    home_schedule = serializers.CharField(required=False, allow_blank=True, max_length=200)
    home_visits_per_month = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=31
    )
    home_hours_per_term = serializers.DecimalField(
        required=False, allow_null=True, max_digits=5, decimal_places=1, min_value=0
    )
    committee_decided_on = serializers.DateField(required=False, allow_null=True)
    committee_decision = serializers.CharField(required=False, allow_blank=True, max_length=300)
    committee_document = serializers.CharField(required=False, allow_blank=True, max_length=100)
    proof = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="The paper that proves the outcome (needed, as for a closing request).",
    )


class ClosingRequestInputSerializer(CaseCloseInputSerializer):
    proof = serializers.CharField(allow_blank=True, max_length=300)


class CaseReturnInputSerializer(serializers.Serializer):
    school = serializers.PrimaryKeyRelatedField(queryset=School.objects.all())
    on = serializers.DateField(required=False)
    stage = serializers.ChoiceField(
        choices=Stage.choices,
        required=False,
        allow_blank=True,
        help_text="Primary, junior or special: needed when the child is not on the register yet.",
    )
    grade = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=9)
    late_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="Why a return more than 30 days ago is recorded only now (a school or township must say).",
    )


class DecisionInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class CaseReopenInputSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, max_length=300)
    on = serializers.DateField(required=False)
    late_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="Why a reopening more than 30 days ago is recorded only now (a school or township must say).",
    )


class CaseViewSet(
    LoggedRetrieveMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Dropout cases: open, correct, visit, set the team, close with an outcome, reopen, log home teaching."""

    filterset_class = CaseFilter
    ordering_fields = ["found_on", "name"]
    WRITE_ACTIONS = (
        "update",
        "partial_update",
        "visits",
        "team",
        "close",
        "reopen",
        "home_visits",
        "return_to_school",
        "confirmations",
        "closing_request",
    )

    def get_serializer_class(self):
        action_serializers = {
            "retrieve": CaseDetailSerializer,
            "visits": PersuasionVisitSerializer,
            "team": CaseTeamInputSerializer,
            "close": CaseCloseInputSerializer,
            "reopen": CaseReopenInputSerializer,
            "home_visits": HomeVisitSerializer,
            "return_to_school": CaseReturnInputSerializer,
            "confirmations": WatchConfirmationSerializer,
            "closing_request": ClosingRequestInputSerializer,
        }
        return action_serializers.get(self.action, CaseSerializer)

    def get_queryset(self):
        if self.action in self.WRITE_ACTIONS:
            return DropoutCase.objects.editable_by(self.request.user)
        qs = (
            DropoutCase.objects.visible_to(self.request.user)
            .select_related("township", "school")
            .with_stage()
        )
        if self.action == "list":
            qs = qs.annotate(last_visit=Max("visits__visited_on"))
        if self.action == "retrieve":
            qs = qs.prefetch_related(*DETAIL_PREFETCH)
        return qs.order_by("-found_on", "-pk")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        if data.get("student") is None and not data.get("id_number"):
            raise ValidationError({"id_number": ["请填写身份证号，或选择学籍中的学生。"]})
        with service_errors():
            serializer.instance = services.case_open(by=self.request.user, **data)

    def perform_update(self, serializer):
        data = {k: v for k, v in serializer.validated_data.items() if k in services.CASE_EDITABLE_FIELDS}
        with service_errors():
            serializer.instance = services.case_update(case=serializer.instance, by=self.request.user, **data)

    def _respond(self, case: DropoutCase, code=status.HTTP_200_OK):
        return case_response(self, case, code)

    @extend_schema(request=PersuasionVisitSerializer, responses={201: PersuasionVisitSerializer})
    @action(detail=True, methods=["post"])
    def visits(self, request, pk=None):
        serializer = PersuasionVisitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            visit = services.case_add_visit(
                case=self.get_object(), by=request.user, **serializer.validated_data
            )
        return Response(PersuasionVisitSerializer(visit).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CaseTeamInputSerializer, responses={200: CaseDetailSerializer})
    @action(detail=True, methods=["put"])
    def team(self, request, pk=None):
        serializer = CaseTeamInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        members = {m["role"]: (m["name"], m["phone"]) for m in serializer.validated_data["members"]}
        case = self.get_object()
        with service_errors():
            services.case_set_team(case=case, members=members, by=request.user)
        return self._respond(case)

    @extend_schema(request=CaseCloseInputSerializer, responses={200: CaseDetailSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        serializer = CaseCloseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.setdefault("outcome", "")
        with service_errors():
            case = services.case_close(case=self.get_object(), by=request.user, **data)
        return self._respond(case)

    @extend_schema(request=ClosingRequestInputSerializer, responses={201: ClosingRequestSerializer})
    @action(detail=True, methods=["post"], url_path="closing-request")
    def closing_request(self, request, pk=None):
        """The township or the school asks the bureau to close the case (销号), with the proof."""
        serializer = ClosingRequestInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.setdefault("outcome", "")
        with service_errors():
            closing = services.case_close_request(case=self.get_object(), by=request.user, **data)
        return Response(ClosingRequestSerializer(closing).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CaseReturnInputSerializer, responses={200: CaseDetailSerializer})
    @action(detail=True, methods=["post"], url_path="return")
    def return_to_school(self, request, pk=None):
        """The child is back at school (劝返复学): placed on the register there and watched."""
        serializer = CaseReturnInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            watch = services.case_return(case=self.get_object(), by=request.user, **serializer.validated_data)
        return self._respond(watch.case)

    @extend_schema(request=WatchConfirmationSerializer, responses={201: WatchConfirmationSerializer})
    @action(detail=True, methods=["post"])
    def confirmations(self, request, pk=None):
        """The school's monthly word on a watched child: attended or not (not raises the case again)."""
        serializer = WatchConfirmationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            confirmation = services.watch_confirm_month(
                case=self.get_object(), by=request.user, **serializer.validated_data
            )
        return Response(WatchConfirmationSerializer(confirmation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CaseReopenInputSerializer, responses={200: CaseDetailSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        serializer = CaseReopenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            case = services.case_reopen(case=self.get_object(), by=request.user, **serializer.validated_data)
        return self._respond(case)

    @extend_schema(request=HomeVisitSerializer, responses={201: HomeVisitSerializer})
    @action(detail=True, methods=["post"], url_path="home-visits")
    def home_visits(self, request, pk=None):
        serializer = HomeVisitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            visit = services.home_teaching_log_add(
                case=self.get_object(), by=request.user, **serializer.validated_data
            )
        return Response(HomeVisitSerializer(visit).data, status=status.HTTP_201_CREATED)


class ClosingRequestViewSet(viewsets.ReadOnlyModelViewSet):
    """Closing requests (销号申请): the township or school asks, the bureau confirms or sends back."""

    serializer_class = ClosingRequestSerializer
    write_allowed = staticmethod(can_confirm_case_closing)

    def get_serializer_class(self):
        if self.action in ("confirm", "reject"):
            return DecisionInputSerializer
        return ClosingRequestDetailSerializer if self.action == "retrieve" else ClosingRequestSerializer

    def get_queryset(self):
        qs = ClosingRequest.objects.visible_to(self.request.user).select_related("case")
        wanted = self.request.query_params.get("status")
        if wanted in ClosingRequest.Status.values:
            qs = qs.filter(status=wanted)
        return qs.order_by("-requested_at", "-pk")

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=ClosingRequest.Status.values)],
        responses={200: ClosingRequestSerializer(many=True)},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=DecisionInputSerializer, responses={200: CaseDetailSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """The bureau confirms: the case closes with the outcome asked for."""
        serializer = DecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            case = services.case_close_confirm(
                request=self.get_object(), by=request.user, **serializer.validated_data
            )
        return case_response(self, case)

    @extend_schema(request=DecisionInputSerializer, responses={200: ClosingRequestSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """The bureau sends the request back, saying why; the case stays open."""
        serializer = DecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            closing = services.case_close_reject(
                request=self.get_object(), by=request.user, note=serializer.validated_data.get("note", "")
            )
        return Response(ClosingRequestSerializer(closing).data)


class ZeroReportSerializer(serializers.ModelSerializer):
    month = serializers.DateField(help_text="Any day of the month reported (stored as its first day).")
    school = serializers.PrimaryKeyRelatedField(
        queryset=School.objects.all(), required=False, allow_null=True
    )
    township = serializers.PrimaryKeyRelatedField(
        queryset=Township.objects.all(), required=False, allow_null=True
    )
    school_name = serializers.CharField(source="school.name", read_only=True, default=None)
    township_name = serializers.CharField(source="township.name", read_only=True, default=None)

    class Meta:
        model = ZeroReport
        fields = [
            "id",
            "month",
            "school",
            "school_name",
            "township",
            "township_name",
            "reported_at",
            "withdrawn_at",
            "withdrawn_reason",
        ]
        read_only_fields = ["reported_at", "withdrawn_at", "withdrawn_reason"]
        validators: list = []


class ZeroReportStatusRowSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["school", "township"])
    id = serializers.IntegerField()
    name = serializers.CharField()
    township = serializers.CharField()
    state = serializers.ChoiceField(choices=["reported", "has_cases", "missing"])
    withdrawn = serializers.BooleanField(
        help_text="A zero report was filed for the month and withdrawn: a case open in it was recorded later."
    )


class ZeroReportViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The monthly zero report (零报告): schools and townships with no case confirm "无辍学" for the month;
    `status/` tells the bureau who has reported, who has cases and who has not reported."""

    serializer_class = ZeroReportSerializer
    write_allowed = staticmethod(can_file_zero_report)

    def get_queryset(self):
        qs = ZeroReport.objects.visible_to(self.request.user).select_related("school", "township")
        month = _month_param(self.request.query_params)
        if month is not None:
            qs = qs.filter(month=month)
        return qs.order_by("-month", "pk")

    @extend_schema(
        parameters=[OpenApiParameter("month", str, description="YYYY-MM")],
        responses={200: ZeroReportSerializer(many=True)},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer):
        with service_errors():
            serializer.instance = services.zero_report_file(by=self.request.user, **serializer.validated_data)

    @extend_schema(
        parameters=[OpenApiParameter("month", str, description="YYYY-MM, default this month")],
        responses={200: ZeroReportStatusRowSerializer(many=True)},
    )
    @action(detail=False, methods=["get"])
    def status(self, request):
        """Every school and township the user sees, with the month's state: reported, has cases, missing."""
        month = _month_param(request.query_params) or timezone.localdate().replace(day=1)
        rows = selectors.zero_report_status(request.user, month)
        return Response(ZeroReportStatusRowSerializer(rows, many=True).data)


def _month_param(params) -> date | None:
    raw = params.get("month", "")
    if not raw:
        return None
    try:
        year, month = (int(x) for x in raw.split("-")[:2])
        if not 2000 <= year <= 2100:
            raise ValueError(year)
        return date(year, month, 1)
    except ValueError as exc:
        raise ValidationError({"month": [_("Give the month as YYYY-MM.")]}) from exc


class SuspectSerializer(serializers.ModelSerializer):
    """The birth date only for a user who may reveal the child's number (with the masked number it would
    rebuild it); everyone gets the birth year."""

    id_number_masked = serializers.CharField(source="masked_id_number", read_only=True)
    birth_date = serializers.SerializerMethodField()
    birth_year = serializers.IntegerField(source="birth_date.year", read_only=True)
    township_name = serializers.CharField(source="township.name", read_only=True, default=None)
    upload = serializers.IntegerField(source="row.upload_id", read_only=True)

    class Meta:
        model = SuspectedDropout
        fields = [
            "id",
            "upload",
            "id_number_masked",
            "name",
            "township",
            "township_name",
            "village",
            "birth_date",
            "birth_year",
            "is_poverty_family",
            "long_absent_student",
            "status",
            "clear_reason",
            "note",
            "case",
            "decided_on",
        ]
        read_only_fields = fields

    def get_birth_date(self, obj: SuspectedDropout) -> date | None:
        request = self.context.get("request")
        if request is None or not can_reveal_personal(request.user):
            return None
        return obj.birth_date


class SuspectConfirmInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=DropoutCase.Reason.choices)
    found_on = serializers.DateField(required=False)
    found_late_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="Why a date found more than 30 days ago is recorded only now (a school or township must say).",
    )
    school = serializers.PrimaryKeyRelatedField(
        queryset=School.objects.all(), required=False, allow_null=True
    )
    reason_detail = serializers.CharField(required=False, allow_blank=True, max_length=300)
    township = serializers.PrimaryKeyRelatedField(
        queryset=Township.objects.all(),
        required=False,
        allow_null=True,
        help_text="Where the child lives, for a child the list placed in a township the county does not know.",
    )


class SuspectClearInputSerializer(serializers.Serializer):
    clear_reason = serializers.ChoiceField(choices=SuspectedDropout.ClearReason.given_by_clerks())
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class SuspectViewSet(LoggedRetrieveMixin, viewsets.ReadOnlyModelViewSet):
    """Suspected dropouts (疑似辍学) from the household-register comparison: confirm into a case, or clear."""

    filterset_class = SuspectFilter

    def get_serializer_class(self):
        return {"confirm": SuspectConfirmInputSerializer, "clear": SuspectClearInputSerializer}.get(
            self.action, SuspectSerializer
        )

    def get_queryset(self):
        if self.action in ("confirm", "clear"):
            return SuspectedDropout.objects.editable_by(self.request.user)
        return (
            SuspectedDropout.objects.visible_to(self.request.user)
            .select_related("township", "row")
            .order_by("-is_poverty_family", "township_id", "name", "pk")
        )

    @extend_schema(request=SuspectConfirmInputSerializer, responses={201: CaseDetailSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        serializer = SuspectConfirmInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            case = services.suspect_confirm(
                suspect=self.get_object(), by=request.user, **serializer.validated_data
            )
        return case_response(self, case, status.HTTP_201_CREATED)

    @extend_schema(request=SuspectClearInputSerializer, responses={200: SuspectSerializer})
    @action(detail=True, methods=["post"])
    def clear(self, request, pk=None):
        serializer = SuspectClearInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            suspect = services.suspect_clear(
                suspect=self.get_object(), by=request.user, **serializer.validated_data
            )
        return Response(SuspectSerializer(suspect, context=self.get_serializer_context()).data)


class RegisterUploadSerializer(serializers.ModelSerializer):
    file = serializers.FileField(write_only=True)

    class Meta:
        model = HouseholdRegisterUpload
        fields = [
            "id",
            "file",
            "file_name",
            "as_of",
            "status",
            "total_rows",
            "processed_rows",
            "message",
            "problems",
            "row_count",
            "of_age_count",
            "suspect_count",
            "kept_count",
            "uploaded_at",
        ]
        read_only_fields = [f for f in fields if f not in ("file", "as_of")]


class UploadViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Household-register lists (户籍), uploaded by bureau staff as .xlsx: a small one compared at once, a
    large one by a task (`status`, `processed_rows` of `total_rows`: poll the upload until it is finished)."""

    serializer_class = RegisterUploadSerializer
    parser_classes = [MultiPartParser, FormParser]
    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        return HouseholdRegisterUpload.objects.visible_to(self.request.user).order_by("-uploaded_at")

    def perform_create(self, serializer):
        file = serializer.validated_data["file"]
        with service_errors():
            serializer.instance = matching.household_register_start(
                file=file, file_name=file.name, as_of=serializer.validated_data["as_of"], by=self.request.user
            )


class DropoutLedgerRowSerializer(serializers.Serializer):
    township = serializers.CharField()
    school = serializers.CharField()
    open_at_start = serializers.IntegerField()
    new = serializers.IntegerField()
    closed = serializers.IntegerField()
    open_at_end = serializers.IntegerField()


class DropoutLedgerSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    month = serializers.IntegerField()
    rows = DropoutLedgerRowSerializer(many=True)
    total = DropoutLedgerRowSerializer()


class LedgerViewSet(viewsets.ViewSet):
    """The monthly ledger (台账): per township and school, open at start + new − closed = open at end."""

    @extend_schema(
        parameters=[
            OpenApiParameter("year", int, description="Year, default this year"),
            OpenApiParameter("month", int, description="Month 1-12, default this month"),
        ],
        responses={200: DropoutLedgerSerializer},
    )
    def list(self, request):
        today = timezone.localdate()
        year = query_year(request.query_params) or today.year
        month = query_int(request.query_params, "month", low=1, high=12) or today.month
        result = ledger.monthly_ledger(year=year, month=month, user=request.user)
        return Response(DropoutLedgerSerializer(result).data)


class OpenCaseSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="case.pk")
    name = serializers.CharField(source="case.name")
    days_open = serializers.IntegerField(source="days")


class TownshipOpenSerializer(serializers.Serializer):
    township = serializers.CharField()
    township_id = serializers.IntegerField()
    count = serializers.IntegerField()
    cases = OpenCaseSerializer(many=True)


class OverdueCaseSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="case.pk")
    name = serializers.CharField(source="case.name")
    township = serializers.CharField(source="case.township.name")
    days_since_contact = serializers.IntegerField(source="days")


class DropoutDashboardSerializer(serializers.Serializer):
    open_total = serializers.IntegerField()
    home_teaching = serializers.IntegerField()
    by_township = TownshipOpenSerializer(many=True)
    overdue = OverdueCaseSerializer(many=True)


class DashboardViewSet(viewsets.ViewSet):
    """Open cases by township with days open, and the cases with no visit in 30 days."""

    @extend_schema(responses={200: DropoutDashboardSerializer})
    def list(self, request):
        return Response(DropoutDashboardSerializer(selectors.dashboard_figures(request.user)).data)


class LongAbsenceSerializer(serializers.ModelSerializer):
    student_name = serializers.CharField(source="student.name", read_only=True)
    school_name = serializers.CharField(source="student.school.name", read_only=True)

    class Meta:
        model = LongAbsence
        fields = ["id", "student", "student_name", "school_name", "since", "ended_on", "note"]
        read_only_fields = ["ended_on"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "student" in self.fields:
            self.fields["student"].queryset = Student.objects.editable_by(request.user)


class LongAbsenceEndSerializer(serializers.Serializer):
    on = serializers.DateField(required=False)


class LongAbsenceViewSet(LoggedRetrieveMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Pupils on a school's roll who stopped attending: schools mark them, the comparison lists them."""

    logged_record = "student"

    filterset_class = LongAbsenceFilter

    def get_serializer_class(self):
        return LongAbsenceEndSerializer if self.action == "end" else LongAbsenceSerializer

    def get_queryset(self):
        if self.action == "end":
            return LongAbsence.objects.editable_by(self.request.user)
        return (
            LongAbsence.objects.visible_to(self.request.user)
            .select_related("student__school")
            .order_by("-since", "pk")
        )

    def perform_create(self, serializer):
        with service_errors():
            serializer.instance = services.long_absence_mark(
                by=self.request.user, **serializer.validated_data
            )

    @extend_schema(request=LongAbsenceEndSerializer, responses={200: LongAbsenceSerializer})
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        serializer = LongAbsenceEndSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        on = serializer.validated_data.get("on") or timezone.localdate()
        with service_errors():
            absence = services.long_absence_end(absence=self.get_object(), on=on, by=request.user)
        return Response(LongAbsenceSerializer(absence).data)


class CareRecordSerializer(serializers.ModelSerializer):
    student_name = serializers.CharField(source="student.name", read_only=True)

    class Meta:
        model = CareRecord
        fields = ["id", "student", "student_name", "visited_on", "teacher", "kind", "content"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "student" in self.fields:
            self.fields["student"].queryset = Student.objects.editable_by(request.user)


class CareRecordViewSet(LoggedRetrieveMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Care records of left-behind and disadvantaged children (万师访万家)."""

    logged_record = "student"

    serializer_class = CareRecordSerializer
    filterset_class = CareRecordFilter

    def get_queryset(self):
        return selectors.care_records(self.request.user).order_by("-visited_on", "-pk")

    def perform_create(self, serializer):
        with service_errors():
            serializer.instance = services.care_record_add(by=self.request.user, **serializer.validated_data)


class CareRosterSerializer(serializers.ModelSerializer):
    id_number_masked = serializers.CharField(source="masked_id_number", read_only=True)
    school_name = serializers.CharField(source="school.name", read_only=True)
    care_flags = serializers.SerializerMethodField()
    care_count = serializers.IntegerField(read_only=True)
    last_care = serializers.DateField(read_only=True)

    class Meta:
        model = Student
        fields = [
            "id",
            "name",
            "id_number_masked",
            "school",
            "school_name",
            "stage",
            "grade",
            "care_flags",
            "care_count",
            "last_care",
        ]

    def get_care_flags(self, obj: Student) -> list[str]:
        return sorted({c.category for c in obj.care_categories})


class CareRosterViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Left-behind children and children in difficulty per school, from the registry's care flags."""

    serializer_class = CareRosterSerializer
    # The roster is paged before its per-child figures are counted, so it sorts by the child's own fields.
    ordering_fields = ["name", "stage", "grade", "school"]

    def get_queryset(self):
        return selectors.care_roster(self.request.user)

    def list(self, request, *args, **kwargs):
        """Page the plain roster, then count care records for that page only (flat in the roster's size)."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        rows = selectors.care_roster_rows(page)
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)
