"""REST API of the aid area under /api/subsidies/. Querysets are scoped by portal.access; writes go through
subsidies.services, so the API and the pages refuse the same things with the same messages."""

from __future__ import annotations

from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from portal.access import can_keep_out_of_county_ledger, can_run_data_matching, is_bureau_staff
from portal.api import DETAIL_WRITE_ERRORS, ERROR_400, LoggedRetrieveMixin, call_service
from portal.audit import log_access
from portal.excel import XLSX_CONTENT_TYPE, workbook_response
from portal.models import AccessLog
from portal.security import password_confirmed
from students.models import Student
from subsidies import bank, matching, selectors, services
from subsidies.filters import BatchFilter, LoanFilter, OutOfCountyFilter, PaymentFilter, PolicyFilter
from subsidies.models import (
    AidExclusionGroup,
    AidPolicy,
    AidQuota,
    BankAccount,
    BankPayrollLayout,
    BankResultFormat,
    BatchEvent,
    CreditLoan,
    DisbursementBatch,
    MatchResult,
    MatchRun,
    OutOfCountyStudent,
    Payment,
)
from subsidies.models.bank import PAYROLL_FIELDS
from subsidies.models.batches import attach_totals, totals_by_batch

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
        max_digits=14,
        decimal_places=2,
        read_only=True,
        default=Decimal("0.00"),
        help_text="Drawn (held aside).",
    )
    paid_person_times = serializers.IntegerField(read_only=True, default=0)
    paid_amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        read_only=True,
        default=Decimal("0.00"),
        help_text="Paid: by the bank's result, by hand with a reason, or by the transfer to schools.",
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
            "kind",
            "bank_reference",
            "paid_on",
            "person_times",
            "amount",
            "paid_person_times",
            "paid_amount",
            "created_at",
        ]
        read_only_fields = ["eligibility_date", "status", "kind", "bank_reference", "paid_on", "created_at"]
        validators: list = []

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # Batches fresh from a write carry no annotation: count the user's part here.
        if not hasattr(instance, "person_times"):
            request = self.context["request"]
            totals = selectors.payment_totals(Payment.objects.visible_to(request.user).filter(batch=instance))
            data["person_times"], data["amount"] = totals.count, f"{totals.amount:.2f}"
            data["paid_person_times"], data["paid_amount"] = totals.paid_count, f"{totals.paid_amount:.2f}"
        else:
            for key in ("amount", "paid_amount"):
                if data[key] is None:
                    data[key] = "0.00"
        return data


class BatchDetailSerializer(BatchSerializer):
    fingerprint = serializers.SerializerMethodField(
        help_text="What approving approves (each payable payment, its student and amount) as a digest: send "
        "it back as the approval's `expected_fingerprint`."
    )

    class Meta(BatchSerializer.Meta):
        fields = [*BatchSerializer.Meta.fields, "fingerprint"]

    def get_fingerprint(self, instance) -> str:
        return selectors.approval_fingerprint(instance)


class TotalsRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    paid_count = serializers.IntegerField()
    paid_amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class TotalsSerializer(serializers.Serializer):
    """count/amount: drawn (held aside); paid_count/paid_amount: paid."""

    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    paid_count = serializers.IntegerField()
    paid_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    by = serializers.DictField(child=TotalsRowSerializer(many=True))


class ReasonSerializer(serializers.Serializer):
    student = serializers.IntegerField()
    reason = serializers.CharField(max_length=300)


class ApproveSerializer(serializers.Serializer):
    allow_over_quota = serializers.BooleanField(default=False)
    expected_count = serializers.IntegerField(
        min_value=0,
        help_text="The batch's `person_times` the caller checked: refused (400) if the batch no longer has it.",
    )
    expected_amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text="The batch's `amount` the caller checked: refused (400) if the batch no longer has it.",
    )
    expected_fingerprint = serializers.CharField(
        max_length=64,
        required=False,
        help_text="The batch's `fingerprint` (batch detail) the caller checked: refused (400) if a payment was "
        "added, removed or replaced since, even with the same count and amount.",
    )


class PaidSerializer(serializers.Serializer):
    """The transfer to schools and canteens (payments to families are paid by the bank's result file)."""

    bank_reference = serializers.CharField(max_length=60)
    paid_on = serializers.DateField()
    students = serializers.ListField(child=serializers.IntegerField(), required=False)


class LineSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class ReconciliationSerializer(serializers.Serializer):
    """drawn = paid + failed + pending (at the bank) + unsent, to the fen; no_account is part of unsent."""

    drawn = LineSerializer()
    paid = LineSerializer()
    failed = LineSerializer()
    pending = LineSerializer(help_text="In a bank file, the bank's result not yet back.")
    unsent = LineSerializer(help_text="Not yet in a bank file (or transfer to a school).")
    no_account = LineSerializer(
        help_text="Family payments of the unsent without a bank account (待补录账户)."
    )
    balanced = serializers.BooleanField()


class BankFileRequestSerializer(serializers.Serializer):
    password = serializers.CharField(
        help_text="The user's password, asked again: the file carries whole account numbers.",
        style={"input_type": "password"},
    )
    number = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Leave out to make the next file; give a file's number to download it again as it was made.",
    )
    layout = serializers.PrimaryKeyRelatedField(
        queryset=BankPayrollLayout.objects.all(),
        required=False,
        allow_null=True,
        help_text=(
            "The bank's payroll layout (/api/subsidies/bank-payroll-layouts/) for a new file; the default one if "
            "left out. A file downloaded again keeps the layout it was made in."
        ),
    )


class BankResultsRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The bank's result file (.xlsx).")
    paid_on = serializers.DateField(help_text="The day the bank paid.")
    format = serializers.PrimaryKeyRelatedField(
        queryset=BankResultFormat.objects.all(),
        required=False,
        allow_null=True,
        help_text="The bank's result format (/api/subsidies/bank-result-formats/); the default one if left out.",
    )


class BankResultsSerializer(serializers.Serializer):
    paid = serializers.IntegerField()
    failed = serializers.IntegerField()


class LetterLineSerializer(serializers.Serializer):
    payment = serializers.IntegerField(source="pk")
    aid_type = serializers.CharField()
    aid_type_display = serializers.CharField(source="get_aid_type_display")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    payee = serializers.CharField()
    status = serializers.CharField()
    paid_on = serializers.DateField(allow_null=True)


class NotReceivedLineSerializer(LetterLineSerializer):
    waiting_for = serializers.CharField()
    failure_reason = serializers.CharField()


class LetterSerializer(serializers.Serializer):
    """A 告知书: the aid received (paid money only) and, apart, the aid not yet received."""

    student = serializers.IntegerField(source="student.pk")
    student_name = serializers.CharField(source="student.name")
    school_name = serializers.CharField(source="school.name")
    school_year = serializers.IntegerField()
    term = serializers.CharField()
    term_label = serializers.CharField()
    received = LetterLineSerializer(many=True)
    received_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    not_received = NotReceivedLineSerializer(many=True)
    not_received_total = serializers.DecimalField(max_digits=14, decimal_places=2)


class PaymentReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, allow_blank=True)


class PaymentPaidByHandSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, allow_blank=True)
    bank_reference = serializers.CharField(max_length=60, allow_blank=True, default="")
    paid_on = serializers.DateField()


class BatchStepSerializer(serializers.ModelSerializer):
    by = serializers.CharField(source="by.username", default="", read_only=True)

    class Meta:
        model = BatchEvent
        fields = ["action", "from_status", "to_status", "student", "note", "by", "at"]


class BatchViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Batches: generate (POST), review (add/remove a student), approve; the bank file and the bank's results;
    the transfer to schools and canteens (mark-paid); totals, the reconciliation with the bank, the 告知书."""

    serializer_class = BatchSerializer
    filterset_class = BatchFilter

    def get_queryset(self):
        user = self.request.user
        batches = DisbursementBatch.objects.visible_to(user).order_by("-school_year", "term", "aid_type")
        if self.action == "list":
            return batches  # the page's totals are attached in one pass (paginate_queryset)
        return batches.with_totals(user)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            attach_totals(page, totals_by_batch(self.request.user, page))
        return page

    def get_serializer_class(self):
        return BatchDetailSerializer if self.action == "retrieve" else BatchSerializer

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

    @extend_schema(
        request=ApproveSerializer,
        responses={
            200: BatchSerializer,
            **DETAIL_WRITE_ERRORS,
            400: OpenApiResponse(
                ERROR_400.response,
                description="The batch changed since the caller read it (its count or amount is not the "
                "expected one), it is paid, it is empty, or it exceeds the quota.",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """审批通过: approve a draft batch, stating the number of payments and the amount approved (`person_times`
        and `amount` as read from the batch); nothing is approved if the batch no longer has them."""
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
        return Response(TotalsSerializer(totals).data)

    @extend_schema(
        request=BankFileRequestSerializer,
        responses={(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY},
        description=(
            "Makes the batch's next bank payroll file (代发文件) and returns it as .xlsx: the family payments "
            "due (not yet sent) with an account, now marked sent; those without an account are listed on the "
            "sheet 无账户 and not sent. The password is asked again (the file holds whole account numbers); "
            "the export is in the access log."
        ),
    )
    @action(detail=True, methods=["post"], url_path="bank-file")
    def bank_file(self, request, pk=None):
        batch = self.get_object()
        params = BankFileRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        if not password_confirmed(request._request, params.validated_data["password"]):
            raise ValidationError({"password": [_("The password is wrong.")]})
        number = params.validated_data.get("number")
        if number is None:
            workbook = call_service(
                bank.payroll_workbook,
                batch=batch,
                by=request.user,
                layout=params.validated_data.get("layout"),
            )
        else:
            workbook = call_service(bank.bank_file_workbook, batch=batch, number=number)
        detail = f"bank payroll file, batch {batch.pk}" + (f", file {number} again" if number else "")
        log_access(request, AccessLog.Action.EXPORT, batch, detail=detail)
        made = number or batch.bank_files.order_by("-number").values_list("number", flat=True).first()
        return workbook_response(workbook, selectors.bank_file_name(batch, made))

    @extend_schema(
        request={"multipart/form-data": BankResultsRequestSerializer},
        responses=BankResultsSerializer,
        description=(
            "Imports the bank's result file (回盘): each row's reference names one line of one bank file "
            "(P00000123-2: payment 123 in bank file 2, as written in the payroll file), its status must be one "
            "of the format's values for paid or failed (surrounding spaces ignored) and its amount exactly the "
            "amount sent. Any refused row (unknown value, a line that already has a result or an older file's "
            "line, a blank or different amount, a reference twice) refuses the whole file: 400 with every "
            "refused row and its Excel row number. A column missing or given twice refuses the file. "
            "`paid_on` may be neither in the future nor before the batch's term starts."
        ),
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="bank-results",
        parser_classes=[MultiPartParser, FormParser],
    )
    def bank_results(self, request, pk=None):
        batch = self.get_object()
        params = BankResultsRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        report = call_service(
            bank.result_import,
            batch=batch,
            upload=data["file"],
            paid_on=data["paid_on"],
            result_format=data.get("format"),
            by=request.user,
        )
        return Response(BankResultsSerializer(report).data)

    @extend_schema(responses=ReconciliationSerializer)
    @action(detail=True, methods=["get"])
    def reconciliation(self, request, pk=None):
        """drawn = paid + failed + pending (at the bank) + unsent, to the fen, over the user's part."""
        batch = self.get_object()
        payments = Payment.objects.visible_to(request.user).filter(batch=batch)
        return Response(ReconciliationSerializer(selectors.reconciliation(payments)).data)

    @extend_schema(responses=LetterSerializer(many=True))
    @action(detail=True, methods=["get"])
    def letters(self, request, pk=None):
        """The 告知书 of the batch's students for its term: received (paid money only) and not yet received."""
        batch = self.get_object()
        letters = selectors.batch_letters(batch, Payment.objects.visible_to(request.user))
        return Response(LetterSerializer(letters, many=True).data)

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
    """Payments (read), and per payment: re-pay a failed one (next bank file), withdraw a failed or unsent one,
    release a held one, mark one paid by hand, its 告知书. Writes are bureau staff's."""

    logged_record = "student"
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter
    ordering_fields = ["amount", "school_year"]

    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        return (
            Payment.objects.visible_to(self.request.user)
            .select_related("student", "school")
            .order_by("-school_year", "term", "aid_type", "pk")
        )

    def _done(self, payment):
        return Response(
            self.get_serializer(Payment.objects.select_related("student", "school").get(pk=payment.pk)).data
        )

    @extend_schema(request=PaymentReasonSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def repay(self, request, pk=None):
        """A failed payment goes in the batch's next bank file (status back to pending), with the reason
        (required); paid only when that file's result says so."""
        payment = self.get_object()
        params = PaymentReasonSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        call_service(
            services.payment_repay, payment=payment, reason=params.validated_data["reason"], by=request.user
        )
        return self._done(payment)

    @extend_schema(request=PaymentReasonSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """A held payment checked by hand and found right after all (the reason is required)."""
        payment = self.get_object()
        params = PaymentReasonSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        call_service(
            services.payment_release, payment=payment, reason=params.validated_data["reason"], by=request.user
        )
        return self._done(payment)

    @extend_schema(request=PaymentReasonSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """A failed or unsent payment the family will not receive this term: held, no longer drawn, with the
        reason (required); `release` puts it back."""
        payment = self.get_object()
        params = PaymentReasonSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        call_service(
            services.payment_withdraw,
            payment=payment,
            reason=params.validated_data["reason"],
            by=request.user,
        )
        return self._done(payment)

    @extend_schema(request=PaymentPaidByHandSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"], url_path="mark-paid")
    def mark_paid(self, request, pk=None):
        """One failed payment (the bank has answered) marked paid by hand, with the reason, the bank's
        reference and the date (not in the future, not before the term starts); logged as a batch step and in
        the change history. A payment still at the bank (sent) is refused: it waits for the bank's result."""
        payment = self.get_object()
        params = PaymentPaidByHandSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        call_service(services.payment_mark_paid, payment=payment, by=request.user, **params.validated_data)
        return self._done(payment)

    @extend_schema(responses=LetterSerializer)
    @action(detail=True, methods=["get"])
    def letter(self, request, pk=None):
        """The 告知书 of the payment's student for its term."""
        payment = self.get_object()
        log_access(
            request,
            AccessLog.Action.VIEW_RECORD,
            payment.student,
            detail=f"aid letter {payment.school_year} {payment.term}",
        )
        letters = selectors.student_letters(
            payment.student, payment.school_year, payment.term, Payment.objects.visible_to(request.user)
        )
        return Response(LetterSerializer(letters[0]).data)


# --- Bank result formats ------------------------------------------------------------------------------


class BankResultFormatSerializer(serializers.ModelSerializer):
    class Meta:
        model = BankResultFormat
        fields = ["id", *bank.FORMAT_FIELDS]
        # bank.result_format_create/update check the values (none both paid and failed), with the clerk's
        # messages; the default moves to the new default.
        validators: list = []


class BankResultFormatViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """How each bank writes its result file: the column titles and the exact status values (or the bank's
    codes) that mean paid and failed. Every signed-in user reads them; bureau staff keep them."""

    serializer_class = BankResultFormatSerializer
    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        if self.action in ("update", "partial_update"):
            return BankResultFormat.objects.editable_by(self.request.user)
        return BankResultFormat.objects.visible_to(self.request.user)

    def perform_create(self, serializer):
        serializer.instance = call_service(
            bank.result_format_create, by=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = call_service(
            bank.result_format_update,
            result_format=serializer.instance,
            by=self.request.user,
            **serializer.validated_data,
        )


# --- Bank payroll layouts -----------------------------------------------------------------------------


class BankPayrollLayoutSerializer(serializers.ModelSerializer):
    columns = serializers.ListField(
        child=serializers.ListField(
            child=serializers.CharField(allow_blank=True), min_length=2, max_length=2
        ),
        help_text=(
            "The file's columns in order, each [what it holds, its title]. What a column may hold: "
            + ", ".join(PAYROLL_FIELDS)
            + ". holder_name, holder_id_number, account_number, amount and reference are required."
        ),
    )

    class Meta:
        model = BankPayrollLayout
        fields = ["id", *bank.LAYOUT_FIELDS]
        # bank.payroll_layout_create/update check the columns, with the clerk's messages.
        validators: list = []


class BankPayrollLayoutViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """How each bank wants its 代发 payroll file: its columns in order with their titles (the holder's ID
    number among them), and its card format (bank card or the 惠民惠农财政补贴 一卡通). One layout per bank.
    Every signed-in user reads them; bureau staff keep them."""

    serializer_class = BankPayrollLayoutSerializer
    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        if self.action in ("update", "partial_update"):
            return BankPayrollLayout.objects.editable_by(self.request.user)
        return BankPayrollLayout.objects.visible_to(self.request.user)

    def perform_create(self, serializer):
        serializer.instance = call_service(
            bank.payroll_layout_create, by=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = call_service(
            bank.payroll_layout_update,
            layout=serializer.instance,
            by=self.request.user,
            **serializer.validated_data,
        )


# --- Bank accounts ------------------------------------------------------------------------------------


class BankAccountSerializer(serializers.ModelSerializer):
    """The number goes in; only the masked number comes out."""

    account_number = serializers.CharField(write_only=True, max_length=32)
    account_masked = serializers.CharField(source="masked_number", read_only=True)
    holder_id_number = serializers.CharField(write_only=True, max_length=18, required=False, allow_blank=True)

    class Meta:
        model = BankAccount
        fields = [
            "id",
            "student",
            "holder_name",
            "relation",
            "holder_id_number",
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


class MatchApplySerializer(serializers.Serializer):
    results = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    valid_from = serializers.DateField(help_text="The category is valid from this day.")


class MatchApplyResultSerializer(serializers.Serializer):
    added = serializers.IntegerField()


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

    @extend_schema(
        responses={(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY},
        description="The run's results as the .xlsx the page downloads (ID numbers masked); logged as an export.",
    )
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        run = self.get_object()
        log_access(request, AccessLog.Action.EXPORT, run, detail=f"data matching results, run {run.pk}")
        return workbook_response(matching.match_workbook(run), f"数据比对_{run.pk}.xlsx")

    @extend_schema(request=MatchApplySerializer, responses=MatchApplyResultSerializer)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser, MultiPartParser])
    def apply(self, request, pk=None):
        """The reviewed step: give the run's category, from `valid_from`, to the chosen students on the list
        who are not aided (`results`: ids of results of kind "unaided")."""
        run = self.get_object()
        params = MatchApplySerializer(data=request.data)
        params.is_valid(raise_exception=True)
        added = call_service(
            matching.match_apply,
            run=run,
            result_ids=params.validated_data["results"],
            valid_from=params.validated_data["valid_from"],
            by=request.user,
        )
        return Response(MatchApplyResultSerializer({"added": added}).data)


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


class LetterQuerySerializer(serializers.Serializer):
    destination_county_code = serializers.CharField(max_length=6)
    school_year = serializers.IntegerField()


class OutOfCountyLetterLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OutOfCountyStudent
        fields = ["id", "name", "id_number", "destination_school", "stage", "category", "follow_up"]


class OutOfCountyLetterSerializer(serializers.Serializer):
    destination_county_code = serializers.CharField()
    destination_county = serializers.CharField()
    school_year = serializers.IntegerField()
    lines = OutOfCountyLetterLineSerializer(many=True)


class LettersSentSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


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

    def _letter_lines(self, code: str, school_year: int):
        if not is_bureau_staff(self.request.user):
            raise PermissionDenied(_("Only bureau staff may do this."))
        lines = OutOfCountyStudent.objects.visible_to(self.request.user).filter(
            destination_county_code=code, school_year=school_year
        )
        if not lines.exists():
            raise NotFound()
        return lines

    @extend_schema(parameters=[LetterQuerySerializer], responses=OutOfCountyLetterSerializer)
    @action(detail=False, methods=["get"])
    def letter(self, request):
        """发函: the letter to one destination county for a school year, naming each child by the whole ID
        number (the other county needs it); logged as a reveal. Bureau staff only."""
        params = LetterQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        code, year = params.validated_data["destination_county_code"], params.validated_data["school_year"]
        lines = self._letter_lines(code, year).order_by("name")
        log_access(request, AccessLog.Action.REVEAL_ID, detail=f"out-of-county letter {code} {year}")
        first = lines.first()
        return Response(
            OutOfCountyLetterSerializer(
                {
                    "destination_county_code": code,
                    "destination_county": first.destination_county,
                    "school_year": year,
                    "lines": lines,
                }
            ).data
        )

    @extend_schema(request=LetterQuerySerializer, responses=LettersSentSerializer)
    @action(detail=False, methods=["post"], url_path="letter-sent")
    def letter_sent(self, request):
        """The letter to a county went out: its lines not yet sent are marked sent today."""
        params = LetterQuerySerializer(data=request.data)
        params.is_valid(raise_exception=True)
        code, year = params.validated_data["destination_county_code"], params.validated_data["school_year"]
        self._letter_lines(code, year)
        marked = call_service(
            services.out_of_county_letters_sent,
            destination_county_code=code,
            school_year=year,
            on=timezone.localdate(),
            by=request.user,
        )
        return Response(LettersSentSerializer({"marked": marked}).data)


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
