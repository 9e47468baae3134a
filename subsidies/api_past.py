"""REST API of past payments under /api/subsidies/past-payment-imports/: the national aid system's export of
the terms before the county used the portal, previewed row by row, then recorded whole (bureau staff only)."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from portal.access import is_bureau_staff
from portal.api import WRITE_ERRORS, call_service
from portal.audit import log_access
from portal.excel import XLSX_CONTENT_TYPE
from portal.models import AccessLog
from subsidies import past_payments, services
from subsidies.models import DisbursementBatch, PastPaymentImport

FILE_HELP = (
    "The national aid system's export (.xlsx), one payment a row, columns 身份证号, 姓名, 资助项目 (the aid's "
    "Chinese name), 学年 (2022-2023), 学期 (秋季/春季), 金额 (yuan, to the fen), 发放日期."
)


class PastPaymentsFileSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=FILE_HELP)


class PastPaymentTermSerializer(serializers.Serializer):
    school_year = serializers.IntegerField()
    term = serializers.CharField()
    term_label = serializers.CharField()
    aid_type = serializers.CharField()
    aid_type_display = serializers.CharField()
    payments = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class PastPaymentRefusalSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The row's number in the spreadsheet.")
    reason = serializers.CharField()


class PastPaymentsPreviewSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Rows that would be recorded.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Their total, in yuan.")
    terms = PastPaymentTermSerializer(many=True, help_text="Per term and aid: the imported batch's part.")
    refused = PastPaymentRefusalSerializer(
        many=True, help_text="Rows refused, each with its reason; one refused row refuses the file's import."
    )


class PastPaymentImportSerializer(serializers.ModelSerializer):
    imported_by = serializers.CharField(source="imported_by.username", read_only=True, allow_null=True)
    batches = serializers.SerializerMethodField()

    class Meta:
        model = PastPaymentImport
        fields = ["id", "filename", "sha256", "rows", "amount", "imported_by", "imported_at", "batches"]

    def get_batches(self, obj) -> list[int]:
        """The imported batches (/api/subsidies/batches/{id}/) holding the file's payments."""
        return sorted(
            DisbursementBatch.objects.filter(payments__imported_from=obj)
            .distinct()
            .values_list("pk", flat=True)
        )


class PastPaymentImportViewSet(viewsets.ReadOnlyModelViewSet):
    """Files of past payments imported, newest first; `preview/` reads a file and writes nothing, `apply/`
    records it whole (or refuses it, with every refused row, writing nothing)."""

    serializer_class = PastPaymentImportSerializer
    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        # Bureau only, as the page: the queryset's own scope (PastPaymentImportQuerySet.scope_requires).
        return PastPaymentImport.objects.visible_to(self.request.user).select_related("imported_by")

    @extend_schema(
        request=PastPaymentsFileSerializer, responses={200: PastPaymentsPreviewSerializer, **WRITE_ERRORS}
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def preview(self, request):
        """What the file would record, per term and aid, and every row it refuses with the reason."""
        params = PastPaymentsFileSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        check = call_service(past_payments.check, upload=params.validated_data["file"])
        return Response(
            PastPaymentsPreviewSerializer(
                {
                    "accepted": len(check.accepted),
                    "amount": check.amount,
                    "terms": check.terms(),
                    "refused": check.refused,
                }
            ).data
        )

    @extend_schema(
        request=PastPaymentsFileSerializer,
        responses={201: PastPaymentImportSerializer, **WRITE_ERRORS},
        description="Records every payment of the file in its term's imported batch (paid, on the file's date). "
        "A refused row refuses the whole file: 400 with every refused row (`detail`), nothing written.",
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def apply(self, request):
        params = PastPaymentsFileSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        upload = params.validated_data["file"]
        record = call_service(
            services.past_payments_import, upload=upload, filename=upload.name, by=request.user
        )
        return Response(PastPaymentImportSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY},
        description="The file as it was imported (it holds whole ID numbers: logged as an export).",
    )
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        record = self.get_object()
        log_access(request, AccessLog.Action.EXPORT, record, detail=f"past payments file {record.pk}")
        return FileResponse(
            record.file.open("rb"),
            as_attachment=True,
            filename=record.filename or f"{record.pk}.xlsx",
            content_type=XLSX_CONTENT_TYPE,
        )
