"""REST API of the aid area under /api/subsidies/. Querysets are scoped by portal.access; writes go through
subsidies.services, so the API and the pages refuse the same things with the same messages."""

from __future__ import annotations

from decimal import Decimal

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from portal.access import can_keep_out_of_county_ledger, can_run_data_matching, is_bureau_staff
from portal.api import LoggedRetrieveMixin, call_service
from students.models import Student
from subsidies import matching, selectors, services
from subsidies.filters import BatchFilter, LoanFilter, OutOfCountyFilter, PaymentFilter, PolicyFilter
from subsidies.models import (
    AidExclusionGroup,
    AidPolicy,
    AidQuota,
    BankAccount,
    BatchEvent,
    CreditLoan,
    DisbursementBatch,
    MatchResult,
    MatchRun,
    OutOfCountyStudent,
    Payment,
)

# --- Policies -----------------------------------------------------------------------------------------


class PolicySerializer(serializers.ModelSerializer):
    # Null while the county has not entered the amount (no batch can draw the aid until then).
    amount_per_year = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, allow_null=True
    )
    amount_per_term = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, allow_null=True
    )

    class Meta:
        model = AidPolicy
        fields = ["id", *services.POLICY_FIELDS, "amount_per_year", "amount_per_term"]
        # The service checks overlaps and frozen rows, with the same messages as the pages.
        validators: list = []


class ExclusionGroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = AidExclusionGroup
        fields = ["id", "code", "name", "aid_types", "note"]


class ExclusionGroupViewSet(viewsets.ReadOnlyModelViewSet):
    """Aid types of which a student receives at most one in a term (the database refuses a second payment)."""

    serializer_class = ExclusionGroupSerializer
    pagination_class = None

    def get_queryset(self):
        return AidExclusionGroup.objects.visible_to(self.request.user).order_by("code")


class PolicyViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = PolicySerializer
    filterset_class = PolicyFilter
    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        if self.action in ("update", "partial_update"):
            return AidPolicy.objects.editable_by(self.request.user)
        return AidPolicy.objects.visible_to(self.request.user)

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.policy_create, by=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = call_service(
            services.policy_update,
            policy=serializer.instance,
            by=self.request.user,
            **serializer.validated_data,
        )


# --- Quotas -------------------------------------------------------------------------------------------


class QuotaSerializer(serializers.ModelSerializer):
    drawn = serializers.SerializerMethodField()
    remaining = serializers.SerializerMethodField()

    class Meta:
        model = AidQuota
        fields = ["id", "aid_type", "school_year", "term", "amount", "note", "drawn", "remaining"]
        validators: list = []

    # The list annotates `drawn` (AidQuota.objects.with_drawn): no query per quota.
    def get_drawn(self, obj) -> str:
        return str(selectors.quota_status_of(obj).drawn)

    def get_remaining(self, obj) -> str:
        return str(selectors.quota_status_of(obj).remaining)


class QuotaViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = QuotaSerializer
    filterset_fields = ["aid_type", "school_year", "term"]
    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        return (
            AidQuota.objects.visible_to(self.request.user)
            .with_drawn()
            .order_by("-school_year", "term", "aid_type")
        )

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.quota_set, by=self.request.user, **serializer.validated_data
        )


# --- Batches and payments -----------------------------------------------------------------------------


class BatchSerializer(serializers.ModelSerializer):
    aid_type_display = serializers.CharField(source="get_aid_type_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    person_times = serializers.IntegerField(read_only=True, default=0)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, default=Decimal("0.00")
    )

    class Meta:
        model = DisbursementBatch
        fields = [
            "id",
            "aid_type",
            "aid_type_display",
            "school_year",
            "term",
            "eligibility_date",
            "status",
            "status_display",
            "bank_reference",
            "paid_on",
            "person_times",
            "amount",
            "created_at",
        ]
        read_only_fields = ["eligibility_date", "status", "bank_reference", "paid_on", "created_at"]
        validators: list = []

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # Batches fresh from a write carry no annotation: count the user's part here.
        if not hasattr(instance, "person_times"):
            request = self.context["request"]
            totals = selectors.payment_totals(Payment.objects.visible_to(request.user).filter(batch=instance))
            data["person_times"], data["amount"] = totals.count, f"{totals.amount:.2f}"
        elif data["amount"] is None:
            data["amount"] = "0.00"
        return data


class TotalsRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class TotalsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    by = serializers.DictField(child=TotalsRowSerializer(many=True))


class ReasonSerializer(serializers.Serializer):
    student = serializers.IntegerField()
    reason = serializers.CharField(max_length=300)


class ApproveSerializer(serializers.Serializer):
    allow_over_quota = serializers.BooleanField(default=False)


class PaidSerializer(serializers.Serializer):
    bank_reference = serializers.CharField(max_length=60)
    paid_on = serializers.DateField()
    students = serializers.ListField(child=serializers.IntegerField(), required=False)


class BatchStepSerializer(serializers.ModelSerializer):
    by = serializers.CharField(source="by.username", default="", read_only=True)

    class Meta:
        model = BatchEvent
        fields = ["action", "from_status", "to_status", "student", "note", "by", "at"]


class BatchViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Batches: generate (POST), review (add/remove a student), approve, mark paid; totals by dimension."""

    serializer_class = BatchSerializer
    filterset_class = BatchFilter

    def get_queryset(self):
        user = self.request.user
        return (
            DisbursementBatch.objects.visible_to(user)
            .with_totals(Payment.objects.visible_to(user))
            .order_by("-school_year", "term", "aid_type")
        )

    def get_permissions(self):
        # Principals and township officers review their part (add/remove); every other write is bureau's.
        self.write_allowed = None if self.action in ("add_student", "remove_student") else is_bureau_staff
        return super().get_permissions()

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = call_service(
            services.batch_generate,
            by=self.request.user,
            aid_type=data["aid_type"],
            school_year=data["school_year"],
            term=data["term"],
        )

    def _student(self, request, pk: int) -> Student:
        return get_object_or_404(Student.objects.visible_to(request.user), pk=pk)

    @extend_schema(request=ApproveSerializer, responses=BatchSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        batch = self.get_object()
        params = ApproveSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        batch = call_service(services.batch_approve, batch=batch, by=request.user, **params.validated_data)
        return Response(self.get_serializer(batch).data)

    @extend_schema(request=PaidSerializer, responses=BatchSerializer)
    @action(detail=True, methods=["post"], url_path="mark-paid")
    def mark_paid(self, request, pk=None):
        batch = self.get_object()
        params = PaidSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        batch = call_service(
            services.batch_mark_paid,
            batch=batch,
            by=request.user,
            bank_reference=data["bank_reference"],
            paid_on=data["paid_on"],
            student_ids=data.get("students"),
        )
        return Response(self.get_serializer(batch).data)

    @extend_schema(request=ReasonSerializer, responses={201: None})
    @action(detail=True, methods=["post"], url_path="add-student")
    def add_student(self, request, pk=None):
        batch = self.get_object()
        params = ReasonSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        student = self._student(request, params.validated_data["student"])
        payment = call_service(
            services.batch_add_student,
            batch=batch,
            student=student,
            reason=params.validated_data["reason"],
            by=request.user,
        )
        return Response(
            PaymentSerializer(payment, context={"request": request}).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=ReasonSerializer, responses={204: None})
    @action(detail=True, methods=["post"], url_path="remove-student")
    def remove_student(self, request, pk=None):
        batch = self.get_object()
        params = ReasonSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        student = self._student(request, params.validated_data["student"])
        call_service(
            services.batch_remove_student,
            batch=batch,
            student=student,
            reason=params.validated_data["reason"],
            by=request.user,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=TotalsSerializer)
    @action(detail=True, methods=["get"])
    def totals(self, request, pk=None):
        batch = self.get_object()
        totals = selectors.payment_totals(Payment.objects.visible_to(request.user).filter(batch=batch))
        return Response(
            TotalsSerializer({"count": totals.count, "amount": totals.amount, "by": totals.by}).data
        )

    @extend_schema(responses=BatchStepSerializer(many=True))
    @action(detail=True, methods=["get"])
    def steps(self, request, pk=None):
        batch = self.get_object()
        steps = BatchEvent.objects.visible_to(request.user).filter(batch=batch).select_related("by")
        return Response(BatchStepSerializer(steps, many=True).data)


class PaymentSerializer(serializers.ModelSerializer):
    student_name = serializers.CharField(source="student.name", read_only=True)
    student_id_masked = serializers.CharField(source="student.masked_id_number", read_only=True)
    school_name = serializers.CharField(source="school.name", read_only=True)
    aid_type_display = serializers.CharField(source="get_aid_type_display", read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "batch",
            "student",
            "student_name",
            "student_id_masked",
            "school",
            "school_name",
            "stage",
            "aid_type",
            "aid_type_display",
            "school_year",
            "term",
            "category",
            "amount",
            "payee",
            "status",
            "reason",
            "flag_reason",
            "paid_on",
            "failure_reason",
        ]


class PaymentViewSet(LoggedRetrieveMixin, viewsets.ReadOnlyModelViewSet):
    logged_record = "student"
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter
    ordering_fields = ["amount", "school_year"]

    def get_queryset(self):
        return (
            Payment.objects.visible_to(self.request.user)
            .select_related("student", "school")
            .order_by("-school_year", "term", "aid_type", "pk")
        )


# --- Bank accounts ------------------------------------------------------------------------------------


class BankAccountSerializer(serializers.ModelSerializer):
    """The number goes in; only the masked number comes out."""

    account_number = serializers.CharField(write_only=True, max_length=32)
    account_masked = serializers.CharField(source="masked_number", read_only=True)

    class Meta:
        model = BankAccount
        fields = [
            "id",
            "student",
            "holder_name",
            "relation",
            "bank_name",
            "account_number",
            "account_masked",
            "is_active",
        ]
        read_only_fields = ["is_active"]
        validators: list = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["student"].queryset = Student.objects.editable_by(request.user)


class BankAccountViewSet(LoggedRetrieveMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    logged_record = "student"
    serializer_class = BankAccountSerializer
    filterset_fields = ["student", "is_active"]

    def get_queryset(self):
        return BankAccount.objects.visible_to(self.request.user).order_by("student_id", "-pk")

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.bank_account_set, by=self.request.user, **serializer.validated_data
        )


# --- Data matching ------------------------------------------------------------------------------------


class MatchResultSerializer(serializers.ModelSerializer):
    id_number_masked = serializers.CharField(source="masked_id_number", read_only=True)

    class Meta:
        model = MatchResult
        fields = [
            "id",
            "kind",
            "student",
            "id_number_masked",
            "name",
            "row_number",
            "aid_type",
            "message",
            "applied",
        ]


class MatchRunSerializer(serializers.ModelSerializer):
    file = serializers.FileField(write_only=True)
    counts = serializers.SerializerMethodField()

    class Meta:
        model = MatchRun
        fields = [
            "id",
            "source",
            "category",
            "school_year",
            "term",
            "file",
            "file_name",
            "list_rows",
            "at",
            "note",
            "counts",
        ]
        read_only_fields = ["file_name", "list_rows", "at", "note"]

    def get_counts(self, obj) -> dict[str, int]:
        kinds = MatchResult.Kind.values
        if all(hasattr(obj, kind) for kind in kinds):  # the list's annotation (MatchRun.objects.with_counts)
            return {kind: getattr(obj, kind) for kind in kinds}
        counts = dict.fromkeys(kinds, 0)
        for kind in obj.results.values_list("kind", flat=True):
            counts[kind] += 1
        return counts


class MatchRunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Upload a list (multipart) and read what it found. Bureau staff only."""

    serializer_class = MatchRunSerializer
    parser_classes = [MultiPartParser, FormParser]
    write_allowed = staticmethod(can_run_data_matching)

    def get_queryset(self):
        # Bureau only, as the pages: the queryset's own scope (MatchRunQuerySet.scope_requires).
        return MatchRun.objects.visible_to(self.request.user).with_counts().order_by("-at", "-pk")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        upload = data.pop("file")
        serializer.instance = call_service(
            matching.match_upload, upload=upload, by=self.request.user, file_name=upload.name, **data
        )

    @extend_schema(responses=MatchResultSerializer(many=True))
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        run = self.get_object()
        results = run.results.all()
        if request.query_params.get("kind"):
            results = results.filter(kind=request.query_params["kind"])
        page = self.paginate_queryset(results)
        return self.get_paginated_response(MatchResultSerializer(page, many=True).data)


# --- Out-of-county ledger and loans -------------------------------------------------------------------


class OutOfCountySerializer(serializers.ModelSerializer):
    id_number = serializers.CharField(write_only=True, max_length=18)
    id_number_masked = serializers.CharField(source="masked_id_number", read_only=True)

    class Meta:
        model = OutOfCountyStudent
        fields = [
            "id",
            "id_number",
            "id_number_masked",
            "name",
            "home_township",
            "destination_county_code",
            "destination_county",
            "destination_school",
            "stage",
            "category",
            "school_year",
            "follow_up",
            "letter_sent_on",
            "note",
        ]
        read_only_fields = ["follow_up", "letter_sent_on"]
        validators: list = []


class OutOfCountyViewSet(LoggedRetrieveMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = OutOfCountySerializer
    filterset_class = OutOfCountyFilter
    write_allowed = staticmethod(can_keep_out_of_county_ledger)

    def get_queryset(self):
        return OutOfCountyStudent.objects.visible_to(self.request.user).order_by(
            "destination_county_code", "name"
        )

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.out_of_county_add, by=self.request.user, **serializer.validated_data
        )


class LoanSerializer(serializers.ModelSerializer):
    id_number = serializers.CharField(write_only=True, max_length=18)
    id_number_masked = serializers.CharField(source="masked_id_number", read_only=True)

    class Meta:
        model = CreditLoan
        fields = [
            "id",
            "id_number",
            "id_number_masked",
            "name",
            "home_township",
            "university",
            "school_year",
            "contract_number",
            "contract_date",
            "level",
            "fees",
            "amount",
            "top_up",
            "poverty_alleviated",
        ]
        # Caps (dated policy rows) and uniqueness: loan_create, with the clerk's messages.
        validators: list = []


class LoanTotalsSerializer(serializers.Serializer):
    school_year = serializers.IntegerField()
    n = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    top_up = serializers.DecimalField(max_digits=14, decimal_places=2)


class LoanViewSet(LoggedRetrieveMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = LoanSerializer
    filterset_class = LoanFilter
    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        return CreditLoan.objects.visible_to(self.request.user).order_by("-school_year", "name", "pk")

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.loan_create, by=self.request.user, **serializer.validated_data
        )

    @extend_schema(responses=LoanTotalsSerializer(many=True))
    @action(detail=False, methods=["get"])
    def totals(self, request):
        return Response(
            LoanTotalsSerializer(
                selectors.loan_totals(self.filter_queryset(self.get_queryset())), many=True
            ).data
        )
